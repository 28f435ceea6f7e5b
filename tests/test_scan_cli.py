"""End-to-end tests of ``authz-diag scan`` as a subprocess: inputs, formats, exit codes."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

REPO = Path(__file__).resolve().parents[1]
AUTHZ_DIAG = str(Path(sys.executable).parent / "authz-diag")

PLAIN = (
    "An error occurred (AccessDenied) when calling the GetObject operation: "
    "User: arn:aws:sts::111122223333:assumed-role/app/i-0abc is not authorized to perform: "
    's3:GetObject on resource: "arn:aws:s3:::acme-data/reports/q3.csv" '
    "because no identity-based policy allows the s3:GetObject action\n"
)


def scan(
    *args: str, stdin: bytes | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [AUTHZ_DIAG, "scan", *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        cwd=cwd,
        env=dict(os.environ),
        check=False,
    )


def json_lines(proc: subprocess.CompletedProcess[bytes]) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_stdin_with_a_failure_exits_1_and_prints_the_fix() -> None:
    """`... 2>&1 | authz-diag scan -` finds the denial and prints the statement to add."""
    proc = scan("-", "--no-decode", stdin=PLAIN.encode())
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout.decode()
    assert "s3:GetObject" in out
    assert "arn:aws:iam::111122223333:role/app" in out  # the role, not the session
    assert '"Resource": "arn:aws:s3:::acme-data/reports/q3.csv"' in out


def test_stdin_is_the_default_when_piped() -> None:
    """With no PATH and a pipe on stdin, scan reads stdin."""
    proc = scan("--no-decode", "--format", "json", stdin=PLAIN.encode())
    assert proc.returncode == 1
    [obj] = json_lines(proc)
    assert obj["source"] == {"path": "-", "line": 1, "offset": 0}


def test_clean_input_exits_0() -> None:
    """A log with no failure prints nothing and exits 0."""
    proc = scan("-", "--no-decode", stdin=b"INFO all good\nWARN access denied counter reset\n")
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout == b""


def test_missing_path_exits_2_and_says_so() -> None:
    """A path that does not exist is an input error with a message, not a traceback."""
    proc = scan("--no-decode", "no/such/file.log")
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "no/such/file.log" in err and "Traceback" not in err


def test_no_input_on_a_terminal_is_a_usage_error(tmp_path: Path) -> None:
    """Without PATH and without a pipe, scan explains how to call it (exit 2)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.stdin.isatty = lambda: True; "
            "from diagnostics.cli import main; raise SystemExit(main(['scan']))",
        ],
        capture_output=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    assert b"terraform apply 2>&1 | authz-diag scan -" in proc.stderr


