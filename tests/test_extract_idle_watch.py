"""Tailing with `authz-diag watch`: a held record is alerted once its file goes idle."""

from __future__ import annotations

from pathlib import Path

from test_watch_daemon import Daemon, append, file_source, write_config

BLOB = "AbCdEfGh0123456789-_" * 40


def _encoded_alerts(d: Daemon) -> list[dict[str, object]]:
    return [
        diag
        for a in d.alerts
        if a.get("status") == "new"
        for diag in a["diagnoses"]
        if BLOB[:40] in str(diag)
    ]


def test_blob_whose_continuation_never_comes_is_alerted_after_idle(tmp_path: Path) -> None:
    """A blob ending the file's last line (it might wrap on) is alerted after the idle timeout."""
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    log.write_text("")
    d = Daemon(tmp_path, write_config(tmp_path, file_source(logs)))
    try:
        d.wait_ready()
        append(
            log,
            "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: "
            f"You are not authorized to perform this operation. Encoded authorization failure "
            f"message: {BLOB}\n",
        )
        # No further line is ever written: only the idle flush can decide the record.
        d.wait_for(lambda: bool(_encoded_alerts(d)), 60.0, "the held blob's alert")
    finally:
        assert d.stop() == 0
    alerts = _encoded_alerts(d)
    assert len(alerts) == 1
    assert BLOB in str(alerts[0]) and "truncated': True" not in str(alerts[0])
