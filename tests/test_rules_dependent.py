"""Dependent-permission fixes (when/note), the wildcard note, and bare-message rules end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from diagnostics.model import Failure, Finding, SourceRef
from diagnostics.request.context import build_context
from diagnostics.rules import RuleSet, bundled_rules_dir, lint
from diagnostics.rules import cases as cases_mod

RULES = RuleSet.bundled()

RUN_DECODED: dict[str, Any] = {
    "allowed": False,
    "explicitDeny": False,
    "matchedStatements": {"items": []},
    "context": {
        "principal": {"arn": "arn:aws:sts::111122223333:assumed-role/terraform/apply"},
        "action": "ec2:RunInstances",
        "resource": "arn:aws:ec2:us-east-1:111122223333:instance/*",
        "conditions": {
            "items": [
                {
                    "key": "ec2:InstanceProfile",
                    "values": {
                        "items": [{"value": "arn:aws:iam::111122223333:instance-profile/web"}]
                    },
                }
            ]
        },
    },
}


def _finding(failure: Failure, rule: str, decoded: dict[str, Any] | None = None) -> Finding:
    found = {f.rule: f for f in RULES.diagnose(failure, build_context(failure, decoded))}
    assert rule in found, sorted(found)
    return found[rule]


def _actions(finding: Finding) -> set[str]:
    out: set[str] = set()
    for fix in finding.fixes:
        for st in fix.statements:
            action = st["Action"]
            out.update([action] if isinstance(action, str) else action)
    return out


def test_instance_profile_in_context_adds_passrole_to_the_same_fix() -> None:
    """A decoded RunInstances naming an instance profile gets PassRole in the one identity fix."""
    failure = Failure(kind="decoded", source=SourceRef("-", 1), decoded=RUN_DECODED)
    finding = _finding(failure, "ec2-run-instances", RUN_DECODED)
    assert len(finding.fixes) == 1
    assert finding.fixes[0].applies_to == "arn:aws:iam::111122223333:role/terraform"
    passrole = [st for st in finding.fixes[0].statements if st["Action"] == "iam:PassRole"]
    assert passrole[0]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}
    }
    assert "instance profile arn:aws:iam::111122223333:instance-profile/web" in finding.explanation
    # Neither tags nor encryption were in the context: those statements stay out.
    assert not {"ec2:CreateTags", "kms:CreateGrant"} & _actions(finding)


def test_without_context_dependents_are_only_listed_not_granted() -> None:
    """A plain RunInstances message lists the dependent actions but grants only RunInstances."""
    failure = Failure(
        kind="plain",
        source=SourceRef("-", 1),
        principal_arn="arn:aws:iam::111122223333:user/ops",
        action="ec2:RunInstances",
        resource="arn:aws:ec2:eu-west-1:111122223333:subnet/subnet-0abc1234",
        policy_type="identity",
        explicit_deny=False,
    )
    finding = _finding(failure, "ec2-run-instances")
    assert _actions(finding) == {"ec2:RunInstances"}
    assert "you may next need ec2:CreateTags, iam:PassRole, ssm:GetParameters" in (
        finding.explanation
    )
    resources = finding.fixes[0].statements[0]["Resource"]
    assert "arn:aws:ec2:eu-west-1:111122223333:volume/*" in resources


def test_unknown_resource_wildcard_is_said_and_a_known_one_is_not() -> None:
    """The generic fix that falls back to "*" says so; with a resource ARN it stays quiet."""
    base = {
        "kind": "plain",
        "source": SourceRef("-", 1),
        "principal_arn": "arn:aws:iam::111122223333:user/app",
        "action": "kms:Decrypt",
        "policy_type": "identity",
        "explicit_deny": False,
    }
    unknown = _finding(Failure(**base), "identity-missing-allow")  # type: ignore[arg-type]
    assert unknown.fixes[0].statements[0]["Resource"] == "*"
    assert 'so the fix uses a wildcard ("*") there' in unknown.explanation
    known = _finding(
        Failure(**base, resource="arn:aws:kms:us-east-1:111122223333:key/k1"),  # type: ignore[arg-type]
        "identity-missing-allow",
    )
    assert "wildcard" not in known.explanation


RULE = """
id = "t-rule"
title = "t"
severity = "low"
status = "test"
description = "d"
explanation = "op {{operation|?}} needs {{operation_action:s3|?}}; deps {{dependent_actions|none}}."
[match]
{match}
[[fix]]
target = "identity"
applies_to = "arn:aws:iam::111122223333:user/u"
{fix_extra}
[[fix.statements]]
Effect = "Allow"
Action = "s3:GetObject"
Resource = "*"
[[case]]
name = "p"
expect = true
[case.failure]
operation = "HeadObject"
[[case]]
name = "n"
expect = false
[case.failure]
action = "s3:GetObject"
"""


def _write(tmp_path: Path, match: str, fix_extra: str = "") -> Path:
    (tmp_path / "t.toml").write_text(RULE.format(match=match, fix_extra=fix_extra))
    return tmp_path


def test_operation_action_and_has_action_describe_a_bare_operation(tmp_path: Path) -> None:
    """has_action=false matches an operation-only failure and operation_action names its action."""
    rs = RuleSet.load(
        [_write(tmp_path, 'has_action = false\nhas_principal = false\noperation = "Head*"')]
    )
    f = Failure(kind="plain", source=SourceRef("-", 1), operation="HeadObject")
    (finding,) = rs.diagnose(f, build_context(f))
    assert finding.explanation == "op HeadObject needs s3:GetObject; deps none."
    named = Failure(kind="plain", source=SourceRef("-", 1), action="s3:GetObject")
    assert rs.diagnose(named, build_context(named)) == ()


def test_fix_when_and_note_follow_the_context(tmp_path: Path) -> None:
    """A fix with `when` is offered, with its note, only when its matchers hold."""
    rs = RuleSet.load(
        [
            _write(
                tmp_path,
                'operation = "*"',
                'when = { error_code = "AccessDenied" }\nnote = "Note for {error_code}."',
            )
        ]
    )
    yes = Failure(kind="plain", source=SourceRef("-", 1), operation="X", error_code="AccessDenied")
    no = Failure(kind="plain", source=SourceRef("-", 1), operation="X", error_code="Other")
    (with_fix,) = rs.diagnose(yes, build_context(yes))
    (without,) = rs.diagnose(no, build_context(no))
    assert len(with_fix.fixes) == 1 and with_fix.explanation.endswith("Note for AccessDenied.")
    assert without.fixes == () and "Note for" not in without.explanation


def test_bad_when_and_misspelt_fix_field_are_lint_problems(tmp_path: Path) -> None:
    """lint names a bad matcher inside `when` and suggests `note` for `notes`."""
    _write(tmp_path, 'operation = "*"', 'when = { actoin = "s3:*" }\nnotes = "x"')
    problems = lint([tmp_path])
    assert any(
        "field fix[0].when.actoin: unknown matcher — did you mean 'action'?" in p for p in problems
    )
    assert any("field fix[0].notes: unknown field — did you mean 'note'?" in p for p in problems)


def test_line_cases_are_skipped_when_the_extractor_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without diagnostics.extract a `line` case passes as skipped instead of failing the run."""
    rule = RULES.get("s3-bare-denied-operation")
    assert rule is not None
    monkeypatch.setattr(cases_mod, "extractor_available", lambda: False)
    result = cases_mod.check_case(RULES, rule, 0, rule.cases[0])
    assert result.ok and result.message.startswith("skipped")


