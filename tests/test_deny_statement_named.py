"""An explicit deny's finding names the denying Sid and condition in JSON and Slack (class 12)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from diagnostics.alerts import group_key
from diagnostics.alerts.alert import Alert
from diagnostics.model import Diagnosis
from diagnostics.rules import RuleSet
from diagnostics.rules.cases import case_input, diagnose_case
from diagnostics.run.scan import scan
from diagnostics.sinks import build_payload


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return RuleSet.bundled()


def _items(*values: str) -> dict[str, Any]:
    return {"items": [{"value": v} for v in values]}


def _decoded(sid: str | None, key: str, value: str, action: str = "ec2:RunInstances") -> str:
    """The aws sts decode-authorization-message output for an explicit deny by one statement."""
    statement: dict[str, Any] = {
        "effect": "DENY",
        "principals": _items("AIDAEXAMPLE"),
        "notActions": _items("iam:EnableMFADevice", "iam:ListMFADevices", "sts:GetSessionToken"),
        "resources": _items("*"),
        "conditions": {"items": [{"key": key, "values": _items(value)}]},
    }
    if sid:
        statement["statementId"] = sid
    message = {
        "allowed": False,
        "explicitDeny": True,
        "matchedStatements": {"items": [statement]},
        "failures": {"items": []},
        "context": {
            "principal": {"id": "AIDAEXAMPLE", "arn": "arn:aws:iam::111122223333:user/alice"},
            "action": action,
            "resource": "arn:aws:ec2:us-east-1:111122223333:instance/*",
            "conditions": {"items": [{"key": key, "values": _items(value)}]},
        },
    }
    return orjson.dumps({"DecodedMessage": orjson.dumps(message).decode()}).decode() + "\n"


def _diagnose(tmp_path: Path, text: str, ruleset: RuleSet) -> Diagnosis:
    path = tmp_path / "decoded.json"
    path.write_text(text, encoding="utf-8")
    _, [d] = scan([str(path)], ruleset=ruleset, err=io.StringIO())
    return d


def test_mfa_deny_explanation_names_the_sid_and_condition_in_json_and_slack(
    tmp_path: Path, ruleset: RuleSet
) -> None:
    """DenyAllExceptListedIfNoMFA with aws:MultiFactorAuthPresent is named in JSON and Slack."""
    d = _diagnose(
        tmp_path,
        _decoded("DenyAllExceptListedIfNoMFA", "aws:MultiFactorAuthPresent", "false"),
        ruleset,
    )
    [finding] = d.to_json()["findings"]
    assert finding["rule"] == "mfa-required"
    wanted = (
        "statement 'DenyAllExceptListedIfNoMFA' (conditions: aws:MultiFactorAuthPresent in [false])"
    )
    assert wanted in finding["explanation"]
    alert = Alert(
        key=group_key(d),
        status="new",
        count=1,
        first_seen=1_700_000_000.0,
        last_seen=1_700_000_000.0,
        sources=("decoded.json:1",),
        samples=(),
        diagnosis=d,
        diagnoses=(d,),
        sources_total=1,
        new_count=1,
    )
    slack = orjson.dumps(build_payload(alert, "summary")).decode()
    assert "DenyAllExceptListedIfNoMFA" in slack
    assert "aws:MultiFactorAuthPresent in [false]" in slack


def test_a_rule_that_already_names_the_statement_does_not_repeat_it(
    tmp_path: Path, ruleset: RuleSet
) -> None:
    """The explicit-deny rule's own 'Matched:' sentence is not followed by a second copy."""
    d = _diagnose(tmp_path, _decoded("DenyOutsideEU", "aws:PrincipalOrgID", "o-abc123"), ruleset)
    explanations = [f.explanation for f in d.findings]
    assert explanations
    for text in explanations:
        assert text.count("DenyOutsideEU") == 1, text


def test_an_unnamed_denying_statement_is_described_by_its_condition(
    tmp_path: Path, ruleset: RuleSet
) -> None:
    """A Deny without a Sid is called an unnamed statement, with the condition that matched."""
    d = _diagnose(tmp_path, _decoded(None, "aws:MultiFactorAuthPresent", "false"), ruleset)
    [text] = [f.explanation for f in d.findings]
    assert "an unnamed statement (conditions: aws:MultiFactorAuthPresent in [false])" in text


def test_every_rule_case_with_a_named_deny_names_it_in_each_finding(ruleset: RuleSet) -> None:
    """Over every bundled rule case with a decoded Deny that has a Sid, each finding names it."""
    checked = 0
    missing = []
    for rule in ruleset.rules:
        for i, case in enumerate(rule.cases):
            _, decoded = case_input(rule, i, case)
            statements = (decoded or {}).get("matchedStatements", {}).get("items", [])
            sids = [
                st["statementId"]
                for st in statements
                if str(st.get("effect", "")).upper() == "DENY" and st.get("statementId")
            ]
            if not sids:
                continue
            _, findings = diagnose_case(ruleset, rule, i, case)
            for finding in findings:
                checked += 1
                missing += [
                    f"{rule.id} case {i}: {finding.rule} lacks {s}"
                    for s in sids
                    if s not in finding.explanation
                ]
    assert checked >= 5  # the bundled cases do exercise named denies
    assert not missing, missing


def test_a_rule_naming_only_the_sid_still_gets_the_condition(tmp_path: Path) -> None:
    """A user rule whose text names the Sid but not its condition gets the condition added."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "eu-only.toml").write_text(
        """id = "eu-only"
title = "The EU-only statement matched"
severity = "medium"
status = "stable"
description = "Our organization's DenyOutsideEU statement."
references = []
falsepositives = []
explanation = "DenyOutsideEU matched: run this in an EU region."
supersedes = ["explicit-deny"]

[match]
explicit_deny = true

[[case]]
name = "the EU statement"
expect = true
[case.failure]
principal_arn = "arn:aws:iam::111122223333:user/alice"
action = "s3:GetObject"
explicit_deny = true

[[case]]
name = "an implicit deny is not this rule's"
expect = false
[case.failure]
principal_arn = "arn:aws:iam::111122223333:user/alice"
action = "s3:GetObject"
explicit_deny = false
""",
        encoding="utf-8",
    )
    from diagnostics.rules import bundled_rules_dir

    ruleset = RuleSet.load([bundled_rules_dir(), rules])
    d = _diagnose(tmp_path, _decoded("DenyOutsideEU", "aws:RequestedRegion", "us-east-1"), ruleset)
    [text] = [f.explanation for f in d.findings if f.rule == "eu-only"]
    assert text.startswith("DenyOutsideEU matched: run this in an EU region.")
    assert "(conditions: aws:RequestedRegion in [us-east-1])" in text
