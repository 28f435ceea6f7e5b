"""Every check of every evaluation re-run with the fixes added (SCP/RCP chains, endpoint, resource,
identity, boundary, session), recorded per evaluation in verification."""

from __future__ import annotations

from typing import Any

import pytest
import toolbox_shapes as shapes

from diagnostics.model import Evaluated, Failure, Finding, Fix, SourceRef, Verification
from diagnostics.troubleshooter import diagnose_details, judge_details, parse_details
from diagnostics.troubleshooter.layers import evaluation_context, verify_details

FAILURE = Failure(kind="plain", source=SourceRef("app.log"), principal_arn=shapes.SESSION)
OBJECT = f"{shapes.BUCKET}/build.zip"


def _label(entry: Verification) -> str:
    """An entry's evaluation as the JSON prints it."""
    assert entry.evaluation is not None
    return entry.evaluation.label()


def _verify(
    raw: dict[str, Any], findings: tuple[Finding, ...] | None = None
) -> list[dict[str, Any]]:
    details = parse_details(raw)
    if findings is None:
        findings = diagnose_details(FAILURE, details)
    return list(verify_details(details, findings, shapes.SESSION))


def _single(check: dict[str, Any], *more: dict[str, Any]) -> dict[str, Any]:
    ev = shapes.evaluation(
        "s3:GetObject", OBJECT, "IMPLICIT_DENY", [shapes.scp_allow(), check, *more]
    )
    raw = shapes.answer([ev], [])
    raw["requestContext"]["aws:SourceVpce"] = "vpce-0a1b2c3d"
    return raw


@pytest.mark.parametrize(
    "check",
    [
        shapes.check("PRINCIPAL", "IMPLICIT_DENY", shapes.ROLE),
        shapes.check("PERMISSIONS_BOUNDARY", "IMPLICIT_DENY", shapes.ROLE),
        shapes.check("SESSION", "IMPLICIT_DENY"),
        shapes.check("RESOURCE", "IMPLICIT_DENY", OBJECT),
        shapes.check("VPC_ENDPOINT", "IMPLICIT_DENY"),
        shapes.check("SERVICE_CONTROL_POLICY", "IMPLICIT_DENY", shapes.OU),
        shapes.check("RESOURCE_CONTROL_POLICY", "IMPLICIT_DENY", shapes.ROOT),
    ],
    ids=lambda c: c["checkType"],
)
def test_the_fix_for_each_layer_is_proved_to_allow(check: dict[str, Any]) -> None:
    """Each layer's own fix, added to that layer, turns the evaluation into an allow."""
    (entry,) = _verify(_single(check))
    assert entry.status == "allows", entry
    assert _label(entry) == f"s3:GetObject on {OBJECT}"
    assert entry.checker == "evaluator"


def test_run_instances_is_fixed_in_one_go_per_evaluation() -> None:
    """PassRole and CreateTags each get their own allow entry, checked with their own context."""
    entries = _verify(shapes.run_instances())
    assert [(_label(e).split(" ")[0], e.status) for e in entries] == [
        ("iam:PassRole", "allows"),
        ("ec2:CreateTags", "allows"),
    ]


def test_a_fix_with_the_wrong_context_does_not_prove() -> None:
    """The evaluation's iam:PassedToService is on top of the request: a Lambda-only grant fails."""
    raw = shapes.run_instances()
    statement = {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": "arn:aws:iam::111122223333:role/app-instance",
        "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
    }
    finding = Finding("user", "t", "low", "e", (Fix("identity", shapes.ROLE, (statement,)),))
    entries = [e for e in _verify(raw, (finding,)) if _label(e).startswith("iam:PassRole")]
    assert entries[0].status == "still_denied"
    assert "identity-based policies" in entries[0].message


def test_identity_fix_blocked_by_the_boundary_is_reported() -> None:
    """An identity fix alone is reported as still blocked by the permissions boundary."""
    raw = shapes.run_instances([shapes.check("PERMISSIONS_BOUNDARY", "IMPLICIT_DENY", shapes.ROLE)])
    findings = diagnose_details(FAILURE, parse_details(raw))
    identity_only = tuple(
        Finding(
            f.rule,
            f.title,
            f.severity,
            f.explanation,
            tuple(x for x in f.fixes if x.target == "identity"),
        )
        for f in findings
    )
    blocked = _verify(raw, identity_only)
    assert {e.status for e in blocked} == {"still_denied"}
    assert "not allowed by the permissions boundary" in blocked[0].message
    together = _verify(raw)
    by_target = {(e.target, _label(e).split(" ")[0]): e for e in together}
    identity = by_target[("identity", "iam:PassRole")]
    assert identity.status == "allows_with_other_fixes"
    assert "alone it is still blocked: not allowed by the permissions boundary" in identity.message


def test_fix_blocked_by_an_scp_deny_stays_denied() -> None:
    """An Allow under an SCP explicit deny is reported as still denied by that SCP at the OU."""
    raw = shapes.scp_explicit_deny()
    statement = {"Effect": "Allow", "Action": "s3:CreateBucket", "Resource": shapes.BUCKET}
    finding = Finding("user", "t", "low", "e", (Fix("identity", shapes.ROLE, (statement,)),))
    (entry,) = _verify(raw, (finding,))
    assert entry.status == "still_denied"
    assert "denied by SCP p-7q3x9k2m at ou-ab12-workloads (statement DenyOutsideRegions)" in (
        entry.message
    )
    (own,) = _verify(raw)
    assert own.status == "still_denied" and own.applies_to is None
    assert "no Allow can change that" in own.message


