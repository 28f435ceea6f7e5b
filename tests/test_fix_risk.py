"""Fix risk: a fix that opens a catalogued privilege-escalation path says so, everywhere."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from diagnostics.alerts import Alert
from diagnostics.diagnose.generalize import generalize
from diagnostics.diagnose.pipeline import Pipeline
from diagnostics.diagnose.verify import check_fixes
from diagnostics.extract import extract_text
from diagnostics.model import DecodeResult, Diagnosis
from diagnostics.policy.merge import merge_fixes, render_policies
from diagnostics.policy.output import policy_entries
from diagnostics.policy.risk import escalation_paths, load_paths, statement_risks
from diagnostics.rules import RuleSet, bundled_rules_dir
from diagnostics.sinks import StdoutSink, build_payload
from diagnostics.testing.alert_capture import alerts_for

ACCOUNT = "123456789012"
PATHS = escalation_paths()


def _allow(actions: list[str], resource: str = "*") -> dict[str, object]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def _ids(statements: list[dict[str, object]]) -> set[str]:
    return {r.id for r in statement_risks(statements)}


def _denied(action: str, resource: str, principal: str = f"arn:aws:iam::{ACCOUNT}:user/dev") -> str:
    return (
        f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action\n"
    )


def _diagnoses(log: str) -> list[Diagnosis]:
    pipe = Pipeline(RuleSet.load([bundled_rules_dir()]))
    return [pipe.diagnose_one(f, DecodeResult()) for f in extract_text(log, "app.log")]


def test_catalogue_names_every_path_the_brief_requires() -> None:
    """The catalogue covers the direct IAM paths, the PassRole combinations and the wildcards."""
    ids = {p.id for p in PATHS}
    assert len(ids) == len(PATHS)
    assert {
        "iam-attach-user-policy",
        "iam-attach-role-policy",
        "iam-put-user-policy",
        "iam-put-role-policy",
        "iam-create-policy-version",
        "iam-set-default-policy-version",
        "iam-create-access-key",
        "iam-create-login-profile",
        "iam-update-login-profile",
        "iam-update-assume-role-policy",
        "iam-add-user-to-group",
        "iam-pass-role-any",
        "sts-assume-role-any",
        "lambda-update-function-code",
        "lambda-create-function-pass-role",
        "ec2-run-instances-pass-role",
        "glue-create-dev-endpoint-pass-role",
        "cloudformation-create-stack-pass-role",
        "datapipeline-pass-role",
    } <= ids
    assert all("Rhino Security Labs" in p.source or "pathfinding.cloud" in p.source for p in PATHS)


#: pathfinding.cloud's single- and two-action paths (by its id), and the role
#: counterparts of its user-only paths (iam-022, iam-024, iam-025, iam-026).
PATHFINDING = {
    "apprunner-001": "apprunner-create-service-pass-role",
    "apprunner-002": "apprunner-update-service",
    "bedrock-002": "bedrock-agentcore-code-interpreter",
    "cloudformation-002": "cloudformation-update-stack",
    "cloudformation-004": "cloudformation-update-stack-set-pass-role",
    "cloudformation-005": "cloudformation-change-set",
    "codebuild-002": "codebuild-start-build",
    "codebuild-003": "codebuild-start-build-batch",
    "ec2-003": "ec2-request-spot-instances-pass-role",
    "ec2-004": "ec2-launch-template-version",
    "ec2instanceconnect-003": "ec2-instance-connect-send-ssh-public-key",
    "iam-003": "iam-create-access-key-delete-access-key",
    "iam-014": "iam-attach-role-policy-assume-role",
    "iam-015": "iam-attach-user-policy-create-access-key",
    "iam-016": "iam-create-policy-version-assume-role",
    "iam-017": "iam-put-role-policy-assume-role",
    "iam-018": "iam-put-user-policy-create-access-key",
    "iam-019": "iam-attach-role-policy-update-assume-role-policy",
    "iam-020": "iam-create-policy-version-update-assume-role-policy",
    "iam-021": "iam-put-role-policy-update-assume-role-policy",
    "iam-022": "iam-delete-user-permissions-boundary",
    "iam-023": "iam-delete-role-permissions-boundary-assume-role",
    "iam-024": "iam-put-user-permissions-boundary",
    "iam-025": "iam-detach-user-policy",
    "iam-026": "iam-delete-user-policy",
    "lambda-004": "lambda-update-function-code-invoke",
    "lambda-005": "lambda-update-function-code-add-permission",
    "sagemaker-001": "sagemaker-create-notebook-pass-role",
    "sagemaker-002": "sagemaker-training-job-pass-role",
    "sagemaker-003": "sagemaker-processing-job-pass-role",
    "ssm-001": "ssm-start-session",
    "ssm-002": "ssm-send-command",
    "sts-001": "sts-assume-role",
}


def test_catalogue_has_pathfinding_clouds_short_paths_and_names_its_version() -> None:
    """Each one- or two-action pathfinding.cloud path is catalogued, citing it and its version."""
    by_id = {p.id: p for p in PATHS}
    for source_id, path_id in PATHFINDING.items():
        assert path_id in by_id, source_id
        assert f"pathfinding.cloud {source_id}" in by_id[path_id].source, path_id
    about = orjson.loads(
        (Path(__file__).parents[1] / "diagnostics/data/escalation_paths.json").read_bytes()
    )["about"]
    assert "pathfinding.cloud" in about and "84dd65c" in about


def test_every_catalogued_action_is_one_the_iam_dataset_knows() -> None:
    """A misspelt action in the catalogue would never match a fix: each one is a real action."""
    from diagnostics.iam.dataset import get_action

    unknown = {a for p in PATHS for a in p.actions if get_action(a) is None}
    # CodeStar was retired and left the dataset; its rows still mark merged policies.
    assert {a.partition(":")[0] for a in unknown} <= {"codestar"}


@pytest.mark.parametrize(
    ("action", "resource", "path_id"),
    [
        ("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/admin", "sts-assume-role"),
        (
            "iam:PutRolePermissionsBoundary",
            f"arn:aws:iam::{ACCOUNT}:role/app",
            "iam-put-role-permissions-boundary",
        ),
        (
            "iam:DeleteRolePermissionsBoundary",
            f"arn:aws:iam::{ACCOUNT}:role/app",
            "iam-delete-role-permissions-boundary",
        ),
        ("iam:DetachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/app", "iam-detach-role-policy"),
        ("iam:DeleteRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/app", "iam-delete-role-policy"),
        ("ssm:SendCommand", "*", "ssm-send-command"),
        ("ecs:RunTask", "*", "ecs-run-task"),
    ],
)
def test_the_reviews_unflagged_actions_are_flagged(
    action: str, resource: str, path_id: str
) -> None:
    """The actions the security review found unflagged now carry their escalation path."""
    assert path_id in _ids([_allow([action], resource)])
    (d,) = _diagnoses(_denied(action, resource))
    assert path_id in {r.id for x in d.findings for f in x.fixes for r in f.risk}


def test_send_command_and_run_task_on_one_named_resource_are_not_the_any_paths() -> None:
    """ssm:SendCommand on one instance and ecs:RunTask on one task definition open no path."""
    instance = f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0123456789abcdef0"
    assert _ids([_allow(["ssm:SendCommand"], instance)]) == set()
    task = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/app:3"
    assert _ids([_allow(["ecs:RunTask"], task)]) == set()


@pytest.mark.parametrize("path", PATHS, ids=[p.id for p in PATHS])
def test_each_path_is_flagged_when_its_actions_are_granted(path: object) -> None:
    """Granting a path's actions marks the fix with that path; one action short does not."""
    from diagnostics.policy.risk import EscalationPath

    assert isinstance(path, EscalationPath)
    risks = {r.id: r for r in statement_risks([_allow(list(path.actions))])}
    assert path.id in risks
    assert risks[path.id].severity == path.severity
    assert path.source in risks[path.id].message
    if len(path.actions) > 1:
        for left_out in path.actions:
            rest = [a for a in path.actions if a != left_out]
            assert path.id not in _ids([_allow(rest)]), left_out


