"""Attribution and fixes from Access Troubleshooter details, one finding per denied evaluation."""

from __future__ import annotations

from typing import Any

import toolbox_shapes as shapes

from diagnostics.model import Failure, Finding, SourceRef
from diagnostics.troubleshooter import diagnose_details
from diagnostics.troubleshooter.details import parse_details


def _failure(principal: str = shapes.SESSION) -> Failure:
    return Failure(kind="plain", source=SourceRef("app.log", 3), principal_arn=principal)


def _diagnose(raw: dict[str, Any]) -> tuple[Finding, ...]:
    return diagnose_details(_failure(), raw)


def test_scp_explicit_deny_names_the_scp_its_statement_and_its_ou() -> None:
    """An SCP deny at an OU is attributed to that SCP, Sid and OU, quoted, with no Allow offered."""
    (finding,) = _diagnose(shapes.scp_explicit_deny())
    assert finding.rule == "troubleshooter-explicit-deny"
    assert "denied by SCP p-7q3x9k2m at ou-ab12-workloads (statement DenyOutsideRegions)" in (
        finding.title
    )
    assert finding.fixes == ()
    assert '"Sid": "DenyOutsideRegions"' in finding.explanation
    assert (
        'StringNotEquals aws:RequestedRegion ["eu-west-1"] holds (request: ap-south-1)'
        in finding.explanation
    )
    assert "No Allow can fix this" in finding.explanation


def test_explicit_deny_without_its_document_says_how_to_fetch_it() -> None:
    """Without the captured document the finding gives the exact command that fetches it."""
    (finding,) = _diagnose(shapes.scp_explicit_deny(with_documents=False))
    assert "get-request-authorization-policy" in finding.explanation
    assert f"--policy-uri {shapes.REGION_SCP}" in finding.explanation
    assert finding.fixes == ()


def test_run_instances_sub_evaluations_get_role_fixes_with_their_own_context() -> None:
    """PassRole and CreateTags each get a fix for the role, conditioned on their own context."""
    findings = _diagnose(shapes.run_instances())
    assert [f.title.split(" ")[0] for f in findings] == ["iam:PassRole", "ec2:CreateTags"]
    fixes = [fix for f in findings for fix in f.fixes]
    assert [(f.target, f.applies_to) for f in fixes] == [("identity", shapes.ROLE)] * 2
    pass_role, create_tags = (fix.statements[0] for fix in fixes)
    assert pass_role["Resource"] == "arn:aws:iam::111122223333:role/app-instance"
    assert (pass_role["Sid"], create_tags["Sid"]) == ("AllowIamPassRole", "AllowEc2CreateTags")
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    assert create_tags["Condition"] == {"StringEquals": {"ec2:CreateAction": "RunInstances"}}
    assert "aws:TagKeys" not in str(create_tags)
    assert all("*" not in str(s.get("Resource")) for s in (pass_role,))
    assert "edit arn:aws:iam::111122223333:policy/ci-deployer-ec2" in findings[0].explanation


def test_pass_role_on_a_wildcard_gets_no_fix() -> None:
    """An iam:PassRole evaluation on * is explained but never answered with a wildcard grant."""
    raw = shapes.run_instances()
    raw["evaluations"][1]["resource"] = "*"
    findings = _diagnose(raw)
    assert findings[0].fixes == ()
    assert "iam:PassRole on a wildcard" in findings[0].explanation


def _one_layer(check: dict[str, Any], policies: list[dict[str, Any]] | None = None) -> Finding:
    ev = shapes.evaluation(
        "s3:GetObject",
        f"{shapes.BUCKET}/build.zip",
        "IMPLICIT_DENY",
        [shapes.scp_allow(), check],
    )
    raw = shapes.answer([ev], policies or [])
    raw["requestContext"]["aws:SourceVpce"] = "vpce-0a1b2c3d"
    (finding,) = _diagnose(raw)
    return finding


def test_each_layer_gets_its_own_fix_target() -> None:
    """Boundary, session, resource, SCP, RCP and VPC endpoint denials are fixed in that layer."""
    boundary = _one_layer(
        shapes.check("PERMISSIONS_BOUNDARY", "IMPLICIT_DENY", shapes.ROLE),
        [shapes.policy(shapes.BOUNDARY, "PERMISSIONS_BOUNDARY", shapes.ROLE)],
    )
    assert (boundary.fixes[0].target, boundary.fixes[0].applies_to) == (
        "permissions_boundary",
        shapes.ROLE,
    )
    assert shapes.BOUNDARY in boundary.explanation
    session = _one_layer(shapes.check("SESSION", "IMPLICIT_DENY"))
    assert session.fixes[0].target == "session"
    resource = _one_layer(shapes.check("RESOURCE", "IMPLICIT_DENY", f"{shapes.BUCKET}/build.zip"))
    (statement,) = resource.fixes[0].statements
    assert statement["Principal"] == {"AWS": shapes.ROLE}
    # The bucket policy belongs to the bucket, not to the object (issue 24 item 2).
    assert resource.fixes[0].applies_to == shapes.BUCKET
    scp = _one_layer(
        shapes.check("SERVICE_CONTROL_POLICY", "IMPLICIT_DENY", shapes.OU),
        [shapes.policy(shapes.ALLOW_LIST_SCP, "SERVICE_CONTROL_POLICY", shapes.OU)],
    )
    assert (scp.fixes[0].target, scp.fixes[0].applies_to) == ("scp", shapes.OU)
    assert "p-allowlst" in scp.explanation and "ou-ab12-workloads" in scp.title
    rcp = _one_layer(shapes.check("RESOURCE_CONTROL_POLICY", "IMPLICIT_DENY", shapes.ROOT))
    assert (rcp.fixes[0].target, rcp.fixes[0].applies_to) == ("rcp", shapes.ROOT)
    assert "RCPFullAWSAccess" in rcp.explanation
    vpce = _one_layer(shapes.check("VPC_ENDPOINT", "IMPLICIT_DENY"))
    assert (vpce.fixes[0].target, vpce.fixes[0].applies_to) == ("vpc_endpoint", "vpce-0a1b2c3d")


