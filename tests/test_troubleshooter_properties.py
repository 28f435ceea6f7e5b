"""Invariants of diagnosis and re-check over generated Access Troubleshooter answers."""

from __future__ import annotations

from typing import Any

import toolbox_shapes as shapes
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.model import FIX_TARGETS, Failure, SourceRef, Verification
from diagnostics.troubleshooter import diagnose_details, parse_details
from diagnostics.troubleshooter.layers import verify_details

CHECK_TYPES = [
    ("SERVICE_CONTROL_POLICY", shapes.ROOT),
    ("SERVICE_CONTROL_POLICY", shapes.OU),
    ("RESOURCE_CONTROL_POLICY", shapes.ROOT),
    ("VPC_ENDPOINT", None),
    ("RESOURCE", None),
    ("PRINCIPAL", shapes.ROLE),
    ("PERMISSIONS_BOUNDARY", shapes.ROLE),
    ("SESSION", None),
]
ACTIONS = [
    ("iam:PassRole", "arn:aws:iam::111122223333:role/app"),
    ("iam:PassRole", "*"),
    ("ec2:CreateTags", "arn:aws:ec2:eu-west-1:111122223333:instance/*"),
    ("s3:GetObject", "arn:aws:s3:::ci-artifacts/k"),
]
EFFECTS = ["ALLOW", "NO_IMPACT", "IMPLICIT_DENY", "EXPLICIT_DENY"]

_check = st.tuples(st.sampled_from(CHECK_TYPES), st.sampled_from(EFFECTS)).map(
    lambda t: shapes.check(t[0][0], t[1], t[0][1])
)


def _label(entry: Verification) -> str:
    """An entry's evaluation as the JSON prints it."""
    assert entry.evaluation is not None
    return entry.evaluation.label()


def _evaluation(action: tuple[str, str], checks: list[dict[str, Any]]) -> dict[str, Any]:
    effects = {c["evaluatedEffect"] for c in checks}
    effect = next((e for e in ("EXPLICIT_DENY", "IMPLICIT_DENY") if e in effects), "ALLOW")
    context = {"iam:PassedToService": "ec2.amazonaws.com"} if action[0] == "iam:PassRole" else {}
    return shapes.evaluation(action[0], action[1], effect, checks, context)


_answer = st.lists(
    st.builds(_evaluation, st.sampled_from(ACTIONS), st.lists(_check, min_size=1, max_size=5)),
    min_size=1,
    max_size=3,
).map(lambda evs: shapes.answer(evs, []))


@settings(max_examples=120, deadline=None)
@given(_answer)
def test_fixes_respect_the_rules_and_every_denial_is_rechecked(raw: dict[str, Any]) -> None:
    """No fix for an explicit deny, no wildcard PassRole, and every fix proved once all apply."""
    details = parse_details(raw)
    failure = Failure(kind="plain", source=SourceRef("x"), principal_arn=shapes.SESSION)
    findings = diagnose_details(failure, details)
    denied = [e for e in details.evaluations if e.denied]
    assert len(findings) == len(denied)
    for evaluation, finding in zip(denied, findings, strict=True):
        if evaluation.effect == "EXPLICIT_DENY":
            assert finding.fixes == ()
        for fix in finding.fixes:
            assert fix.target in FIX_TARGETS
            assert fix.applies_to != shapes.SESSION  # the role, never the session
            for statement in fix.statements:
                if statement.get("Action") == "iam:PassRole":
                    assert "*" not in statement["Resource"]
    entries = verify_details(details, findings, shapes.SESSION)
    labelled = {_label(e) for e in entries}
    assert labelled == {e.label() for e in denied}
    explicit = {e.label() for e in denied if e.effect == "EXPLICIT_DENY"}
    for entry in entries:
        # Fixes cover every implicitly denying layer, so together they always allow.
        assert entry.status in {"allows", "allows_with_other_fixes", "still_denied"}
        if entry.status == "still_denied":
            # Only an explicit deny, or a denial no fix was offered for, stays denied.
            assert _label(entry) in explicit or entry.applies_to is None, entry
