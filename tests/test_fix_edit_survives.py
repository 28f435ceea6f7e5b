"""A fix's edit of an existing statement survives every stage after the snapshot judged it:
the risk pass, --generalize, and the alert table's encode/decode."""

from __future__ import annotations

import dataclasses

from diagnostics.alerts.codec import diagnosis_from_json
from diagnostics.diagnose.generalize import generalize
from diagnostics.model import Diagnosis, Failure, Finding, Fix, FixEdit, Risk, SourceRef
from diagnostics.policy.risk import findings_with_risk

ROLE = "arn:aws:iam::111122223333:role/ci-deployer"
OBJECT = "arn:aws:s3:::acme-artifacts-prod/releases/app-1.4.2.tgz"
BEFORE = {
    "Sid": "PutArtifacts",
    "Effect": "Allow",
    "Action": "s3:PutObject",
    "Resource": "arn:aws:s3:::acme-artifacts-staging/*",
}
AFTER = {**BEFORE, "Resource": ["arn:aws:s3:::acme-artifacts-staging/*", OBJECT]}
EDIT = FixEdit(
    layer="identity",
    sid="PutArtifacts",
    index=0,
    policy_arn="arn:aws:iam::111122223333:policy/deploy",
    policy_name="deploy-artifacts",
    entity=ROLE,
    resource="arn:aws:s3:::acme-artifacts-prod",
    before=BEFORE,
    after=AFTER,
)
GUARDRAIL = Risk("deny-exemption", "high", "exempts the caller")
ADD = Fix(
    "identity",
    ROLE,
    ({"Effect": "Allow", "Action": "s3:PutObject", "Resource": OBJECT},),
    risk=(GUARDRAIL,),
    edit=EDIT,
)


def _diagnosis(*fixes: Fix) -> Diagnosis:
    failure = Failure(
        kind="cloudtrail",
        source=SourceRef(path="trail.json"),
        principal_arn="arn:aws:sts::111122223333:assumed-role/ci-deployer/gha",
        account_id="111122223333",
        action="s3:PutObject",
        resource=OBJECT,
    )
    finding = Finding("snapshot-implicit-deny", "s3:PutObject denied", "medium", "why", fixes)
    return Diagnosis(failure, findings=(finding,))


def test_the_risk_pass_keeps_the_edit() -> None:
    """Computing each fix's risk leaves its edit (and an edit-only fix's guardrail risk) alone."""
    edit_only = Fix("scp", "ou-ab12-cdef3456", (), risk=(GUARDRAIL,), edit=EDIT)
    [finding] = findings_with_risk(_diagnosis(ADD, edit_only).findings)
    with_statements, alone = finding.fixes
    assert with_statements.edit == EDIT
    assert alone.edit == EDIT
    assert alone.risk == (GUARDRAIL,)


def test_generalize_keeps_the_edit_and_widens_only_what_it_adds() -> None:
    """--generalize widens the edit's added resource the way it widens the statements."""
    [finding] = generalize(_diagnosis(ADD)).findings
    [fix] = finding.fixes
    assert fix.statements[0]["Resource"] == "arn:aws:s3:::acme-artifacts-prod/*"
    assert fix.edit is not None
    assert fix.edit.before == BEFORE
    assert fix.edit.after == {
        **BEFORE,
        "Resource": ["arn:aws:s3:::acme-artifacts-staging/*", "arn:aws:s3:::acme-artifacts-prod/*"],
    }
    assert dataclasses.replace(fix.edit, after=AFTER) == EDIT


def test_an_alert_keeps_every_field_of_a_fix() -> None:
    """A fix read back from the alert table equals the one stored, edit included."""
    for field in dataclasses.fields(Fix):
        # A new field must be set here too, so this round trip covers it.
        assert getattr(ADD, field.name) != field.default, field.name
    for field in dataclasses.fields(FixEdit):
        assert getattr(EDIT, field.name) is not None, field.name
    diagnosis = _diagnosis(ADD, Fix("identity", None, ()))
    back = diagnosis_from_json(diagnosis.to_json())
    assert back.findings == diagnosis.findings
