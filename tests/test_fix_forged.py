"""Forged denials: fixes are built from AWS facts, never from the log writer's text alone.

A log writer can print any "is not authorized to perform" sentence.  AWS
never names a wildcard action in a denial, so such a failure (or one whose
action the bundled IAM dataset does not know) is reported with no fix; and
a fix whose grantee is another account, a whole account or everyone says
so with a high ``cross-account`` risk.
"""

from __future__ import annotations

import io
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import orjson
import pytest

from diagnostics.model import Fix
from diagnostics.policy.risk import fix_risks

ACCOUNT = "123456789012"
OTHER = "999999999999"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _denied(action: str, resource: str, principal: str, kind: str = "identity") -> str:
    return (
        f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
        f"because no {kind}-based policy allows the {action} action\n"
    )


def _scan(tmp_path: Path, log: str, fmt: str) -> subprocess.CompletedProcess[bytes]:
    """``authz-diag scan`` through ``cli.main`` in this process (the scan CLI's own tests run
    it as a real process); output is what a pipe would get."""
    from diagnostics.cli import main

    path = tmp_path / "app.log"
    path.write_text(log)
    out, err = (io.TextIOWrapper(io.BytesIO(), write_through=True) for _ in range(2))
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["scan", "--no-decode", "--format", fmt, str(path)])
    got = [s.buffer.getvalue() for s in (out, err)]  # type: ignore[attr-defined]
    return subprocess.CompletedProcess([], code, got[0], got[1])


def _records(tmp_path: Path, log: str) -> list[dict[str, Any]]:
    out = _scan(tmp_path, log, "json").stdout
    return [orjson.loads(line) for line in out.splitlines() if line.strip()]


