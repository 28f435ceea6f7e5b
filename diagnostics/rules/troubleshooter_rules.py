"""Access Troubleshooter findings as rules: their matcher, lint checks and case runs.

The Troubleshooter's findings are built in ``troubleshooter/diagnose.py``:
it quotes the denying statement, re-checks its conditions and writes one
statement per layer, which is computing, not a pattern.  Which finding a
denied evaluation gets is a pattern, so each finding is declared by a rule
file (``rules/troubleshooter/``) whose ``[match]`` is the ``troubleshooter``
matcher, with cases that carry the answer (``details``).  ``rules test``
runs those cases through the same call the scan makes (``judge_details``),
and checks that the rule's match and severity agree with what it gave.
The matcher itself is registered with the others in ``matchers.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from diagnostics.model import Failure, Finding
from diagnostics.rules.matchers import TROUBLESHOOTER as MATCHER
from diagnostics.rules.schema import Problem
from diagnostics.rules.subject import Subject
from diagnostics.troubleshooter.findings import KINDS

if TYPE_CHECKING:
    from diagnostics.model import JSONObject, RequestContext
    from diagnostics.rules.engine import Rule, RuleSet
    from diagnostics.rules.loader import RuleDoc


def _uses_matcher(table: Any) -> bool:
    if not isinstance(table, Mapping):
        return False
    return MATCHER in table or any(_uses_matcher(t) for t in table.get("any", ()))


def lint_problems(rd: RuleDoc) -> Iterator[Problem]:
    """What is wrong with one rule file as a Troubleshooter finding's declaration."""
    doc, path = rd.doc, str(rd.path)
    kind = KINDS.get(rd.id)
    uses = _uses_matcher(doc.get("match")) or _uses_matcher(doc.get("unless"))
    if kind is None:
        if uses:
            yield Problem(
                path,
                rd.id,
                f"match.{MATCHER}",
                "no Access Troubleshooter finding has this id",
                "the Troubleshooter's findings are built by authz-diag; declare one of "
                f"{', '.join(KINDS)}, or match the failure without the {MATCHER} matcher",
            )
        return
    match = doc.get("match")
    said = match.get(MATCHER, ()) if isinstance(match, dict) else ()
    verdicts = [said] if isinstance(said, str) else list(said)
    if list(match or ()) != [MATCHER] or verdicts != [kind.verdict] or "unless" in doc:
        yield Problem(
            path,
            rd.id,
            "match",
            f"is {match!r}, but {rd.id} is the Troubleshooter's {kind.verdict} finding",
            f'write [match] {MATCHER} = "{kind.verdict}" and no [unless]',
        )
    if doc.get("severity") != kind.severity:
        yield Problem(
            path,
            rd.id,
            "severity",
            f"is {doc.get('severity')!r}, but the Troubleshooter gives it {kind.severity!r}",
            f'write severity = "{kind.severity}"',
        )
    if doc.get("fix"):
        yield Problem(
            path,
            rd.id,
            "fix",
            "the Troubleshooter writes this finding's fixes per layer from the answer",
            "drop the [[fix]] tables",
        )
    for i, case in enumerate(doc.get("case", [])):
        if isinstance(case, dict) and "details" not in case:
            yield Problem(
                path,
                rd.id,
                f"case[{i}]",
                "has no details",
                "give the Access Troubleshooter answer: details = '''{...JSON...}'''",
            )


def disable_problems(disabled_by: Mapping[str, Path]) -> Iterator[Problem]:
    """Disabling a Troubleshooter finding would change nothing: the daemon always gives it."""
    for rule_id in sorted(set(disabled_by) & set(KINDS)):
        yield Problem(
            str(disabled_by[rule_id]),
            rule_id,
            "disable",
            "an Access Troubleshooter finding cannot be switched off",
            "remove it from the disable list",
        )


def parse_case_details(raw: Any) -> dict[str, Any]:
    """The answer a case gives, as a table or a JSON string."""
    value = orjson.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(value, dict):
        raise ValueError("details must be a JSON object: the GetRequestAuthorizationDetails answer")
    return value


def diagnose_details_case(
    ruleset: RuleSet,
    failure: Failure,
    ctx: RequestContext,
    raw: Mapping[str, Any],
    decoded: JSONObject | None,
) -> tuple[Failure, tuple[Finding, ...]]:
    """The findings the scan gives a failure with this answer.

    As the pipeline does, the rules' own reading is added when no check
    named the layer (every finding unattributed).
    """
    from diagnostics.request.context import build_context
    from diagnostics.troubleshooter.findings import UNATTRIBUTED
    from diagnostics.troubleshooter.verdict import judge_details

    verdict = judge_details(failure, raw, ctx, decoded=decoded is not None)
    if verdict is None:
        raise ValueError("details is no Access Troubleshooter answer (no evaluations)")
    filled, findings, _ = verdict
    if all(f.rule == UNATTRIBUTED.rule for f in findings):
        findings += ruleset.diagnose(filled, build_context(filled, decoded))
    return filled, findings


def disagreement(
    rule: Rule, failure: Failure, ctx: RequestContext, raw: Mapping[str, Any], fired: bool
) -> str | None:
    """Why the rule's declaration and the Troubleshooter's findings disagree, if they do."""
    from diagnostics.troubleshooter.details import parse_details

    details = parse_details(raw, authorization_id=failure.authorization_id)
    holds = rule.matches(Subject(failure, ctx, details=details))
    if holds != fired:
        said = "holds" if holds else "does not hold"
        gave = "gave" if fired else "did not give"
        return f"the rule's [match] {said}, but the Troubleshooter {gave} {rule.id}"
    return None
