"""The rule engine: declarative TOML rules that explain failures and suggest fixes.

Public interface (see docs/architecture.md): ``RuleSet.load(dirs)``,
``RuleSet.diagnose(failure, ctx)``, ``bundled_rules_dir()``, ``lint(dirs)``,
``run_cases(dirs)`` and ``CaseReport``.
"""

from __future__ import annotations

from diagnostics.rules.cases import CaseReport, CaseResult, lint, run_cases
from diagnostics.rules.engine import Rule, RuleSet, bundled_rules_dir

__all__ = ["RuleSet", "Rule", "bundled_rules_dir", "lint", "run_cases", "CaseReport", "CaseResult"]