def test_every_core_rule_has_a_line_case() -> None:
    """The core and commonest rules carry at least one case built from a real log line."""
    want = {
        "identity-missing-allow",
        "explicit-deny",
        "scp-explicit-deny",
        "resource-missing-allow",
        "s3-bare-access-denied",
        "s3-bare-denied-operation",
        "session-token-from-role",
        "ec2-run-instances",
        "passrole-lambda",
        "decoder-denied",
    }
    with_lines = {r.id for r in RULES.rules if any("line" in c for c in r.cases)}
    assert want <= with_lines, want - with_lines
    assert lint([bundled_rules_dir()]) == []


@pytest.mark.parametrize(
    ("line", "rule", "phrase"),
    [
        (
            "An error occurred (AccessDenied) when calling the HeadObject operation: Forbidden",
            "s3-bare-denied-operation",
            "HeadObject is s3:GetObject",
        ),
        (
            "An error occurred (AccessDenied) when calling the GetSessionToken operation: "
            "Cannot call GetSessionToken with session credentials",
            "session-token-from-role",
            "no policy can allow it",
        ),
    ],
)
def test_scan_explains_bare_messages_end_to_end(
    tmp_path: Path, line: str, rule: str, phrase: str
) -> None:
    """`authz-diag scan --format json` explains a bare CLI error line with the right rule."""
    log = tmp_path / "cli.log"
    log.write_text(line + "\n")
    out = subprocess.run(
        [sys.executable, "-m", "diagnostics", "scan", "--no-decode", "--format", "json", str(log)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1, out.stderr
    (diagnosis,) = [json.loads(x) for x in out.stdout.splitlines()]
    findings = {f["rule"]: f for f in diagnosis["findings"]}
    assert set(findings) == {rule}
    assert phrase in findings[rule]["explanation"]
