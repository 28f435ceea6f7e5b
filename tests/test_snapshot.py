"""Policy snapshots: explain --policies attributes the example denials and fixes them as edits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from diagnostics.model import RequestContext
from diagnostics.snapshot.edits import apply_edit
from diagnostics.snapshot.evaluate import evaluate_request
from diagnostics.snapshot.read import load_snapshot, parse_snapshot

ROOT = Path(__file__).resolve().parents[1]
GAAD = ROOT / "examples" / "gaad-acme.json"


def _explain(*args: str) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "diagnostics", "explain", "--format", "json", *args],
        capture_output=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return [orjson.loads(line) for line in out.splitlines() if line.strip()]


def _allowed_after_edit(fix: dict, action: str, resource: str, principal: str) -> bool:
    from diagnostics.model import FixEdit

    snap = load_snapshot([GAAD])
    edited = apply_edit(snap, FixEdit(**fix["edit"]))
    ctx = RequestContext(action, resource, principal, "111122223333", region="us-east-1")
    before = evaluate_request(snap, ctx)
    after = evaluate_request(edited, ctx)
    assert before is not None and not before.allowed
    return after is not None and after.allowed


def test_an_identity_implicit_deny_names_the_nearest_statement_and_edits_it() -> None:
    """s3:PutObject to prod: the inline statement for staging is the nearest, edited to add prod."""
    [put] = [
        d
        for d in _explain("--policies", str(GAAD), "examples/terraform-apply.log")
        if d["action"] == "s3:PutObject"
    ]
    finding = put["findings"][0]
    assert finding["rule"] == "snapshot-implicit-deny"
    assert finding["title"] == (
        "s3:PutObject denied by the identity-based policies of "
        "arn:aws:iam::111122223333:role/ci-deployer (no statement allows s3:PutObject)"
    )
    [fix] = finding["fixes"]
    assert fix["edit"]["policy_name"] == "deploy-artifacts"
    assert fix["edit"]["entity"] == "arn:aws:iam::111122223333:role/ci-deployer"
    assert fix["edit"]["sid"] == "PutArtifacts"
    assert fix["edit"]["after"] == {
        "Sid": "PutArtifacts",
        "Effect": "Allow",
        "Action": ["s3:PutObject", "s3:GetObject"],
        "Resource": [
            "arn:aws:s3:::acme-artifacts-staging/*",
            "arn:aws:s3:::acme-artifacts-prod/releases/app-1.4.2.tgz",
        ],
    }
    assert fix["statements"][0]["Action"] == "s3:PutObject"  # the add-a-statement form stays
    assert put["verification"][0]["checker"] == "snapshot"
    assert put["verification"][0]["status"] == "allows"
    assert _allowed_after_edit(
        fix,
        "s3:PutObject",
        "arn:aws:s3:::acme-artifacts-prod/releases/app-1.4.2.tgz",
        "arn:aws:sts::111122223333:assumed-role/ci-deployer/GitHubActions",
    )


def test_a_bare_cloudtrail_denial_gets_its_layer_from_the_snapshot() -> None:
    """CloudTrail's bare Access Denied on s3:ListBucket is the backup role's boundary's doing."""
    trail = next((ROOT / "examples" / "cloudtrail").rglob("*.json.gz"))
    [listing] = [
        d for d in _explain("--policies", str(GAAD), str(trail)) if d["action"] == "s3:ListBucket"
    ]
    finding = listing["findings"][0]
    assert finding["title"] == (
        "s3:ListBucket denied by permissions boundary "
        "arn:aws:iam::111122223333:policy/backup-boundary (no statement allows s3:ListBucket)"
    )
    [fix] = finding["fixes"]
    assert fix["target"] == "permissions_boundary"
    assert fix["edit"]["policy_arn"] == "arn:aws:iam::111122223333:policy/backup-boundary"
    assert fix["edit"]["after"]["Action"] == ["s3:GetObject", "ec2:*", "s3:ListBucket"]
    assert _allowed_after_edit(
        fix,
        "s3:ListBucket",
        "arn:aws:s3:::partner-exports",
        "arn:aws:sts::111122223333:assumed-role/backup-job/backup-job",
    )


def test_a_message_the_snapshot_contradicts_says_the_snapshot_may_be_stale() -> None:
    """CloudTrail says identity denied s3:GetObject; the snapshot's identity policy allows it."""
    trail = next((ROOT / "examples" / "cloudtrail").rglob("*.json.gz"))
    [get] = [
        d for d in _explain("--policies", str(GAAD), str(trail)) if d["action"] == "s3:GetObject"
    ]
    assert get["findings"][0]["rule"] == "snapshot-allows"
    assert "may be stale" in get["findings"][0]["explanation"]


def test_the_policy_format_prints_the_whole_edited_document() -> None:
    """scan --format policy --policies prints the inline policy with the edit in place."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "diagnostics",
            "scan",
            "--no-decode",
            "--format",
            "policy",
            "--policies",
            str(GAAD),
            "examples/terraform-apply.log",
        ],
        capture_output=True,
        check=False,  # exit status 1: failures were found
        cwd=ROOT,
    ).stdout
    entries = orjson.loads(out)
    first = entries[0]
    assert (
        first["applies_to"]
        == "inline deploy-artifacts on arn:aws:iam::111122223333:role/ci-deployer"
    )
    sids = [s["Sid"] for s in first["document"]["Statement"]]
    assert sids == ["PutArtifacts", "LaunchInEurope"]
    assert first["document"]["Statement"][1]["Condition"] == {
        "StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}
    }
    assert not any(e["document"] is None and "ci-deployer" in str(e["applies_to"]) for e in entries)


def test_the_raw_api_form_with_url_encoded_documents_is_a_snapshot() -> None:
    """GetAccountAuthorizationDetails' raw answer (URL-encoded documents) reads like the CLI's."""
    doc = (
        "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A"
        "%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D"
    )
    snap = parse_snapshot(
        {
            "RoleDetailList": [
                {
                    "RoleName": "r",
                    "Arn": "arn:aws:iam::111122223333:role/r",
                    "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": doc}],
                }
            ]
        },
        "raw.json",
    )
    ctx = RequestContext(
        "s3:GetObject", "arn:aws:s3:::b/k", "arn:aws:iam::111122223333:role/r", None
    )
    layered = evaluate_request(snap, ctx)
    assert layered is not None and layered.allowed


def test_a_file_that_is_no_snapshot_is_refused_with_what_to_give() -> None:
    """--policies on a decoded message says which JSON it wants."""
    from diagnostics.errors import InputError

    with pytest.raises(InputError, match="get-account-authorization-details"):
        load_snapshot([ROOT / "examples" / "decoded-message.json"])