def test_wildcard_paths_need_a_wildcard_resource() -> None:
    """PassRole/AssumeRole on one named role are not the "any role" paths; on role/* they are."""
    role = f"arn:aws:iam::{ACCOUNT}:role/app"
    assert _ids([_allow(["iam:PassRole"], role)]) == set()
    # A named role is still that role's permissions (pathfinding.cloud sts-001).
    assert _ids([_allow(["sts:AssumeRole"], role)]) == {"sts-assume-role"}
    assert "iam-pass-role-any" in _ids([_allow(["iam:PassRole"], f"arn:aws:iam::{ACCOUNT}:role/*")])
    assert "sts-assume-role-any" in _ids([_allow(["sts:AssumeRole"])])


def test_pass_role_combination_is_medium_when_the_role_is_named() -> None:
    """RunInstances with PassRole on one named role is medium; on every role it is high."""
    role = f"arn:aws:iam::{ACCOUNT}:role/app"
    named = [_allow(["ec2:RunInstances"]), _allow(["iam:PassRole"], role)]
    (risk,) = [r for r in statement_risks(named) if r.id == "ec2-run-instances-pass-role"]
    assert risk.severity == "medium"
    anyrole = [_allow(["ec2:RunInstances", "iam:PassRole"])]
    severities = {r.id: r.severity for r in statement_risks(anyrole)}
    assert severities["ec2-run-instances-pass-role"] == "high"


