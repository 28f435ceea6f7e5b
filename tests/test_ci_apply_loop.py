"""docs/ci.md's apply loop sends each --format policy document to the call its target needs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "111122223333"
SET_ARN = "arn:aws:sso:::permissionSet/ssoins-1111/ps-admin"
EXISTING = {
    "Version": "2012-10-17",
    "Statement": {
        "Sid": "Existing",
        "Effect": "Allow",
        "Action": "s3:ListAllMyBuckets",
        "Resource": "*",
    },
}

LOG = "\n".join(
    [
        "An error occurred (AccessDeniedException) when calling the PutItem operation: User: "
        f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com"
        " is not authorized to perform: dynamodb:PutItem on resource: "
        f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders because no identity-based policy "
        "allows the dynamodb:PutItem action",
        "An error occurred (AccessDenied) when calling the GetObject operation: User: "
        f"arn:aws:iam::{ACCOUNT}:user/alice is not authorized to perform: s3:GetObject on "
        'resource: "arn:aws:s3:::data/report.csv" because no identity-based policy allows the '
        "s3:GetObject action",
        "An error occurred (AccessDeniedException) when calling the Query operation: User: "
        f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-deployer/run-7 is not authorized to perform: "
        f"dynamodb:Query on resource: arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders because "
        "no identity-based policy allows the dynamodb:Query action",
    ]
)

# A stand-in for the AWS CLI: records each call, answers the sso-admin lookups.
FAKE_AWS = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["AWS_CALLS"], "a") as out:
    out.write(json.dumps(args) + "\\n")
op = " ".join(args[:2])
if op == "sso-admin list-instances":
    print("arn:aws:sso:::instance/ssoins-1111")
elif op == "sso-admin list-permission-sets":
    print("arn:aws:sso:::permissionSet/ssoins-1111/ps-read\\t{set_arn}")
elif op == "sso-admin describe-permission-set":
    print("Admin" if args[args.index("--permission-set-arn") + 1] == "{set_arn}" else "ReadOnly")
elif op == "sso-admin get-inline-policy-for-permission-set":
    print({existing!r})
"""


def _loop() -> str:
    text = (ROOT / "docs" / "ci.md").read_text()
    section = text.split("## The policy file", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match is not None, "docs/ci.md's policy-file section has no sh block"
    return match.group(1)


def _calls(tmp_path: Path) -> list[list[str]]:
    (tmp_path / "deny.log").write_text(LOG + "\n")
    scan = subprocess.run(
        [sys.executable, "-m", "diagnostics", "scan", "--format", "policy", "deny.log"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert scan.returncode == 1, scan.stderr
    (tmp_path / "authz-fixes.json").write_text(scan.stdout)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "aws"
    fake.write_text(
        FAKE_AWS.format(python=sys.executable, set_arn=SET_ARN, existing=json.dumps(EXISTING))
    )
    fake.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "AWS_CALLS": str(tmp_path / "calls.jsonl"),
    }
    subprocess.run(["bash", "-c", _loop()], cwd=tmp_path, env=env, check=True)
    return [json.loads(x) for x in (tmp_path / "calls.jsonl").read_text().splitlines()]


def _arg(call: list[str], name: str) -> str:
    return call[call.index(name) + 1]


def _policy(call: list[str], name: str) -> Any:
    return json.loads(_arg(call, name))


@pytest.mark.skipif(shutil.which("jq") is None, reason="the documented loop uses jq")
def test_each_target_gets_its_own_call(tmp_path: Path) -> None:
    """A role gets put-role-policy, a user put-user-policy, a permission set sso-admin steps."""
    calls = _calls(tmp_path)
    ops = [" ".join(c[:2]) for c in calls]
    (role,) = [c for c in calls if c[:2] == ["iam", "put-role-policy"]]
    assert _arg(role, "--role-name") == "ci-deployer"
    (user,) = [c for c in calls if c[:2] == ["iam", "put-user-policy"]]
    assert _arg(user, "--user-name") == "alice"
    assert _policy(user, "--policy-document")["Statement"][0]["Action"] == "s3:GetObject"
    # Never the user's name as a role, never the reserved SSO role.
    names = [_arg(c, "--role-name") for c in calls if c[:2] == ["iam", "put-role-policy"]]
    assert names == ["ci-deployer"]
    (put,) = [c for c in calls if c[:2] == ["sso-admin", "put-inline-policy-to-permission-set"]]
    assert _arg(put, "--permission-set-arn") == SET_ARN
    merged = _policy(put, "--inline-policy")["Statement"]
    assert merged[0].get("Sid") == "Existing"
    assert any(s["Action"] == "dynamodb:PutItem" for s in merged)
    (provision,) = [c for c in calls if c[:2] == ["sso-admin", "provision-permission-set"]]
    assert _arg(provision, "--permission-set-arn") == SET_ARN
    assert ops.index("sso-admin put-inline-policy-to-permission-set") < ops.index(
        "sso-admin provision-permission-set"
    )
