"""Security: log text cannot inject Slack markup or terminal escapes; secrets never leak."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from test_watch_daemon import Daemon, append, file_source, write_config

from diagnostics.alerts import Alert, AlertManager, AlertSettings
from diagnostics.diagnose.pipeline import Pipeline
from diagnostics.extract import extract_text
from diagnostics.model import DecodeResult
from diagnostics.rules import RuleSet, bundled_rules_dir
from diagnostics.sinks import StdoutSink, build_payload
from diagnostics.sinks.slack import SlackSink
from diagnostics.testing.slack_receiver import SlackReceiver, check_payload

ACCOUNT = "123456789012"
ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b[31m\u202e"
MARKUP = ["<!channel>", "<!here>", "<@U012AB3CD>", "<#C0123>", "<https://evil.example|click>"]


def hostile_lines() -> str:
    """Failures whose principal, action and resource carry Slack markup and terminal escapes."""
    out = []
    for i, m in enumerate(MARKUP):
        out.append(
            f"2024-05-01T12:00:00Z app ERROR User: arn:aws:iam::{ACCOUNT}:user/a{m} is not "
            f"authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/{i}{m}"
            f"{ESCAPES}k because no identity-based policy allows the s3:GetObject action\n"
        )
    return "".join(out)


def _alerts() -> list[Alert]:
    pipe = Pipeline(RuleSet.load([bundled_rules_dir()]))
    kept: list[Alert] = []

    class Keep:
        name, detail = "keep", "full"

        def send(self, alerts: list[Alert]) -> None:
            kept.extend(alerts)

        def close(self, timeout: float) -> None:
            pass

        def reopen(self) -> None:
            pass

    m = AlertManager(AlertSettings(group_wait=0.0), None, [Keep()], clock=lambda: 1e9)
    failures = extract_text(hostile_lines(), "hostile.log")
    assert len(failures) == len(MARKUP)
    for f in failures:
        m.add(pipe.diagnose_one(f, DecodeResult()), sample=hostile_lines().splitlines()[0])
    m.tick()
    assert len(kept) == len(MARKUP)
    return kept


@pytest.mark.parametrize("detail", ["summary", "full"])
def test_slack_payloads_carry_no_live_mentions_or_links(detail: str) -> None:
    """Mentions, channel pings and links from log text reach Slack inert (escaped)."""
    for alert in _alerts():
        payload = build_payload(alert, detail)  # type: ignore[arg-type]
        assert check_payload(payload) == []
        body = orjson.dumps(payload).decode()
        for m in MARKUP:
            assert m not in body


def test_hostile_alerts_are_accepted_by_the_slack_receiver() -> None:
    """Through the real sink over HTTP, the receiver accepts them all and sees no markup."""
    with SlackReceiver() as rx:
        sink = SlackSink("slack", rx.url, max_per_second=100)
        try:
            sink.send(_alerts())
            assert rx.wait_for(len(MARKUP), timeout=60)
        finally:
            sink.close(5)
        assert rx.violations == []


def test_stdout_sink_text_has_no_terminal_escapes() -> None:
    """The journal text shows escapes from logs as \\x1b, never as live control bytes."""
    buf = io.BytesIO()
    StdoutSink(format="text", stream=buf, color=False).send(_alerts())
    out = buf.getvalue().decode()
    for ch in "\x1b\x07\u202e":
        assert ch not in out
    assert "\\u202e" in out  # shown, not obeyed


def test_scan_text_output_has_no_terminal_escapes(tmp_path: Path) -> None:
    """`authz-diag scan` prints a hostile log's failures with every control byte neutralised."""
    log = tmp_path / "hostile.log"
    log.write_text(hostile_lines())
    res = subprocess.run(
        [sys.executable, "-m", "diagnostics", "scan", "--no-decode", str(log)],
        capture_output=True,
        check=False,
    )
    assert res.returncode == 1, res.stderr
    assert b"s3:GetObject" in res.stdout
    for ch in (b"\x1b", b"\x07"):
        assert ch not in res.stdout
        assert ch not in res.stderr


def test_scan_text_output_has_no_bidi_overrides(tmp_path: Path) -> None:
    """A right-to-left override in a log cannot reorder what `authz-diag scan` shows."""
    log = tmp_path / "hostile.log"
    log.write_text(hostile_lines())
    res = subprocess.run(
        [sys.executable, "-m", "diagnostics", "scan", "--no-decode", str(log)],
        capture_output=True,
        check=False,
    )
    assert "\u202e".encode() not in res.stdout


@pytest.mark.slow
def test_watch_never_logs_or_prints_secrets(tmp_path: Path) -> None:
    """With a failing Slack and a failing STS, no webhook URL or AWS secret reaches any output."""
    secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY42"
    token = "FwoGZXIvYXdzSESSIONTOKENSECRET42"
    logdir = tmp_path / "logs"
    logdir.mkdir()
    with SlackReceiver() as rx:
        rx.fail(500, count=2)
        cfg = write_config(tmp_path, file_source(logdir))
        text = cfg.read_text().replace("[decode]\nenabled = false\n", (
            '[decode]\nendpoint_url = "http://127.0.0.1:9"\nmax_attempts = 1\n'
        ))  # fmt: skip
        text += (
            '[[sink]]\ntype = "slack"\nname = "slack"\nwebhook_url_env = "HOOK"\n'
            "max_per_second = 50\n"
        )
        cfg.write_text(text)
        env = {
            "HOOK": rx.url,
            "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": secret_key,
            "AWS_SESSION_TOKEN": token,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        d = Daemon(tmp_path, cfg, env=env)
        try:
            d.wait_ready()
            append(
                logdir / "app.log",
                f"User: arn:aws:iam::{ACCOUNT}:user/a is not authorized to perform: "
                "s3:GetObject on resource: arn:aws:s3:::b/k because no identity-based policy "
                "allows the s3:GetObject action. Encoded authorization failure message: "
                + "A" * 400
                + "\nthe next line, so the blob is known to be whole\n",
            )
            d.wait_resources(1, timeout=30)
            assert rx.wait_for(1, timeout=30)
        finally:
            assert d.stop() == 0
        outputs = [d.stderr(), orjson.dumps(d.alerts).decode()]
        outputs += [p.body.decode() for p in rx.posts]
    secrets = [rx.url, "xoxwebhooksecret", "T0SECRET/B0SECRET", secret_key, token]
    for out in outputs:
        for s in secrets:
            assert s not in out
    # The decode failure is reported, just without credentials.
    assert any(a["diagnoses"][0].get("decode_error") for a in d.alerts)


def test_state_files_are_private(tmp_path: Path) -> None:
    """The state database is created 0600 in a 0700 directory, whatever the umask."""
    from diagnostics.support.state import StateDB

    old = os.umask(0)
    try:
        db = StateDB.in_dir(tmp_path / "state")
        db.close()
    finally:
        os.umask(old)
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "state" / "state.sqlite3").stat().st_mode & 0o777 == 0o600


def test_alert_file_is_created_private(tmp_path: Path) -> None:
    """The file sink creates its alert file 0600 even under a permissive umask."""
    from diagnostics.sinks.stream import FileSink

    old = os.umask(0o002)
    try:
        sink = FileSink("f", tmp_path / "alerts.jsonl")
        sink.send(_alerts()[:1])
        sink.close(1)
    finally:
        os.umask(old)
    assert (tmp_path / "alerts.jsonl").stat().st_mode & 0o777 == 0o600