def test_remembered_verdicts_tell_apart_what_the_paths_read() -> None:
    """Verdicts are remembered by shape: other ARNs share one; a wildcard or NotResource not."""
    named = [_allow(["iam:PassRole"], f"arn:aws:iam::{ACCOUNT}:role/app-{n}") for n in range(3)]
    assert [_ids([st]) for st in named] == [set(), set(), set()]
    wild = {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "arn:aws:iam::1:role/a?"}
    assert "iam-pass-role-any" in _ids([wild])
    not_resource = {"Effect": "Allow", "Action": ["iam:PassRole"], "NotResource": "arn:x"}
    assert "iam-pass-role-any" in _ids([not_resource])
    # A Deny beside the grant reads as nothing, and grants nothing on its own.
    deny = {"Effect": "Deny", "Action": ["iam:PassRole"], "Resource": "*"}
    assert _ids([deny, named[0]]) == set()
    assert _ids([deny]) == set()


def test_findings_with_risk_keeps_every_field_of_finding_and_fix() -> None:
    """Built without ``dataclasses.replace``: a field added later must not be dropped."""
    import dataclasses

    from diagnostics.model import Finding, Fix
    from diagnostics.policy.risk import findings_with_risk

    grant = _allow(["iam:CreatePolicyVersion"])
    fix = Fix("identity", f"arn:aws:iam::{ACCOUNT}:role/app", (grant,), risk=({"id": "old"},))
    finding = Finding("r", "t", "high", "why", (fix,))
    bare = Finding("s", "u", "low", "none")
    out = findings_with_risk((finding, bare))
    expected = dataclasses.replace(
        finding, fixes=(dataclasses.replace(fix, risk=statement_risks([grant])),)
    )
    assert out == (expected, bare)
    assert out[0].fixes[0].risk and out[0].fixes[0].risk != ({"id": "old"},)
    # Every field of both classes is one the direct construction names.
    assert [f.name for f in dataclasses.fields(Fix)] == [
        "target",
        "applies_to",
        "statements",
        "risk",
        "edit",
    ]
    assert [f.name for f in dataclasses.fields(Finding)] == [
        "rule",
        "title",
        "severity",
        "explanation",
        "fixes",
    ]
    assert findings_with_risk((bare,)) == (bare,)