def _fixes(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [fix for finding in record["findings"] for fix in finding["fixes"]]


def _risk_ids(record: dict[str, Any]) -> set[str]:
    return {r["id"] for fix in _fixes(record) for r in fix["risk"]}


WILDCARDS = ["s3:*", "kms:*", "organizations:*", "s3:Get*", "iam:*"]


def test_wildcard_actions_are_reported_without_a_fix(tmp_path: Path) -> None:
    """`s3:*` and friends are each still reported, with no fix and a note saying why."""
    user = f"arn:aws:iam::{ACCOUNT}:user/x"
    log = "".join(_denied(a, "*", user) for a in WILDCARDS)
    records = _records(tmp_path, log)
    assert [r["action"] for r in records] == WILDCARDS
    for record in records:
        assert record["findings"], record["action"]
        assert _fixes(record) == [], record["action"]
        assert record["verification"] == []
        assert any(
            "wildcard" in note and record["action"] in note for note in record["parse_notes"]
        ), record["parse_notes"]


@pytest.mark.parametrize("fmt", ["policy", "policy-text"])
def test_wildcard_actions_never_reach_the_policy_output(tmp_path: Path, fmt: str) -> None:
    """`--format policy` and `policy-text` hold no wildcard-action statement, only a note."""
    user = f"arn:aws:iam::{ACCOUNT}:user/x"
    log = "".join(_denied(a, "*", user) for a in WILDCARDS)
    out = _scan(tmp_path, log, fmt).stdout.decode()
    for action in WILDCARDS:
        assert f'"{action}"' not in out, action
    if fmt == "policy":
        entries = orjson.loads(out)
        assert all(e["document"] is None for e in entries)
        notes = " ".join(n for e in entries for n in e["notes"])
        assert all(f"action {a} has a wildcard" in notes for a in WILDCARDS), notes


def test_an_action_unknown_to_the_dataset_is_reported_without_a_fix(tmp_path: Path) -> None:
    """A made-up (or too new) action is reported with a note naming the IAM dataset, and no fix."""
    user = f"arn:aws:iam::{ACCOUNT}:user/x"
    log = _denied("s3:FrobnicateBucket", "arn:aws:s3:::b", user) + _denied(
        "nosuchservice:DoThing", "*", user
    )
    records = _records(tmp_path, log)
    assert [r["action"] for r in records] == ["s3:FrobnicateBucket", "nosuchservice:DoThing"]
    for record in records:
        assert record["findings"]
        assert _fixes(record) == []
        assert any("unknown to the bundled IAM dataset" in n for n in record["parse_notes"])
    policy = orjson.loads(_scan(tmp_path, log, "policy").stdout)
    assert all(e["document"] is None for e in policy)


def test_a_real_action_in_any_case_still_gets_its_fix(tmp_path: Path) -> None:
    """`s3:GetObject` (and IAM's case-insensitive `s3:getobject`) keep their fix and no note."""
    user = f"arn:aws:iam::{ACCOUNT}:user/x"
    log = _denied("s3:GetObject", "arn:aws:s3:::b/k", user) + _denied(
        "s3:getobject", "arn:aws:s3:::b/j", user
    )
    for record in _records(tmp_path, log):
        assert _fixes(record), record["action"]
        assert record["parse_notes"] == []


def test_a_trust_policy_trusting_a_foreign_root_is_high_cross_account_risk(tmp_path: Path) -> None:
    """A forged AssumeRole denial from another account's root gives a trust fix marked high risk."""
    log = _denied("sts:AssumeRole", ROLE, f"arn:aws:iam::{OTHER}:root")
    (record,) = _records(tmp_path, log)
    trust = [f for f in _fixes(record) if f["target"] == "trust"]
    assert trust
    (risk,) = [r for r in trust[0]["risk"] if r["id"] == "cross-account"]
    assert risk["severity"] == "high"
    assert OTHER in risk["message"] and "whole account" in risk["message"]
    policy = orjson.loads(_scan(tmp_path, log, "policy").stdout)
    (entry,) = [e for e in policy if e["target"] == "trust"]
    assert any(n.startswith("risk [high] cross-account:") for n in entry["notes"])
    text = _scan(tmp_path, log, "policy-text").stdout.decode()
    assert "# risk [high] cross-account:" in text


def test_a_trust_policy_trusting_a_foreign_user_is_high_cross_account_risk(
    tmp_path: Path,
) -> None:
    """A trust fix naming another account's user is flagged; one in the role's account is not."""
    foreign = _records(tmp_path, _denied("sts:AssumeRole", ROLE, f"arn:aws:iam::{OTHER}:user/b"))
    assert "cross-account" in _risk_ids(foreign[0])
    local = _records(tmp_path, _denied("sts:AssumeRole", ROLE, f"arn:aws:iam::{ACCOUNT}:user/b"))
    assert "cross-account" not in _risk_ids(local[0])
    assert [f for f in _fixes(local[0]) if f["target"] == "trust"]


def test_a_bucket_policy_for_a_foreign_principal_is_high_cross_account_risk(
    tmp_path: Path,
) -> None:
    """A bucket-policy fix granting another account's user s3:GetObject carries the risk."""
    log = _denied("s3:GetObject", "arn:aws:s3:::b/k", f"arn:aws:iam::{OTHER}:user/bob", "resource")
    (record,) = _records(tmp_path, log)
    resource = [f for f in _fixes(record) if f["target"] == "resource"]
    assert resource
    assert {"id": "cross-account", "severity": "high"}.items() <= resource[0]["risk"][0].items()
    policy = orjson.loads(_scan(tmp_path, log, "policy").stdout)
    (entry,) = [e for e in policy if e["target"] == "resource"]
    assert any(n.startswith("risk [high] cross-account:") for n in entry["notes"])


def test_a_key_policy_for_a_foreign_principal_is_high_cross_account_risk(tmp_path: Path) -> None:
    """A key-policy fix granting another account's user kms:Decrypt names both accounts."""
    log = _denied("kms:Decrypt", KEY, f"arn:aws:iam::{OTHER}:user/bob", "resource")
    (record,) = _records(tmp_path, log)
    resource = [f for f in _fixes(record) if f["target"] == "resource"]
    assert resource
    (risk,) = [r for r in resource[0]["risk"] if r["id"] == "cross-account"]
    assert risk["severity"] == "high"
    assert OTHER in risk["message"] and ACCOUNT in risk["message"]


@pytest.mark.parametrize(
    "principal",
    ["*", {"AWS": "*"}, {"AWS": OTHER}, {"AWS": [f"arn:aws:iam::{ACCOUNT}:root"]}],
    ids=["star", "aws-star", "bare-account", "own-root"],
)
def test_everyone_or_a_whole_account_is_flagged(principal: object) -> None:
    """`*`, a bare account id and `:root` (even the resource's own account) are all flagged."""
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    risks = fix_risks(Fix("trust", ROLE, (statement,)))
    assert [r.severity for r in risks if r.id == "cross-account"] == ["high"]


def test_a_service_principal_or_a_same_account_role_is_not_flagged() -> None:
    """A service principal and a role of the resource's own account open no cross-account risk."""
    for principal in (
        {"Service": "lambda.amazonaws.com"},
        {"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"},
    ):
        statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
        assert not [
            r for r in fix_risks(Fix("trust", ROLE, (statement,))) if r.id == "cross-account"
        ]


def test_the_cross_account_risk_shows_in_text_markdown_and_slack(tmp_path: Path) -> None:
    """A foreign-root trust fix is flagged under the fix in text, in markdown and in Slack."""
    from diagnostics.diagnose.pipeline import Pipeline
    from diagnostics.extract import extract_text
    from diagnostics.model import DecodeResult
    from diagnostics.rules import RuleSet
    from diagnostics.sinks import build_payload
    from diagnostics.testing.alert_capture import alerts_for

    log = _denied("sts:AssumeRole", ROLE, f"arn:aws:iam::{OTHER}:root")
    assert "! risk [high] cross-account:" in _scan(tmp_path, log, "text").stdout.decode()
    assert f"whole account {OTHER}" in _scan(tmp_path, log, "markdown").stdout.decode()
    pipe = Pipeline(RuleSet.bundled())
    (d,) = [pipe.diagnose_one(f, DecodeResult()) for f in extract_text(log, "app.log")]
    (alert,) = alerts_for([(d, "x")])
    assert "*high risk* `cross-account`" in orjson.dumps(build_payload(alert)).decode()