def test_every_target_of_the_scp_chain_must_allow() -> None:
    """With the OU and the account both denying, one SCP fix alone is not enough."""
    raw = _single(
        shapes.check("SERVICE_CONTROL_POLICY", "IMPLICIT_DENY", shapes.OU),
        shapes.check("SERVICE_CONTROL_POLICY", "IMPLICIT_DENY", shapes.ACCOUNT_TARGET),
    )
    entries = _verify(raw)
    assert [(e.applies_to, e.status) for e in entries] == [
        (shapes.OU, "allows_with_other_fixes"),
        (shapes.ACCOUNT_TARGET, "allows_with_other_fixes"),
    ]
    assert "account 111122223333" in entries[0].message


def test_a_captured_deny_in_the_layer_defeats_the_fix() -> None:
    """The fix is added to the captured documents: a Deny there still wins in the re-check."""
    deny_doc = {
        "Statement": [
            {
                "Sid": "NoBuilds",
                "Effect": "Deny",
                "Action": "s3:GetObject",
                "Resource": f"{shapes.BUCKET}/*",
            }
        ]
    }
    raw = _single(shapes.check("SERVICE_CONTROL_POLICY", "IMPLICIT_DENY", shapes.OU))
    raw["policies"] = [shapes.policy(shapes.ALLOW_LIST_SCP, "SERVICE_CONTROL_POLICY", shapes.OU)]
    raw["documents"] = {shapes.ALLOW_LIST_SCP: deny_doc}
    (entry,) = _verify(raw)
    assert entry.status == "still_denied"
    assert "denied by SCP p-allowlst at ou-ab12-workloads (statement NoBuilds)" in entry.message


def test_evaluation_context_overrides_the_request_context() -> None:
    """Evaluation keys win over request keys of the same name, whatever their case."""
    raw = shapes.run_instances()
    raw["requestContext"]["iam:passedtoservice"] = "lambda.amazonaws.com"
    details = parse_details(raw)
    ctx = evaluation_context(details, details.evaluations[1])
    assert ctx.conditions["iam:PassedToService"] == ("ec2.amazonaws.com",)
    assert "iam:passedtoservice" not in ctx.conditions
    assert (ctx.action, ctx.region, ctx.principal_arn) == ("iam:PassRole", "eu-west-1", shapes.ROLE)


def test_a_fix_the_recheck_finds_blocked_says_so_in_its_explanation() -> None:
    """When the re-check finds a fix still blocked, the finding's explanation says so."""
    deny_doc = {
        "Statement": [{"Sid": "NoBuilds", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}]
    }
    raw = _single(shapes.check("SERVICE_CONTROL_POLICY", "IMPLICIT_DENY", shapes.OU))
    raw["policies"] = [shapes.policy(shapes.ALLOW_LIST_SCP, "SERVICE_CONTROL_POLICY", shapes.OU)]
    raw["documents"] = {shapes.ALLOW_LIST_SCP: deny_doc}
    verdict = judge_details(FAILURE, raw)
    assert verdict is not None
    _, (finding,), _ = verdict
    assert "Re-check: s3:GetObject on" in finding.explanation
    assert (
        "denied by SCP p-allowlst at ou-ab12-workloads (statement NoBuilds)" in finding.explanation
    )
    assert "the fix does not help until that changes" in finding.explanation


def test_fixes_carry_escalation_risk_but_an_rcp_reattach_does_not() -> None:
    """An escalation grant is marked; RCPFullAWSAccess, which grants nothing, is not."""
    ev = shapes.evaluation(
        "iam:PutRolePolicy",
        "arn:aws:iam::111122223333:role/app",
        "IMPLICIT_DENY",
        [
            shapes.check("RESOURCE_CONTROL_POLICY", "IMPLICIT_DENY", shapes.ROOT),
            shapes.check("PRINCIPAL", "IMPLICIT_DENY", shapes.ROLE),
        ],
    )
    verdict = judge_details(FAILURE, shapes.answer([ev], []))
    assert verdict is not None
    (finding,) = verdict[1]
    risks = {fix.target: [r.id for r in fix.risk] for fix in finding.fixes}
    assert risks == {"rcp": [], "identity": ["iam-put-role-policy"]}


def test_a_recheck_note_goes_to_its_own_evaluations_finding() -> None:
    """A blocked fix for one object is not reported under the finding of a longer-named object."""
    from diagnostics.troubleshooter.verdict import _with_recheck

    short, longer = f"{shapes.BUCKET}/k", f"{shapes.BUCKET}/k2"
    deny = [shapes.check("PRINCIPAL", "IMPLICIT_DENY", shapes.ROLE)]
    details = parse_details(
        shapes.answer(
            [
                shapes.evaluation("s3:GetObject", short, "IMPLICIT_DENY", deny),
                shapes.evaluation("s3:GetObject", longer, "IMPLICIT_DENY", deny),
            ],
            [],
        )
    )
    fix = Fix("identity", shapes.ROLE, ({"Effect": "Allow"},))
    findings = tuple(
        Finding("implicit", f"s3:GetObject on {r} is not allowed", "low", "e", (fix,))
        for r in (short, longer)
    )
    blocked = Verification(
        "implicit",
        "identity",
        shapes.ROLE,
        "evaluator",
        "still_denied",
        "blocked by an SCP",
        Evaluated("s3:GetObject", short),
    )
    first, second = _with_recheck(findings, (blocked,), details)
    assert "Re-check: blocked by an SCP" in first.explanation
    assert second.explanation == "e"
