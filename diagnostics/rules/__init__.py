"""The rule engine: declarative TOML rules that explain failures and suggest fixes.

Public interface (see docs/architecture.md): ``RuleSet.load(dirs)``,
``RuleSet.diagnose(failure, ctx)``, ``bundled_rules_dir()``, ``load_with_bundled(extra)``, ``lint(dirs)``,
``run_cases(dirs)`` and ``CaseReport``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from diagnostics.support.lazy import lazy_exports
from diagnostics.rules.engine import Rule, RuleSet, bundled_rules_dir, load_with_bundled

if TYPE_CHECKING:
    from diagnostics.rules.cases import CaseReport, CaseResult, lint, run_cases

__all__ = [
    "RuleSet",
    "Rule",
    "bundled_rules_dir",
    "load_with_bundled", "lint", "run_cases", "CaseReport", "CaseResult"]

# The case runner (``rules test``) is imported when first asked for: a scan never needs it.
__getattr__ = lazy_exports(
    __name__,
    {"CaseReport": "cases", "CaseResult": "cases", "lint": "cases", "run_cases": "cases"},
)
