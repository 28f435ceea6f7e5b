"""``scan`` resolves an authorization ID against the loopback iam-toolbox double and the
diagnosis comes from the answer: attribution, per-evaluation fixes, all-layer re-check."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import toolbox_shapes as shapes

from diagnostics.testing.toolbox_double import ToolboxDouble

AUTHZ_DIAG = str(Path(sys.executable).parent / "authz-diag")
ID = "r7k2m9x4q1c8v3b6n0z5"
INSTANCE = "arn:aws:ec2:eu-west-1:111122223333:instance/*"
# The shape of an EC2 error with the Access Troubleshooter suffix, as the CLI prints it.
LOG = (
    "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: "
    f"User: {shapes.SESSION} is not authorized to perform: ec2:RunInstances on resource: "
    f"{INSTANCE} because no identity-based policy allows the iam:PassRole action. "
    "Go to https://eu-west-1.console.aws.amazon.com/iam/home?region=eu-west-1#/"
    f"authorization-details/{ID} for complete details, or call the "
    f"GetRequestAuthorizationDetails API with the following authorization id: {ID}\n"
)


@pytest.fixture
def toolbox() -> Iterator[ToolboxDouble]:
    with ToolboxDouble() as double:
        yield double


def _scan(toolbox: ToolboxDouble, log: Path, *extra: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="AKIAEXAMPLETEST00001", AWS_SECRET_ACCESS_KEY="secret-for-tests")
    return subprocess.run(
        [AUTHZ_DIAG, "scan", "--region", "eu-west-1", "--toolbox-endpoint-url",
         toolbox.endpoint_url, *extra, str(log)],
        capture_output=True, timeout=120, env=env, check=False,
    )  # fmt: skip


def test_scan_fixes_each_denied_evaluation_of_run_instances(
    toolbox: ToolboxDouble, tmp_path: Path
) -> None:
    """A RunInstances denial resolved over HTTP gets the role fixes for PassRole and CreateTags."""
    answer = shapes.run_instances()
    documents = answer.pop("documents")
    toolbox.add_details(ID, answer, documents)
    log = tmp_path / "deploy.log"
    log.write_text(LOG)
    out = _scan(toolbox, log, "--format", "json")
    assert out.returncode == 1, out.stderr.decode()
    (obj,) = [orjson.loads(line) for line in out.stdout.splitlines()]
    assert obj["authorization_id"] == ID and obj["authorization_error"] is None
    assert obj["authorization_details"]["evaluations"][1]["action"] == "iam:PassRole"
    fixes = [fix for f in obj["findings"] for fix in f["fixes"]]
    assert [(f["target"], f["applies_to"]) for f in fixes] == [("identity", shapes.ROLE)] * 2
    assert [f["statements"][0]["Action"] for f in fixes] == ["iam:PassRole", "ec2:CreateTags"]
    assert [v["status"] for v in obj["verification"]] == ["allows", "allows"]


def test_scan_text_names_the_scp_statement_and_ou(toolbox: ToolboxDouble, tmp_path: Path) -> None:
    """An SCP denial resolved over HTTP is explained with the SCP, its Sid and OU, no Allow."""
    answer = shapes.scp_explicit_deny()
    documents = answer.pop("documents")
    toolbox.add_details(ID, answer, documents)
    log = tmp_path / "deploy.log"
    log.write_text(
        LOG.replace("ec2:RunInstances", "s3:CreateBucket")
        .replace("because no identity-based policy allows the iam:PassRole action", "with an "
                 "explicit deny in a service control policy")
        .replace(INSTANCE, shapes.BUCKET)
    )  # fmt: skip
    out = _scan(toolbox, log)
    text = out.stdout.decode()
    assert out.returncode == 1, out.stderr.decode()
    assert "denied by SCP p-7q3x9k2m at ou-ab12-workloads (statement DenyOutsideRegions)" in text
    assert "Fix:" not in text
    assert "The denying statement" in " ".join(text.split())
