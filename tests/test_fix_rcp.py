"""An RCP denial is fixed with the AWS managed RCPFullAWSAccess, never a custom RCP Allow."""

from __future__ import annotations

from diagnostics.diagnose.pipeline import Pipeline
from diagnostics.model import Diagnosis, Failure, SourceRef
from diagnostics.policy.merge import merge_fixes, render_policies
from diagnostics.rules import RuleSet
from diagnostics.troubleshooter.diagnose import RCP_FULL_ACCESS

SESSION = "arn:aws:sts::111122223333:assumed-role/deploy/ci-1"
# The AWS managed policy's whole content (AWS Organizations User Guide, RCP syntax).
FULL_ACCESS = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}


def _diagnose(explicit: bool | None) -> Diagnosis:
    failure = Failure(
        kind="plain",
        source=SourceRef("app.log"),
        principal_arn=SESSION,
        action="s3:GetObject",
        resource="arn:aws:s3:::data/report.csv",
        policy_type="rcp",
        explicit_deny=explicit,
    )
    return next(Pipeline(RuleSet.bundled()).diagnose([failure]))


def test_an_implicit_rcp_denial_reattaches_rcp_full_aws_access() -> None:
    """The fix is RCPFullAWSAccess itself, as Troubleshooter says, not an Allow of the call."""
    d = _diagnose(False)
    (finding,) = [f for f in d.findings if f.rule == "rcp-deny"]
    (fix,) = finding.fixes
    assert (fix.target, fix.applies_to) == ("rcp", RCP_FULL_ACCESS)
    (statement,) = fix.statements
    assert {k: v for k, v in statement.items() if k != "Sid"} == FULL_ACCESS
    assert "only Deny" in finding.explanation
    assert "attach-policy --policy-id p-RCPFullAWSAccess" in finding.explanation
    assert "list-policies-for-target" in finding.explanation


def test_an_unknown_rcp_denial_also_says_how_to_edit_the_deny() -> None:
    """When the message does not say explicit or implicit, the Deny's condition is named too."""
    d = _diagnose(None)
    (finding,) = [f for f in d.findings if f.rule == "rcp-deny"]
    assert "Condition" in finding.explanation and "Deny" in finding.explanation


def test_the_policy_text_says_to_attach_the_managed_rcp() -> None:
    """--format policy-text heads the document with the attach step, not 'change it'."""
    text = render_policies(merge_fixes([_diagnose(False)]))
    head = text.splitlines()[0]
    assert "RCPFullAWSAccess" in head and "attach-policy" in head


def test_re_attaching_rcp_full_aws_access_carries_no_escalation_risk() -> None:
    """RCPFullAWSAccess grants nothing: the fix and its merged document list no risk."""
    d = _diagnose(False)
    (fix,) = [x for f in d.findings if f.rule == "rcp-deny" for x in f.fixes]
    assert fix.risk == ()
    (doc,) = merge_fixes([d])
    assert doc.risk == ()
