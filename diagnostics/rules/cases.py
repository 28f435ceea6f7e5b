"""Run the cases that travel with each rule, and lint rule dirs."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from diagnostics.request.context import build_context, parse_decoded
from diagnostics.model import Failure, Finding, Fix, JSONObject, SourceRef
from diagnostics.rules import troubleshooter_rules
from diagnostics.rules.engine import Rule, RuleSet, bundled_rules_dir
from diagnostics.rules.loader import load_dirs
from diagnostics.rules.schema import Problem


@dataclass(frozen=True, slots=True)
class CaseResult:
    rule_id: str
    case: str
    ok: bool
    message: str = ""


@dataclass(slots=True)
class CaseReport:
    """The outcome of every case of every rule; ``ok`` when all passed."""

    results: list[CaseResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.ok]

    def by_rule(self) -> dict[str, list[CaseResult]]:
        out: dict[str, list[CaseResult]] = {}
        for r in self.results:
            out.setdefault(r.rule_id, []).append(r)
        return out


def case_input(rule: Rule, index: int, case: dict[str, Any]) -> tuple[Failure, JSONObject | None]:
    """The failure and decoded message a case describes (a log line goes through extract).

    The failure is enriched and its action inferred from the operation exactly
    as the scan pipeline does, so a case sees what a user's scan would see.
    """
    from diagnostics.request.context import enrich
    from diagnostics.request.infer import infer_action

    source = SourceRef(f"{rule.path}#case{index}", 1, 0)
    decoded: JSONObject | None = None
    if "decoded" in case:
        raw = case["decoded"]
        decoded = parse_decoded(raw if isinstance(raw, str) else orjson.dumps(raw))
    if "line" in case:
        import importlib

        # Looked up at run time: the extractor lands separately from the rules.
        extract = importlib.import_module("diagnostics.extract")
        found = extract.extract_text(case["line"], path=source.path)
        if not found:
            raise ValueError("the extractor found no failure in this line")
        failure: Failure = found[0]
        decoded = decoded if decoded is not None else failure.decoded
    else:
        fields = dict(case["failure"])
        kind = fields.pop("kind", "decoded" if decoded is not None else "plain")
        if "conditions" in fields:
            # TOML writes them as a table: { "aws:SourceIp" = "1.2.3.4" } or a list of values.
            table = fields["conditions"]
            fields["conditions"] = tuple(
                (str(k), tuple(map(str, v)) if isinstance(v, list) else (str(v),))
                for k, v in table.items()
            )
        failure = Failure(kind=kind, source=source, decoded=decoded, **fields)
    return infer_action(enrich(failure, decoded)), decoded


def extractor_available() -> bool:
    """True when ``diagnostics.extract`` imports, so ``line`` cases can run."""
    import importlib

    try:
        importlib.import_module("diagnostics.extract")
    except ImportError:
        return False
    return True


def diagnose_case(
    ruleset: RuleSet, rule: Rule, index: int, case: dict[str, Any]
) -> tuple[Failure, tuple[Finding, ...]]:
    """The failure and the findings a scan gives it (with ``details``, the Troubleshooter's)."""
    failure, decoded = case_input(rule, index, case)
    ctx = build_context(failure, decoded)
    if "details" in case:
        raw = troubleshooter_rules.parse_case_details(case["details"])
        return troubleshooter_rules.diagnose_details_case(ruleset, failure, ctx, raw, decoded)
    return failure, ruleset.diagnose(failure, ctx)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _fix_matches(fix: Fix, want: dict[str, Any]) -> bool:
    if "target" in want and fix.target != want["target"]:
        return False
    if "applies_to" in want and fix.applies_to != want["applies_to"]:
        return False
    actions = {a.lower() for st in fix.statements for a in _as_list(st.get("Action"))}
    resources = {r for st in fix.statements for r in _as_list(st.get("Resource"))}
    keys = {
        k for st in fix.statements for block in (st.get("Condition") or {}).values() for k in block
    }
    return (
        {a.lower() for a in want.get("actions", [])} <= actions
        and set(want.get("resources", [])) <= resources
        and set(want.get("condition_keys", [])) <= keys
    )


def check_case(ruleset: RuleSet, rule: Rule, index: int, case: dict[str, Any]) -> CaseResult:
    name = case.get("name", f"case {index}")
    if "line" in case and not extractor_available():
        return CaseResult(rule.id, name, True, "skipped: diagnostics.extract is not installed")
    try:
        _, findings = diagnose_case(ruleset, rule, index, case)
    except Exception as exc:
        return CaseResult(rule.id, name, False, f"could not build the input: {exc}")
    # The Troubleshooter gives one finding per denied evaluation: a rule may have several.
    all_mine = [f for f in findings if f.rule == rule.id]
    mine = all_mine[0] if all_mine else None
    if mine is not None and mine.title.startswith(f"rule {rule.id} failed"):
        return CaseResult(rule.id, name, False, mine.explanation)
    fired = sorted(f.rule for f in findings)
    if case["expect"] and mine is None:
        return CaseResult(rule.id, name, False, f"expected the rule to fire; fired: {fired}")
    if not case["expect"] and mine is not None:
        return CaseResult(rule.id, name, False, "expected the rule not to fire, but it did")
    if "findings" in case and set(case["findings"]) != set(fired):
        return CaseResult(
            rule.id, name, False, f"expected findings {case['findings']}, got {fired}"
        )
    if "details" in case:
        problem = _details_problem(rule, index, case, all_mine)
        if problem:
            return CaseResult(rule.id, name, False, problem)
    fixes = [fix for f in all_mine for fix in f.fixes]
    if mine is not None and "fix" in case and not any(_fix_matches(f, case["fix"]) for f in fixes):
        got = [f.to_json() for f in fixes]
        return CaseResult(rule.id, name, False, f"no fix has {case['fix']}; fixes: {got}")
    explanation = "\n".join(f.explanation for f in all_mine)
    if mine is not None:
        for text in case.get("explanation", []):
            if text not in explanation:
                return CaseResult(
                    rule.id, name, False, f"explanation lacks {text!r}: {explanation}"
                )
    return CaseResult(rule.id, name, True)


def _details_problem(
    rule: Rule, index: int, case: dict[str, Any], mine: list[Finding]
) -> str | None:
    """Where a Troubleshooter rule's declaration disagrees with the finding it was given."""
    failure, decoded = case_input(rule, index, case)
    raw = troubleshooter_rules.parse_case_details(case["details"])
    ctx = build_context(failure, decoded)
    problem = troubleshooter_rules.disagreement(rule, failure, ctx, raw, bool(mine))
    if problem:
        return problem
    bad = sorted({f.severity for f in mine if f.severity != rule.severity})
    if bad:
        return f"the finding has severity {bad[0]}, the rule declares {rule.severity}"
    return None


def run_cases(dirs: Sequence[Path]) -> CaseReport:
    """Run every case of every effective rule against the whole rule set."""
    ruleset = RuleSet.load(dirs)
    report = CaseReport()
    for rule in ruleset.rules:
        for i, case in enumerate(rule.cases):
            report.results.append(check_case(ruleset, rule, i, case))
    return report


@functools.cache
def _bundled_ids() -> frozenset[str]:
    # The bundled rules ship with the package and never change in a process;
    # reading all of them took ~50 ms per lint call (the fuzz test makes hundreds).
    return frozenset(load_dirs([bundled_rules_dir()]).docs)


def lint(dirs: Sequence[Path]) -> list[str]:
    """Every problem in the rule dirs, one line each; empty when clean."""
    loaded = load_dirs(dirs)
    problems: list[Problem] = [*loaded.problems, *loaded.unknown_disables]
    # User dirs always run layered over the bundled rules, so `lint --only DIR`
    # may supersede a bundled id without that being a typo.
    ids = set(loaded.docs) | loaded.disabled | _bundled_ids()
    problems.extend(troubleshooter_rules.disable_problems(loaded.disabled_by))
    for rd in loaded.docs.values():
        problems.extend(troubleshooter_rules.lint_problems(rd))
        cases = rd.doc.get("case", [])
        expects = {c.get("expect") for c in cases if isinstance(c, dict)}
        if True not in expects:
            problems.append(
                Problem(
                    str(rd.path),
                    rd.id,
                    "case",
                    "no positive case",
                    "add a [[case]] with expect = true",
                )
            )
        if False not in expects:
            problems.append(
                Problem(
                    str(rd.path),
                    rd.id,
                    "case",
                    "no negative case",
                    "add a [[case]] with expect = false",
                )
            )
        for other in rd.doc.get("supersedes", []):
            if other not in ids:
                problems.append(
                    Problem(
                        str(rd.path),
                        rd.id,
                        "supersedes",
                        f"no rule has id {other!r}",
                        "check for a typo",
                    )
                )
    return [str(p) for p in problems]
