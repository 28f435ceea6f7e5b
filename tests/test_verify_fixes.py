"""Tests for proving fixes: the built-in evaluator always, SimulateCustomPolicy with --verify."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from diagnostics.diagnose.verify import check_fixes
from diagnostics.model import Diagnosis, Failure, Finding, Fix, SourceRef
from diagnostics.testing.iam_double import IamDouble

AUTHZ_DIAG = str(Path(sys.executable).parent / "authz-diag")
ROLE = "arn:aws:iam::111122223333:role/app"
TABLE = "arn:aws:dynamodb:us-east-1:111122223333:table/Orders"


def _diag(statement: dict[str, object]) -> Diagnosis:
    failure = Failure(
        kind="plain",
        source=SourceRef("-"),
        principal_arn="arn:aws:sts::111122223333:assumed-role/app/s",
        account_id="111122223333",
        action="dynamodb:GetItem",
        resource=TABLE,
    )
    fix = Fix("identity", ROLE, (statement,))
    return Diagnosis(failure, findings=(Finding("r", "t", "medium", "e", (fix,)),))


def test_a_fix_that_covers_the_request_is_marked_allows() -> None:
    """The evaluator confirms a statement naming the exact action and table."""
    stmt = {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE}
    [entry] = check_fixes(_diag(stmt)).verification
    assert entry.checker == "evaluator" and entry.status == "allows"


def test_a_fix_for_another_resource_is_flagged() -> None:
    """A statement on a different table is reported as not covering the request."""
    stmt = {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE + "2"}
    [entry] = check_fixes(_diag(stmt)).verification
    assert entry.status == "does_not_cover"


def test_verify_flag_asks_the_simulator_over_http() -> None:
    """`scan --verify` runs SimulateCustomPolicy through boto3 and reports its answer."""
    line = (
        "User: arn:aws:sts::111122223333:assumed-role/app/s is not authorized to perform: "
        f"dynamodb:GetItem on resource: {TABLE} because no identity-based policy allows "
        "the dynamodb:GetItem action\n"
    )
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIAEXAMPLEVERIFY01", AWS_SECRET_ACCESS_KEY="x")
    with IamDouble() as iam:
        proc = subprocess.run(
            [
                AUTHZ_DIAG,
                "scan",
                "--no-decode",
                "--format",
                "json",
                "--verify",
                "--iam-endpoint-url",
                iam.endpoint_url,
                "-",
            ],
            input=line.encode(),
            capture_output=True,
            timeout=60,
            env=env,
            check=False,
        )
        assert proc.returncode == 1, proc.stderr
        obj = orjson.loads(proc.stdout.splitlines()[0])
        checkers = {(v["checker"], v["status"]) for v in obj["verification"]}
        assert ("evaluator", "allows") in checkers
        assert ("simulator", "allowed") in checkers
        assert len(iam.calls()) >= 1


def test_verify_without_credentials_says_why_and_continues() -> None:
    """With no credentials --verify reports 'unavailable' and the scan still succeeds."""
    line = (
        "User: arn:aws:iam::111122223333:user/bob is not authorized to perform: "
        f"dynamodb:GetItem on resource: {TABLE} because no identity-based policy allows "
        "the dynamodb:GetItem action\n"
    )
    proc = subprocess.run(
        [AUTHZ_DIAG, "scan", "--no-decode", "--verify", "-"],
        input=line.encode(),
        capture_output=True,
        timeout=60,
        check=False,
        env=dict(os.environ),
    )
    assert proc.returncode == 1
    assert "cannot verify: no AWS credentials" in proc.stdout.decode()


def test_a_condition_the_log_cannot_show_is_reported_as_unchecked() -> None:
    """An iam:PassedToService condition is neither proved nor failed: the status says so."""
    failure = Failure(
        kind="plain",
        source=SourceRef("-"),
        principal_arn="arn:aws:iam::111122223333:user/ci",
        account_id="111122223333",
        action="iam:PassRole",
        resource="arn:aws:iam::111122223333:role/app",
    )
    stmt = {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": "arn:aws:iam::111122223333:role/app",
        "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
    }
    fix = Fix("identity", "arn:aws:iam::111122223333:user/ci", (stmt,))
    diag = Diagnosis(failure, findings=(Finding("r", "t", "medium", "e", (fix,)),))
    [entry] = check_fixes(diag).verification
    assert entry.status == "allows_if_conditions_hold"
    assert "could not be checked" in entry.message
