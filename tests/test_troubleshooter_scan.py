"""`scan` resolves authorization IDs (and decodes blobs) through both loopback doubles."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from diagnostics.decode import Decoder, DecodeSettings
from diagnostics.run.scan import run_scan
from diagnostics.testing.sts_double import StsDouble, decoded_message, fake_blob
from diagnostics.testing.toolbox_double import DETAILS, ToolboxDouble
from diagnostics.testing.toolbox_samples import ACCOUNT, SCP_DOCUMENTS, SCP_URI, scp_deny_details
from diagnostics.troubleshooter import Resolver
from diagnostics.troubleshooter.combined import ResolvingDecoder, answered_by

REPO = Path(__file__).resolve().parents[1]
AUTHZ_DIAG = str(Path(sys.executable).parent / "authz-diag")
ID = "7q2m9x4k1c8v3b6n0z5l2j7h4g9f1d3s"
URL = f"https://us-east-1.console.aws.amazon.com/iam/home?region=us-east-1#/authorization-details/{ID}"
SUFFIX = (
    f"Go to {URL} for complete details, or call the GetRequestAuthorizationDetails API with "
    f"the following authorization id: {ID}"
)
PRINCIPAL = f"arn:aws:sts::{ACCOUNT}:assumed-role/AppDeployer/ci-run-4821"
DENY = (
    f"User: {PRINCIPAL} is not authorized to perform: s3:PutObject on resource: "
    "arn:aws:s3:::example-artifacts/build/app-0.zip with an explicit deny in a service control "
    "policy."
)


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLETEST00001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-for-tests")


@pytest.fixture
def toolbox(creds: None) -> Iterator[ToolboxDouble]:
    with ToolboxDouble() as double:
        double.add_details(ID, scp_deny_details(), SCP_DOCUMENTS, account=ACCOUNT)
        yield double


def _scan(log: Path, decoder: ResolvingDecoder | None) -> list[dict[str, object]]:
    out = io.BytesIO()
    try:
        result, _ = run_scan(
            [str(log)], ruleset=None, decoder=decoder, fmt="json", out=out, err=io.StringIO()
        )
    finally:
        if decoder is not None:
            decoder.close()
    assert result.diagnoses == len(out.getvalue().splitlines())
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def _settings(toolbox: ToolboxDouble, sts: StsDouble | None = None) -> DecodeSettings:
    return DecodeSettings(
        region="us-east-1",
        toolbox_endpoint_url=toolbox.endpoint_url,
        endpoint_url=sts.endpoint_url if sts else None,
        max_per_second=1000.0,
    )


def test_scan_fills_authorization_details(toolbox: ToolboxDouble, tmp_path: Path) -> None:
    """A wrapped denial in a log comes out of scan with the ID, its details and documents."""
    log = tmp_path / "deploy.log"
    log.write_text(f"{DENY}\n{SUFFIX}\nnext step\n")
    settings = _settings(toolbox)
    [obj] = _scan(log, ResolvingDecoder(Decoder(settings), Resolver(settings)))
    assert obj["authorization_id"] == ID
    assert obj["authorization_error"] is None
    details = obj["authorization_details"]
    assert isinstance(details, dict)
    assert details["authorizationId"] == ID
    assert details["documents"][SCP_URI]["Statement"][0]["Sid"] == "DenyOutsideRegions"
    assert obj["decode_error"] is None  # no blob: nothing for STS


def test_scan_reports_each_failure_mode_per_failure(toolbox: ToolboxDouble, tmp_path: Path) -> None:
    """An unknown ID gets its own not-found error while the known one resolves, in input order."""
    other = "0a9s8d7f6g5h4j3k2l1qwertyuiopzxc"
    log = tmp_path / "deploy.log"
    log.write_text(f"{DENY} {SUFFIX}\n{DENY} {SUFFIX.replace(ID, other)}\n")
    settings = _settings(toolbox)
    first, second = _scan(log, ResolvingDecoder(Decoder(settings), Resolver(settings)))
    assert first["authorization_details"] is not None and first["authorization_error"] is None
    assert second["authorization_details"] is None
    assert f"no details for authorization ID {other}" in str(second["authorization_error"])


def test_blob_and_id_both_answer(toolbox: ToolboxDouble, tmp_path: Path) -> None:
    """An EC2 denial with a blob and an ID is decoded by STS and resolved by iam-toolbox."""
    blob = fake_blob("both", 700)
    with StsDouble() as sts:
        sts.add_message(blob, decoded_message(action="ec2:RunInstances"))
        log = tmp_path / "ec2.log"
        log.write_text(
            "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: "
            f"You are not authorized to perform this operation. User: {PRINCIPAL} is not "
            "authorized to perform: ec2:RunInstances on resource: "
            f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/* because no identity-based policy "
            f"allows the ec2:RunInstances action. Encoded authorization failure message: {blob}\n"
            f"{SUFFIX}\n"
        )
        settings = _settings(toolbox, sts)
        decoder = ResolvingDecoder(Decoder(settings), Resolver(settings))
        pairs = list(decoder.decode_many(f for f in _failures(log)))
        [obj] = _scan(log, ResolvingDecoder(Decoder(settings), Resolver(settings)))
        decoder.close()
    assert obj["decoded"] is not None and obj["authorization_details"] is not None
    assert answered_by(pairs[0][1]) == ("sts", "iam-toolbox")


def _failures(log: Path) -> list[object]:
    from diagnostics.extract import extract_path
    from diagnostics.model import InputStats

    return list(extract_path(log, InputStats()))


def test_no_decode_turns_resolving_off(toolbox: ToolboxDouble, tmp_path: Path) -> None:
    """Without a decoder (--no-decode) nothing is called and authorization_error says why."""
    log = tmp_path / "deploy.log"
    log.write_text(f"{DENY} {SUFFIX}\n")
    [obj] = _scan(log, None)
    assert toolbox.calls == []
    assert "resolving is off" in str(obj["authorization_error"])


def test_cli_scan_resolves_through_the_double(toolbox: ToolboxDouble, tmp_path: Path) -> None:
    """`authz-diag scan --format json` resolves the ID over HTTP; --no-decode makes no call."""
    log = tmp_path / "deploy.log"
    log.write_text(f"{DENY}\n{SUFFIX}\n")
    env = dict(os.environ)
    base = [AUTHZ_DIAG, "scan", "--format", "json", str(log)]
    proc = subprocess.run(
        [*base, "--toolbox-endpoint-url", toolbox.endpoint_url],
        capture_output=True,
        timeout=120,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr  # 1: a failure was found
    obj = orjson.loads(proc.stdout.splitlines()[0])
    assert obj["authorization_details"]["authorizationId"] == ID
    assert toolbox.call_count(DETAILS) == 1
    proc = subprocess.run(
        [*base, "--no-decode", "--toolbox-endpoint-url", toolbox.endpoint_url],
        capture_output=True,
        timeout=120,
        env=env,
        cwd=REPO,
        check=False,
    )
    obj = orjson.loads(proc.stdout.splitlines()[0])
    assert obj["authorization_details"] is None and "resolving is off" in obj["authorization_error"]
    assert toolbox.call_count(DETAILS) == 1


def test_cli_decode_resolves_a_bare_id_and_says_when_it_cannot(
    toolbox: ToolboxDouble,
) -> None:
    """`authz-diag decode ID` resolves it (exit 0); an unknown ID exits 1 with the reason."""
    env = dict(os.environ)
    base = [AUTHZ_DIAG, "decode", "--format", "json", "--toolbox-endpoint-url"]
    proc = subprocess.run(
        [*base, toolbox.endpoint_url, ID],
        capture_output=True,
        timeout=120,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert orjson.loads(proc.stdout)["authorization_details"]["authorizationId"] == ID
    proc = subprocess.run(
        [*base, toolbox.endpoint_url, "unknown123"],
        capture_output=True,
        timeout=120,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 1
    assert (
        "no details for authorization ID unknown123"
        in orjson.loads(proc.stdout)["authorization_error"]
    )
