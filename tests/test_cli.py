"""End-to-end tests of the installed ``authz-diag`` console script (decode, explain, usage)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from diagnostics.testing.sts_double import StsDouble, decoded_message, fake_blob

REPO = Path(__file__).resolve().parents[1]
AUTHZ_DIAG = str(Path(sys.executable).parent / "authz-diag")


def run(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [AUTHZ_DIAG, *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        env=env if env is not None else dict(os.environ),
        cwd=REPO,
        check=False,
    )


@pytest.fixture
def sts() -> Iterator[StsDouble]:
    with StsDouble() as double:
        yield double


def _creds_env(sts: StsDouble) -> dict[str, str]:
    env = dict(os.environ)
    env.update(AWS_ACCESS_KEY_ID="AKIAEXAMPLETEST00001", AWS_SECRET_ACCESS_KEY="secret-for-tests")
    return env


def test_explain_reads_the_cli_output_shape() -> None:
    """`explain` on `aws sts decode-authorization-message` output names the matched Deny."""
    proc = run("explain", "examples/decoded-message.json")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert "DenyOutsideApprovedRegions" in out
    assert "ec2:RunInstances" in out


def test_explain_json_from_stdin_is_a_diagnosis_object() -> None:
    """`explain --format json -` prints one diagnosis with kind 'decoded'."""
    raw = orjson.dumps(decoded_message(action="s3:PutObject", resource="arn:aws:s3:::b/k"))
    proc = run("explain", "--format", "json", "-", stdin=raw)
    assert proc.returncode == 0, proc.stderr
    obj = orjson.loads(proc.stdout)
    assert obj["kind"] == "decoded"
    assert obj["action"] == "s3:PutObject"
    assert obj["findings"], "an implicit deny should get at least one finding"


def test_explain_rejects_text_that_is_not_a_decoded_message() -> None:
    """Bad input exits 2 with a message saying what shape was expected, no traceback."""
    proc = run("explain", "-", stdin=b'{"hello": 1}')
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "DecodedMessage" in err and "Traceback" not in err


def test_decode_calls_sts_over_http_and_explains(sts: StsDouble) -> None:
    """`decode BLOB` decodes through the real boto3 path and prints the diagnosis."""
    blob = fake_blob("cli-decode", 900)
    sts.add_message(
        blob,
        decoded_message(
            action="ec2:RunInstances", resource="arn:aws:ec2:us-east-1:123456789012:instance/*"
        ),
    )
    proc = run(
        "decode",
        "--format",
        "json",
        "--sts-endpoint-url",
        sts.endpoint_url,
        blob,
        env=_creds_env(sts),
    )
    assert proc.returncode == 0, proc.stderr
    obj = orjson.loads(proc.stdout)
    assert obj["decoded"]["context"]["action"] == "ec2:RunInstances"
    assert obj["decode_error"] is None
    assert sts.call_count() == 1


def test_decode_of_an_invalid_message_says_so_and_exits_1(sts: StsDouble) -> None:
    """An unknown blob gets an actionable 'invalid or expired' decode_error and exit 1."""
    proc = run(
        "decode", "--sts-endpoint-url", sts.endpoint_url, fake_blob("unknown"), env=_creds_env(sts)
    )
    assert proc.returncode == 1
    assert "expired" in proc.stdout.decode()


def test_decode_rejects_non_base64url_input() -> None:
    """A blob with characters outside base64url is a usage error, never sent to STS."""
    proc = run("decode", "not a blob!")
    assert proc.returncode == 2
    assert "base64url" in proc.stderr.decode()


def test_no_command_prints_help_and_exits_2() -> None:
    """Running with no subcommand shows usage on stderr."""
    proc = run()
    assert proc.returncode == 2
    assert b"scan" in proc.stderr


def test_decode_accepts_a_blob_that_starts_with_a_dash(sts: StsDouble) -> None:
    """Base64url blobs may start with '-'; `decode -Abc...` is not taken for an option."""
    blob = "-" + fake_blob("dash", 600)
    sts.add_message(blob, decoded_message(action="s3:GetObject"))
    proc = run(
        "decode",
        blob,
        "--format",
        "json",
        "--sts-endpoint-url",
        sts.endpoint_url,
        env=_creds_env(sts),
    )
    assert proc.returncode == 0, proc.stderr
    assert orjson.loads(proc.stdout)["encoded_message"] == blob


def test_version_names_the_matcher_and_inflater() -> None:
    """`authz-diag --version` says which marker matcher and gzip inflater a scan uses."""
    import subprocess
    import sys

    from diagnostics.extract.inputs.gunzip import available as inflater
    from diagnostics.extract.inputs.marker_backends import available as matcher

    done = subprocess.run(
        [sys.executable, "-m", "diagnostics", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("authz-diag ")
    assert f"markers: {matcher()}" in done.stdout and f"gunzip: {inflater()}" in done.stdout