def test_several_denying_layers_are_all_named() -> None:
    """When identity and boundary both deny, both get a fix and the text says both are needed."""
    raw = shapes.run_instances([shapes.check("PERMISSIONS_BOUNDARY", "IMPLICIT_DENY", shapes.ROLE)])
    finding = _diagnose(raw)[0]
    assert [f.target for f in finding.fixes] == ["identity", "permissions_boundary"]
    assert "Every one of these layers must allow it" in finding.explanation


def test_an_evaluation_without_checks_says_why() -> None:
    """No checks (caller outside the organization): the finding says which credentials to use."""
    ev = shapes.evaluation("s3:GetObject", shapes.BUCKET, "IMPLICIT_DENY", [])
    del ev["checks"]
    details = parse_details(shapes.answer([ev], []))
    (finding,) = diagnose_details(_failure(), details)
    assert finding.rule == "troubleshooter-unattributed"
    assert "account or organization" in finding.explanation


def test_a_generated_sid_is_found_by_the_request() -> None:
    """A statement without a Sid (AWS reports a generated one) is still quoted from the document."""
    raw = shapes.scp_explicit_deny()
    document = raw["documents"][shapes.REGION_SCP]
    del document["Statement"][0]["Sid"]
    raw["evaluations"][0]["checks"][1]["matchedPolicies"][0]["matchedStatements"][0]["sid"] = "0"
    (finding,) = _diagnose(raw)
    assert '"Effect": "Deny"' in finding.explanation
    assert "aws:RequestedRegion" in finding.explanation


def test_an_explicit_deny_without_named_statements_is_found_by_the_recheck() -> None:
    """When AWS names no statement, the captured Deny that applies is quoted with its policy."""
    raw = shapes.scp_explicit_deny()
    raw["evaluations"][0]["checks"][1]["matchedPolicies"] = []
    (finding,) = _diagnose(raw)
    assert f"the re-check finds this one in {shapes.REGION_SCP}" in finding.explanation
    assert '"Sid": "DenyOutsideRegions"' in finding.explanation


def test_an_inline_policy_is_named_with_its_entity() -> None:
    """An explicit deny in an inline identity policy names the role the policy sits on."""
    uri = "ip-8f3a2c"
    ev = shapes.evaluation(
        "s3:DeleteObject",
        f"{shapes.BUCKET}/k",
        "EXPLICIT_DENY",
        [
            shapes.check(
                "PRINCIPAL",
                "EXPLICIT_DENY",
                shapes.ROLE,
                [(uri, [shapes.statement("NoDelete", "DENY")])],
            )
        ],
    )
    raw = shapes.answer(
        [ev], [shapes.policy(uri, "IDENTITY_BASED_POLICY", shapes.ROLE, inline=True)]
    )
    (finding,) = _diagnose(raw)
    assert (
        f"denied by identity-based policy inline {uri} on {shapes.ROLE} (statement NoDelete)"
        in finding.title
    )
    assert finding.fixes == ()


def test_inconsistent_answers_still_explain_and_never_open_a_resource() -> None:
    """A deny no check names is explained; a resource fix without a known principal is withheld."""
    explicit = shapes.evaluation(
        "s3:GetObject", shapes.BUCKET, "EXPLICIT_DENY", [shapes.scp_allow()]
    )
    implicit = shapes.evaluation(
        "s3:PutObject", shapes.BUCKET, "IMPLICIT_DENY", [shapes.scp_allow()]
    )
    resource = shapes.evaluation(
        "s3:DeleteObject",
        shapes.BUCKET,
        "IMPLICIT_DENY",
        [shapes.check("RESOURCE", "IMPLICIT_DENY")],
    )
    raw = shapes.answer([explicit, implicit, resource], [])
    del raw["requestContext"]["aws:PrincipalArn"]
    anonymous = Failure(kind="plain", source=SourceRef("app.log"))
    first, second, third = diagnose_details(anonymous, raw)
    assert "explicitly denied, but no check" in first.explanation and first.fixes == ()
    assert "no check of this evaluation says which layer" in second.explanation
    assert third.fixes == () and "names no principal to allow" in third.explanation
