"""The Slack webhook URL is a secret: a malformed one is refused up front and never shown."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from test_slack_sink import alert_for

from diagnostics.errors import ConfigError
from diagnostics.sinks import SlackSink
from diagnostics.sinks.slack import check_webhook_url
from diagnostics.testing.alert_examples import hostile_log_values
from diagnostics.testing.slack_receiver import SlackReceiver

SECRET = "xoxwebhooksecret42"
URL = f"https://hooks.slack.com/services/T0SECRET/B0SECRET/{SECRET}"


def _check_config(tmp_path: Path, credential: str) -> subprocess.CompletedProcess[str]:
    cred = tmp_path / "slack-webhook"
    cred.write_text(credential)
    config = tmp_path / "watch.toml"
    config.write_text(
        f'state_dir = "{tmp_path}/state"\n[[source]]\ntype = "stdin"\n'
        f'[[sink]]\ntype = "slack"\nwebhook_url_file = "{cred}"\n'
    )
    return subprocess.run(
        [sys.executable, "-m", "diagnostics", "watch", "--config", str(config), "--check-config"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize(
    "credential",
    [
        f"{URL}\n# rotated by ops on 2026-11-30\n",
        f"https://hooks.slack.com/services/T0SECRET/B0SECRET /{SECRET}\n",
        f"{URL}\r\n{URL}\n",
        f"https://hooks.slack.com/services/T0SECRET/B0SECRET/{SECRET}\u200b\n",
    ],
    ids=["comment-line", "embedded-space", "two-lines", "zero-width-space"],
)
def test_check_config_refuses_a_malformed_credential_without_showing_it(
    tmp_path: Path, credential: str
) -> None:
    """A credential with a comment line or a space fails --check-config; the URL stays hidden."""
    proc = _check_config(tmp_path, credential)
    assert proc.returncode == 2, proc.stdout
    assert "must hold the URL alone, on one line" in proc.stderr
    for text in (proc.stdout, proc.stderr):
        assert SECRET not in text
        assert "T0SECRET" not in text
        assert "hooks.slack.com" not in text


def test_check_config_accepts_a_credential_with_a_trailing_newline(tmp_path: Path) -> None:
    """``echo URL > file`` (one line and its newline) is a valid credential file."""
    proc = _check_config(tmp_path, URL + "\n")
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr


def test_check_webhook_url_message_never_echoes_the_url() -> None:
    """The refusal says where the bad character is, never the URL around it."""
    with pytest.raises(ConfigError) as info:
        check_webhook_url(f"{URL}\tmore", "sink slack")
    assert SECRET not in str(info.value) and f"character {len(URL) + 1} of {len(URL) + 5}" in str(
        info.value
    )


def test_http_client_error_from_the_url_is_logged_by_class_only() -> None:
    """If a bad URL reaches the HTTP client anyway, its InvalidURL text (the URL) is not logged."""
    with SlackReceiver() as rx:
        sink = SlackSink("slack", rx.url + SECRET, max_per_second=100, start=False)
        # Defence in depth: the URL was checked at start; pretend it went bad
        # by another route, so the client's own refusal is exercised.
        sink._SlackSink__url = rx.url + SECRET + "\n# comment"  # type: ignore[attr-defined]
        with capture_logs() as logs:
            sink.send([alert_for(hostile_log_values())])
            wait = sink.step()
        assert wait is not None and wait > 0  # backed off, message kept
        assert sink.spooled() == 1
        events = [e for e in logs if e["event"] == "slack.unavailable"]
        assert events and events[0]["reason"] == "InvalidURL"
        assert SECRET not in repr(logs)


@pytest.fixture
def garbage_server() -> Iterator[str]:
    """A loopback server answering every request with a line that is not HTTP."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(5)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"SSH-2.0-" + SECRET.encode() + b"\r\n")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/services/T0SECRET/B0SECRET/{SECRET}"
    stop.set()
    # close() alone leaves accept() blocked until its 5 s timeout; shutdown() wakes it.
    srv.shutdown(socket.SHUT_RDWR)
    srv.close()
    t.join(5)
    assert not t.is_alive()


def test_worker_logs_an_http_protocol_error_by_class_only(garbage_server: str) -> None:
    """A server that answers with garbage is retried; the log names BadStatusLine, not its text."""
    with capture_logs() as logs:
        sink = SlackSink("slack", garbage_server, max_per_second=100, backoff_cap=0.2)
        try:
            sink.send([alert_for(hostile_log_values())])
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any(
                e["event"] == "slack.unavailable" for e in logs
            ):
                time.sleep(0.05)
        finally:
            sink.close(0)
    reasons = {e.get("reason") or e.get("error") for e in logs if e["event"].startswith("slack.")}
    assert "BadStatusLine" in reasons
    assert SECRET not in repr(logs)
    assert not any(e["event"] == "slack.worker_error" for e in logs)
