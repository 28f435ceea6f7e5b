"""A permission set's merged policy says it is the permission set's and how to apply it."""

from __future__ import annotations

from diagnostics.model import Diagnosis, Failure, Finding, Fix, SourceRef
from diagnostics.policy.merge import merge_fixes, render_policies
from diagnostics.policy.output import policy_entries

STATEMENT = {
    "Effect": "Allow",
    "Action": "dynamodb:PutItem",
    "Resource": "arn:aws:dynamodb:us-east-1:111122223333:table/orders",
}


def _diagnoses() -> list[Diagnosis]:
    failure = Failure(
        kind="plain",
        source=SourceRef("app.log"),
        principal_arn=(
            "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice"
        ),
        action="dynamodb:PutItem",
        resource=STATEMENT["Resource"],
    )
    fix = Fix("permission_set", "Admin", (STATEMENT,))
    return [Diagnosis(failure, findings=(Finding("r", "t", "medium", "e", (fix,)),))]


def test_policy_text_names_the_permission_set_and_the_sso_admin_steps() -> None:
    """--format policy-text heads the document with the permission set and its CLI steps."""
    text = render_policies(merge_fixes(_diagnoses()))
    head = text.splitlines()[0]
    assert "permission set Admin" in head
    assert "IAM Identity Center" in head
    assert "aws sso-admin put-inline-policy-to-permission-set" in head
    assert "aws sso-admin provision-permission-set" in head
    assert "not the AWSReservedSSO_" in head


def test_policy_json_notes_carry_the_same_header() -> None:
    """--format policy's notes for the permission set give the same steps."""
    diagnoses = _diagnoses()
    (entry,) = policy_entries(merge_fixes(diagnoses), diagnoses)
    assert entry["notes"][0].startswith("inline policy of permission set Admin")
