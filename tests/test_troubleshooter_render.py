"""The pipeline hook and the wording of text, stdout and Slack views for resolved details."""

from __future__ import annotations

import orjson
import pytest
import toolbox_shapes as shapes

from diagnostics.alerts import group_key
from diagnostics.alerts.alert import Alert
from diagnostics.alerts.codec import diagnosis_from_json
from diagnostics.diagnose.pipeline import Pipeline
from diagnostics.model import DecodeResult, Diagnosis, Failure, SourceRef, Verification
from diagnostics.render import text
from diagnostics.rules import load_with_bundled
from diagnostics.sinks.slack_blocks import build_payload
from diagnostics.sinks.text import render_text

PHRASE = "denied by SCP p-7q3x9k2m at ou-ab12-workloads (statement DenyOutsideRegions)"
# The message text the service printed, as a log carries it: names the policy type only.
FAILURE = Failure(
    kind="plain",
    source=SourceRef("app.log", 7),
    principal_arn=shapes.SESSION,
    action="s3:CreateBucket",
    resource=shapes.BUCKET,
    policy_type="scp",
    explicit_deny=True,
    error_code="AccessDenied",
    authorization_id="k3x9a1b2c3",
)


def _label(entry: Verification) -> str:
    """An entry's evaluation as the JSON prints it."""
    assert entry.evaluation is not None
    return entry.evaluation.label()


def _diagnosis() -> Diagnosis:
    pipeline = Pipeline(load_with_bundled())
    return pipeline.diagnose_one(
        FAILURE, DecodeResult(), authorization_details=shapes.scp_explicit_deny()
    )


def _alert(d: Diagnosis) -> Alert:
    return Alert(
        key=group_key(d),
        status="new",
        count=1,
        first_seen=1_700_000_000.0,
        last_seen=1_700_000_000.0,
        sources=("app.log:7",),
        samples=(),
        diagnosis=d,
        diagnoses=(d,),
        sources_total=1,
        new_count=1,
    )


def test_pipeline_lets_the_details_decide_and_fills_the_policy() -> None:
    """With details the findings come from them (no identity Allow) and the SCP ARN is filled."""
    d = _diagnosis()
    assert [f.rule for f in d.findings] == ["troubleshooter-explicit-deny"]
    assert not any(fix.target == "identity" for f in d.findings for fix in f.fixes)
    assert d.failure.policy_arn == shapes.REGION_SCP
    assert d.failure.principal_arn == shapes.SESSION  # the log's own principal is kept
    assert _label(d.verification[0]) == f"s3:CreateBucket on {shapes.BUCKET}"
    assert d.authorization_details is not None


def test_pipeline_without_details_runs_the_rules() -> None:
    """A failure without details is judged by the rules as before."""
    d = Pipeline(load_with_bundled()).diagnose_one(FAILURE, DecodeResult())
    assert d.findings and all(not f.rule.startswith("troubleshooter") for f in d.findings)


def test_text_view_says_which_scp_statement_and_ou() -> None:
    """The text view's Why line names the SCP, its OU and the statement."""
    assert f"Why       s3:CreateBucket {PHRASE}" in text.render(_diagnosis())


def test_stdout_alert_says_which_scp_statement_and_ou() -> None:
    """The stdout alert summary carries a denied line with the exact attribution."""
    out = render_text(_alert(_diagnosis()))
    assert f"  denied    s3:CreateBucket {PHRASE}" in out


def test_slack_alert_says_which_scp_statement_and_ou() -> None:
    """The Slack payload has a Denied by section with the exact attribution, escaped."""
    payload = build_payload(_alert(_diagnosis()))
    sections = [
        b["text"]["text"] for b in payload["blocks"] if b.get("type") == "section" and "text" in b
    ]
    assert any(s == f"*Denied by:* s3:CreateBucket {PHRASE}" for s in sections)


def test_attribution_survives_the_alert_codec() -> None:
    """A diagnosis read back from the state DB still renders the attribution."""
    d = _diagnosis()
    back = diagnosis_from_json(orjson.loads(orjson.dumps(d.to_json())))
    assert PHRASE in render_text(_alert(back))


def test_details_without_checks_keep_the_rules_findings() -> None:
    """When no check names the layer, the rules' findings are kept beside the unattributed one."""
    ev = shapes.evaluation("s3:CreateBucket", shapes.BUCKET, "EXPLICIT_DENY", [])
    del ev["checks"]
    d = Pipeline(load_with_bundled()).diagnose_one(
        FAILURE, DecodeResult(), authorization_details=shapes.answer([ev], [])
    )
    rules = [f.rule for f in d.findings]
    assert rules[0] == "troubleshooter-unattributed" and len(rules) > 1


def test_text_view_lists_every_check_of_a_denied_evaluation() -> None:
    """The text view has a Checks line with each check, its target and its effect, in order."""
    out = text.render(_diagnosis())
    assert (
        "Checks    s3:CreateBucket: SCP at root r-ab12: allow, SCP at ou-ab12-workloads: "
        "explicit deny, SCP at account 111122223333: allow, identity-based policy: allow" in out
    )


def test_blob_and_id_both_answering_is_said() -> None:
    """When STS decoded the blob and the ID was resolved too, the finding says both answered."""
    decoded = {
        "allowed": False,
        "explicitDeny": True,
        "matchedStatements": {"items": []},
        "context": {"principal": {"arn": shapes.SESSION}, "action": "s3:CreateBucket"},
    }
    d = Pipeline(load_with_bundled()).diagnose_one(
        FAILURE, DecodeResult(decoded=decoded), authorization_details=shapes.scp_explicit_deny()
    )
    assert "Both answered: STS decoded the EC2 encoded message" in d.findings[0].explanation
    assert "Both answered" not in _diagnosis().findings[0].explanation


def test_the_views_read_the_answer_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Text, stdout and Slack views of resolved details print without parsing the answer again."""
    d = _diagnosis()
    assert d.authorization_details is not None and d.authorization_details.evaluations

    def parse_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("the answer was parsed again at render time")

    monkeypatch.setattr("diagnostics.troubleshooter.attribution.parse_details", parse_again)
    assert PHRASE in text.render(d)
    assert PHRASE in render_text(_alert(d))
    assert PHRASE in orjson.dumps(build_payload(_alert(d))).decode()
    assert d.to_json()["authorization_details"] == shapes.scp_explicit_deny()