def test_json_output_has_every_contract_field_in_input_order(tmp_path: Path) -> None:
    """JSON lines carry the output contract's fields, in input order across files of a directory."""
    (tmp_path / "a.log").write_text("noise\n" + PLAIN)
    (tmp_path / "b.log").write_text(PLAIN.replace("q3.csv", "q4.csv"))
    proc = scan("--no-decode", "--format", "json", str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    objs = json_lines(proc)
    assert [o["resource"] for o in objs] == [
        "arn:aws:s3:::acme-data/reports/q3.csv",
        "arn:aws:s3:::acme-data/reports/q4.csv",
    ]
    fields = {
        "kind",
        "source",
        "principal_arn",
        "account_id",
        "action",
        "resource",
        "policy_type",
        "policy_arn",
        "explicit_deny",
        "encoded_message",
        "truncated",
        "decoded",
        "decode_error",
        "findings",
    }
    assert fields <= objs[0].keys()
    assert objs[0]["source"]["line"] == 2
    assert objs[0]["account_id"] == "111122223333"
    assert objs[0]["policy_type"] == "identity" and objs[0]["explicit_deny"] is False


def test_cloudtrail_gz_in_a_directory_is_found(tmp_path: Path) -> None:
    """A CloudTrail .json.gz delivery inside a directory tree yields cloudtrail failures."""
    record = {
        "eventVersion": "1.09",
        "eventSource": "s3.amazonaws.com",
        "eventName": "ListObjectsV2",
        "awsRegion": "us-east-1",
        "eventID": "e-1",
        "errorCode": "AccessDenied",
        "errorMessage": "Access Denied",
        "recipientAccountId": "111122223333",
        "userIdentity": {
            "type": "IAMUser",
            "arn": "arn:aws:iam::111122223333:user/bob",
            "accountId": "111122223333",
        },
        "requestParameters": {"bucketName": "partner-exports"},
    }
    ok = {**record, "eventID": "e-2"}
    del ok["errorCode"], ok["errorMessage"]
    deep = tmp_path / "AWSLogs" / "111122223333" / "CloudTrail" / "us-east-1" / "2026" / "11" / "27"
    deep.mkdir(parents=True)
    with gzip.open(deep / "d.json.gz", "wb") as f:
        f.write(orjson.dumps({"Records": [ok, record]}))
    proc = scan("--no-decode", "--format", "json", str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    [obj] = json_lines(proc)
    assert obj["kind"] == "cloudtrail"
    assert obj["source"]["event_id"] == "e-1"
    assert obj["action"] == "s3:ListBucket"  # ListObjectsV2 is authorized as s3:ListBucket
    assert obj["principal_arn"] == "arn:aws:iam::111122223333:user/bob"


def test_repeats_are_reported_once() -> None:
    """The same message printed three times (Packer does this) is one diagnosis."""
    proc = scan("-", "--no-decode", "--format", "json", stdin=(PLAIN * 3).encode())
    assert len(json_lines(proc)) == 1
    text = scan("-", "--no-decode", stdin=(PLAIN * 3).encode())
    assert b"2 repeats folded" in text.stderr


def test_policy_format_merges_fixes_per_principal() -> None:
    """--format policy prints one identity policy for the role covering both denials."""
    two = PLAIN + PLAIN.replace("s3:GetObject", "s3:PutObject")
    proc = scan("-", "--no-decode", "--format", "policy", stdin=two.encode())
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout.decode()
    assert "arn:aws:iam::111122223333:role/app" in out
    assert "s3:GetObject" in out and "s3:PutObject" in out
    assert out.count('"Version": "2012-10-17"') == 1


def test_bad_bytes_warn_and_the_rest_is_still_scanned(tmp_path: Path) -> None:
    """Invalid UTF-8 and a binary file give warnings naming them; good input still diagnosed."""
    (tmp_path / "a.log").write_bytes(b"\xff\xfe broken \xc3\x28\n" + PLAIN.encode())
    (tmp_path / "b.bin").write_bytes(b"\x00\x01\x02" * 1000)
    proc = scan("--no-decode", "--format", "json", str(tmp_path))
    assert proc.returncode == 1
    assert len(json_lines(proc)) == 1
    err = proc.stderr.decode()
    assert "b.bin" in err and "Traceback" not in err


def test_scan_without_decoding_never_imports_boto3() -> None:
    """`scan --no-decode` stays light: boto3 is imported only when something needs decoding."""
    code = (
        "import io, sys\n"
        "from diagnostics.cli import main\n"
        f"sys.stdin = io.TextIOWrapper(io.BytesIO({PLAIN.encode()!r}))\n"
        "main(['scan', '--no-decode', '--format', 'json', '-'])\n"
        "sys.stderr.write('boto3 loaded: %s' % ('boto3' in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=60, check=False
    )
    assert b"boto3 loaded: False" in proc.stderr, proc.stderr


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_readme_first_command_diagnoses_the_bundled_examples(fmt: str) -> None:
    """`authz-diag scan examples/` works offline and finds the examples' failures."""
    proc = scan("--format", fmt, "examples/")
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout.decode()
    for expected in ("ec2:CreateFleet", "s3:PutObject", "sts:AssumeRole", "ec2:RunInstances"):
        assert expected in out
    assert "Traceback" not in proc.stderr.decode()