def test_wildcard_actions_notaction_and_denies() -> None:
    """``iam:*`` and NotAction grant the paths they cover; a Deny statement grants nothing."""
    assert "iam-put-role-policy" in _ids([_allow(["iam:Put*"])])
    assert "iam-attach-user-policy" in _ids(
        [{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}]
    )
    assert _ids([{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]) == set()
    assert _ids([_allow(["s3:GetObject"])]) == set()


def test_a_corrupt_catalogue_is_refused_with_the_row_named() -> None:
    """A bad row (unknown severity) fails to load with its id in the message."""
    bad = orjson.dumps(
        {
            "paths": [
                {"id": "x", "severity": "dire", "actions": ["a:b"], "message": "m", "source": "s"}
            ]
        }
    )
    with pytest.raises(ValueError, match="x: severity"):
        load_paths(bad)
    with pytest.raises(ValueError, match="not an escalation-path catalogue"):
        load_paths(b"[]")


def test_a_forged_denial_for_attach_user_policy_gets_a_high_risk_fix() -> None:
    """The fix for a denied iam:AttachUserPolicy carries the high-severity escalation path."""
    (d,) = _diagnoses(_denied("iam:AttachUserPolicy", f"arn:aws:iam::{ACCOUNT}:user/dev"))
    risks = [r for x in d.findings for fix in x.fixes for r in fix.risk]
    assert (risks[0].id, risks[0].severity) == ("iam-attach-user-policy", "high")
    printed = orjson.loads(orjson.dumps(d.to_json()))["findings"][0]["fixes"][0]["risk"]
    assert printed == [r.to_json() for r in risks]


def test_generalize_then_check_recomputes_risk_on_the_widened_statement() -> None:
    """--generalize widening a PassRole fix to role/* turns it into the "any role" path."""
    (d,) = _diagnoses(_denied("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/app-123"))
    assert [r for x in d.findings for f in x.fixes for r in f.risk] == []
    widened = check_fixes(generalize(d))
    statements = [s for x in widened.findings for f in x.fixes for s in f.statements]
    assert statements[0]["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/*"
    ids = {r.id for x in widened.findings for f in x.fixes for r in f.risk}
    assert "iam-pass-role-any" in ids


def test_policy_merge_finds_a_path_that_needs_two_failures_fixes() -> None:
    """Two harmless-looking fixes (RunInstances, PassRole) merged into one policy show the path."""
    role = f"arn:aws:iam::{ACCOUNT}:role/app"
    log = _denied("ec2:RunInstances", f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*") + _denied(
        "iam:PassRole", role
    )
    docs = merge_fixes(_diagnoses(log))
    identity = [doc for doc in docs if doc.kind == "identity"]
    assert identity and any(r.id == "ec2-run-instances-pass-role" for r in identity[0].risk)
    text = render_policies(docs)
    assert "# risk [medium] ec2-run-instances-pass-role:" in text
    assert identity[0].to_json()["risk"]
    (entry,) = [e for e in policy_entries(docs, []) if e["target"] == "identity"]
    assert any(n.startswith("risk [medium] ec2-run-instances-pass-role:") for n in entry["notes"])


def test_scan_text_and_json_show_the_risk(tmp_path: Path) -> None:
    """`scan` prints the risk under the fix in text, and in each fix's JSON."""
    log = tmp_path / "app.log"
    log.write_text(_denied("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/admin"))
    base = [sys.executable, "-m", "diagnostics", "scan", "--no-decode", str(log)]
    text = subprocess.run(base, capture_output=True, text=True, check=False, timeout=60).stdout
    assert "! risk [high] iam-put-role-policy:" in text
    out = subprocess.run(
        [*base, "--format", "json"], capture_output=True, check=False, timeout=60
    ).stdout
    fix = orjson.loads(out.splitlines()[0])["findings"][0]["fixes"][0]
    assert fix["risk"][0]["id"] == "iam-put-role-policy"


def _alert(d: Diagnosis) -> Alert:
    (alert,) = alerts_for([(d, "x")])
    return alert


def test_watch_text_sink_and_slack_show_the_risk() -> None:
    """The journal summary and the Slack message both name the escalation path."""
    (d,) = _diagnoses(_denied("iam:CreatePolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/p"))
    alert = _alert(d)
    buf = io.BytesIO()
    StdoutSink(format="text", stream=buf, color=False).send([alert])
    assert "  risk      [high] iam-create-policy-version:" in buf.getvalue().decode()
    body = orjson.dumps(build_payload(alert)).decode()
    assert "*high risk* `iam-create-policy-version`" in body
