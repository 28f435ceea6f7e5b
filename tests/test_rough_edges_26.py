"""Issue 26's rough edges: what a new user hit in the CLI, the systemd unit and the docs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_systemd import ANALYZE, installed_binary

from diagnostics.cli import main
from diagnostics.sinks.slack import check_webhook_url

REPO = Path(__file__).resolve().parents[1]
UNITS = REPO / "systemd"
DROP_IN = UNITS / "authz-diagnostics.service.d" / "slack.conf"
UNIT = "authz-diagnostics.service"
CREDENTIAL = "LoadCredential=slack-webhook:/etc/authz-diagnostics/slack-webhook"

ID = "7q2m9x4k1c8v3b6n0z5l2j7h4g9f1d3s"
# An explicit deny naming an Access Troubleshooter ID, as IAM prints it.
WITH_ID = (
    "User: arn:aws:sts::123456789012:assumed-role/AppDeployer/ci-run-4821 is not authorized to "
    "perform: s3:PutObject on resource: arn:aws:s3:::example-artifacts/build/app.zip with an "
    "explicit deny in an identity-based policy: arn:aws:iam::123456789012:policy/DenyUploads. "
    "Go to https://us-east-1.console.aws.amazon.com/iam/home?region=us-east-1"
    f"#/authorization-details/{ID} for complete details, or call the "
    f"GetRequestAuthorizationDetails API with the following authorization id: {ID}\n"
)
# One failure a statement fixes (an implicit deny) and one none can (an explicit deny).
MIXED = (
    "An error occurred (AccessDenied) when calling the PutObject operation: User: "
    "arn:aws:iam::123456789012:user/ci is not authorized to perform: s3:PutObject on resource: "
    '"arn:aws:s3:::acme-builds/app.zip" because no identity-based policy allows the '
    "s3:PutObject action\n"
    "An error occurred (AccessDenied) when calling the DeleteBucket operation: User: "
    "arn:aws:iam::123456789012:user/ci is not authorized to perform: s3:DeleteBucket on "
    'resource: "arn:aws:s3:::acme-builds" with an explicit deny in a service control policy\n'
)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No structlog set-up onto capsys' stream, and no credentials reachable from the tests."""
    monkeypatch.setattr(
        "diagnostics.support.logconfig.configure_cli_logging", lambda verbosity: None
    )
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/authz-diag-test")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/authz-diag-test")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_scan_says_why_it_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's first command exits 1 and says on stderr that this means failures found."""
    code, _, err = _run(capsys, "scan", "--no-decode", str(REPO / "examples"))
    assert code == 1
    assert re.search(r"\d+ authorization failure\(s\) .*exit status 1", err), err
    assert "failures found" in err


def test_a_clean_scan_says_nothing_about_exit_status_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A scan that finds nothing exits 0 and does not talk about exit status 1."""
    (tmp_path / "ok.log").write_text("all good\n")
    code, _, err = _run(capsys, "scan", "--no-decode", str(tmp_path / "ok.log"))
    assert code == 0
    assert "exit status 1" not in err


def test_scan_text_shows_an_unresolved_authorization_id(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The text block names the authorization ID and why it was not resolved."""
    log = tmp_path / "apply.log"
    log.write_text(WITH_ID)
    code, out, _ = _run(capsys, "scan", "--no-decode", str(log))
    assert code == 1
    assert re.search(rf"^  Auth ID +{ID}$", out, re.M), out
    [reason] = [x for x in out.splitlines() if x.startswith("  Resolve ")]
    assert "resolving is off" in reason


def test_decode_of_an_id_without_credentials_says_why_and_no_off_switch(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`decode abcd1234efgh` without credentials says the ID was not resolved and how to fix
    that, and never suggests --no-decode, which decode refuses."""
    code, out, err = _run(capsys, "decode", "abcd1234efgh")
    assert code == 1
    assert re.search(r"^  Auth ID +abcd1234efgh$", out, re.M), out
    assert "no AWS credentials were found to call GetRequestAuthorizationDetails" in out
    assert "--no-decode" not in out + err
    code, out, _ = _run(capsys, "decode", "--format", "json", "abcd1234efgh")
    # Unconfigured structlog (the fixture) writes its warning to stdout: take the JSON line.
    [row] = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    assert "--no-decode" not in row["authorization_error"]


def test_policy_text_lists_failures_no_statement_fixes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`--format policy-text` names, as # comments, each failure `--format policy` lists with
    no document."""
    log = tmp_path / "mixed.log"
    log.write_text(MIXED)
    _, out, _ = _run(capsys, "scan", "--no-decode", "--format", "policy", str(log))
    nulls = [e for e in json.loads(out) if e["document"] is None]
    assert len(nulls) == 1
    _, text, _ = _run(capsys, "scan", "--no-decode", "--format", "policy-text", str(log))
    assert "s3:DeleteBucket" in text
    deleted = [x for x in text.splitlines() if "s3:DeleteBucket" in x]
    assert all(x.startswith("#") for x in deleted), deleted
    assert "no policy statement can fix this failure" in text


def test_explain_a_directory_explains_each_file(capsys: pytest.CaptureFixture[str]) -> None:
    """`explain DIR` explains every JSON file in it instead of failing with "Is a directory"."""
    folder = REPO / "examples" / "troubleshooter"
    code, out, err = _run(capsys, "explain", str(folder))
    assert code == 0, err
    assert "Is a directory" not in err
    for name in ("runinstances-passrole-createtags.json", "scp-explicit-deny.json"):
        assert name in out


def test_explain_an_empty_directory_says_what_to_do(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`explain` of a directory with no JSON file says so and what it expects, exit status 2."""
    code, _, err = _run(capsys, "explain", str(tmp_path))
    assert code == 2
    assert "no .json file" in err


def test_the_unit_starts_without_a_slack_credential() -> None:
    """The main unit loads no credential: without Slack there is no file for it to miss."""
    unit = (UNITS / "authz-diagnostics.service").read_text()
    assert not re.search(r"^\s*LoadCredential", unit, re.M)
    assert CREDENTIAL in DROP_IN.read_text()


def _verify(unit_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ANALYZE or "", "verify", "authz-diagnostics.service", "authz-diagnostics.socket"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=unit_dir,
    )


def _units(tmp_path: Path, drop_in: str | None) -> Path:
    """The units in ``tmp_path`` (ExecStart the installed script), with the drop-in if given."""
    text = (UNITS / "authz-diagnostics.service").read_text()
    (tmp_path / "authz-diagnostics.service").write_text(
        text.replace("/usr/local/bin/authz-diag", installed_binary())
    )
    shutil.copy(UNITS / "authz-diagnostics.socket", tmp_path)
    if drop_in is not None:
        (tmp_path / "authz-diagnostics.service.d").mkdir()
        (tmp_path / "authz-diagnostics.service.d" / "slack.conf").write_text(drop_in)
    return tmp_path


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("slack", [False, True], ids=["without-slack", "with-slack"])
def test_units_verify_with_and_without_the_slack_drop_in(tmp_path: Path, slack: bool) -> None:
    """`systemd-analyze verify` accepts the units alone and with the Slack drop-in, and the
    sandbox's exposure stays at most 1.5 either way."""
    units = _units(tmp_path, DROP_IN.read_text() if slack else None)
    proc = _verify(units)
    assert proc.returncode == 0, proc.stderr
    assert not [x for x in proc.stderr.splitlines() if "authz-diagnostics" in x], proc.stderr
    score = subprocess.run(
        [ANALYZE or "", "security", "--offline=true", "--threshold=15", UNIT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=units,
    )
    assert score.returncode == 0, score.stdout[-2000:] + score.stderr


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
def test_verify_reads_the_drop_in(tmp_path: Path) -> None:
    """A broken drop-in beside the unit is reported, so the with-Slack check reads it."""
    broken = DROP_IN.read_text().replace("/etc/authz-diagnostics/", "relative/")
    proc = _verify(_units(tmp_path, broken))
    assert "slack.conf" in proc.stderr


def test_the_docs_say_exactly_which_webhook_urls_are_accepted() -> None:
    """docs/alerts.md names https:// and loopback http://, as check_webhook_url accepts them."""
    for url in ("https://hooks.slack.com/services/T/B/x", "http://127.0.0.1:8080/hook"):
        assert check_webhook_url(url, "test") == url
    text = " ".join((REPO / "docs" / "alerts.md").read_text().split())
    assert "It must be `https://`." not in text
    assert "`http://` only on loopback (`127.0.0.1`, `::1`, `localhost`)" in text
