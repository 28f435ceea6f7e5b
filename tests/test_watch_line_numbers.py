"""Alerts from `watch` give the real line of the file, across restarts, rotation and old state."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from test_watch_daemon import Daemon, append, file_source, line, write_config

NOISE = "2024-05-01T12:00:00Z app INFO nothing to see here\n"


def sources_of(d: Daemon) -> list[str]:
    """Every ``sources`` entry of every new alert, in order."""
    with d._lock:
        return [s for a in d.alerts if a.get("status") == "new" for s in a.get("sources", [])]


def refs_of(d: Daemon) -> list[dict[str, Any]]:
    with d._lock:
        return [a["diagnoses"][0]["source"] for a in d.alerts if a.get("status") == "new"]


def test_restart_resumes_with_the_real_line_numbers(tmp_path: Path) -> None:
    """After a first start at the end of a file and after a restart, alerts name the real line."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    log = logdir / "app.log"
    log.write_text(NOISE * 3)
    cfg = write_config(tmp_path, file_source(logdir, "end"))
    d = Daemon(tmp_path, cfg)
    try:
        d.wait_ready()
        append(log, line(1))  # line 4
        d.wait_resources(1)
    finally:
        assert d.stop() == 0, d.stderr()[-3000:]
    assert sources_of(d) == [f"{log}:4"]

    append(log, NOISE * 2 + line(2))  # written while stopped: line 7
    offset_7 = log.stat().st_size - len(line(2))
    d2 = Daemon(tmp_path, cfg)
    try:
        d2.wait_resources(1)
        append(log, line(3))  # line 8
        d2.wait_resources(2)
    finally:
        assert d2.stop() == 0, d2.stderr()[-3000:]
    assert sources_of(d2) == [f"{log}:7", f"{log}:8"]
    assert refs_of(d2)[0] == {"path": str(log), "line": 7, "offset": offset_7}


def test_lines_read_after_rotation_name_the_rotated_file(tmp_path: Path) -> None:
    """A late write to a renamed log is labelled ``app.log.1:N (rotated from app.log)``."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    log = logdir / "app.log"
    log.write_text("")
    cfg = write_config(tmp_path, file_source(logdir, "end"))
    d = Daemon(tmp_path, cfg)
    try:
        d.wait_ready()
        writer = log.open("a")
        writer.write(NOISE + line(1))
        writer.flush()
        d.wait_resources(1)
        rotated = logdir / "app.log.1"
        log.rename(rotated)  # logrotate without copytruncate; the writer keeps its handle
        # A sentinel file: the poll that starts following it has also seen the rename
        # (one pass matches the globs, then relabels what left them), so the late
        # write below is read under the new name.
        followed = d.followed()
        (logdir / "sentinel.log").write_text("")
        d.wait_for(lambda: d.followed() > followed, what="the poll after the rename")
        writer.write(line(2))
        writer.close()
        d.wait_resources(2)
        log.write_text(line(3))  # the writer reopens app.log: a new file, line 1
        d.wait_resources(3)
    finally:
        assert d.stop() == 0, d.stderr()[-3000:]
    assert sources_of(d) == [
        f"{log}:2",
        f"{rotated}:3 (rotated from {log})",
        f"{log}:1",
    ]
    assert refs_of(d)[1]["rotated_from"] == str(log)


def test_copytruncate_then_restart_keeps_counting_from_the_new_head(tmp_path: Path) -> None:
    """After copytruncate numbering starts over at 1, and a restart goes on from there."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    log = logdir / "app.log"
    log.write_text(NOISE * 5)
    cfg = write_config(tmp_path, file_source(logdir, "beginning"))
    d = Daemon(tmp_path, cfg)
    try:
        d.wait_ready()
        with log.open("r+") as fh:
            fh.truncate(0)
        d.wait_for(
            lambda: any(e.get("event", "").startswith("file truncated") for e in d.logs()),
            what="truncation noticed",
        )
        append(log, NOISE + line(1))
        d.wait_resources(1)
    finally:
        assert d.stop() == 0, d.stderr()[-3000:]
    append(log, line(2))
    d2 = Daemon(tmp_path, cfg)
    try:
        d2.wait_resources(1)
    finally:
        assert d2.stop() == 0, d2.stderr()[-3000:]
    assert sources_of(d) == [f"{log}:2"]
    assert sources_of(d2) == [f"{log}:3"]


def drop_line_column(db: Path) -> None:
    """Make the checkpoint table look as an older release wrote it (no ``line``)."""
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE watch_files DROP COLUMN line")
    conn.close()


def test_checkpoint_without_line_column_is_migrated_and_counted(tmp_path: Path) -> None:
    """An old checkpoint row (no line column) still resumes, and the line is counted, not 1."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    log = logdir / "app.log"
    log.write_text(NOISE * 2 + line(1))
    cfg = write_config(tmp_path, file_source(logdir, "beginning"))
    d = Daemon(tmp_path, cfg)
    try:
        d.wait_resources(1)
    finally:
        assert d.stop() == 0, d.stderr()[-3000:]
    drop_line_column(tmp_path / "state" / "state.sqlite3")
    append(log, NOISE + line(2))  # line 5
    d2 = Daemon(tmp_path, cfg)
    try:
        d2.wait_resources(1)
    finally:
        assert d2.stop() == 0, d2.stderr()[-3000:]
    assert sources_of(d) == [f"{log}:3"]
    assert sources_of(d2) == [f"{log}:5"], "old row re-read or numbered from the offset"
    with sqlite3.connect(tmp_path / "state" / "state.sqlite3") as conn:
        assert conn.execute("SELECT line FROM watch_files").fetchall() == [(6,)]
    conn.close()


def test_unknown_line_base_is_labelled_as_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the line at the resume offset cannot be counted, the label says so and gives bytes."""
    from diagnostics.service.config import load_config
    from diagnostics.service.loop import Service
    from diagnostics.sources import file_position

    logdir = tmp_path / "logs"
    logdir.mkdir()
    log = logdir / "app.log"
    log.write_text(NOISE * 4)
    out = tmp_path / "alerts.jsonl"
    cfg = write_config(tmp_path, file_source(logdir, "end"))
    cfg.write_text(
        cfg.read_text().replace(
            '[[sink]]\ntype = "stdout"\nformat = "json"\n',
            f'[[sink]]\ntype = "file"\nformat = "json"\npath = "{out}"\n',
        )
    )
    # A file "too large to count": the bound is what a huge log would exceed.
    monkeypatch.setattr(file_position, "COUNT_LIMIT", 16)
    service = Service(load_config(cfg))
    runner = threading.Thread(target=service.run, daemon=True)
    runner.start()
    try:
        deadline = time.monotonic() + 60  # a bound for a hang, not a timing check
        while not service.sources[0].is_ready() and time.monotonic() < deadline:
            time.sleep(0.02)
        offset = log.stat().st_size
        append(log, line(1))
        while time.monotonic() < deadline and not (out.exists() and out.read_bytes()):
            time.sleep(0.05)
    finally:
        service.stop()
        runner.join(20)
    alerts = [orjson.loads(x) for x in out.read_bytes().splitlines() if x.startswith(b"{")]
    assert [a["sources"] for a in alerts] == [[f"{log} byte {offset} (line unknown)"]]
    assert alerts[0]["diagnoses"][0]["source"] == {"path": str(log), "line": None, "offset": offset}


def test_rotated_source_survives_the_alert_store_round_trip() -> None:
    """A diagnosis read back from the state DB (after a restart) still says it was rotated."""
    import dataclasses

    from diagnostics.alerts.codec import diagnosis_from_json
    from diagnostics.model import SourceRef
    from diagnostics.testing.alert_examples import s3_explicit_deny_scp

    d = s3_explicit_deny_scp()
    ref = SourceRef("/var/log/app.log.1", 52, 9000, rotated_from="/var/log/app.log")
    d = dataclasses.replace(d, failure=dataclasses.replace(d.failure, source=ref))
    back = diagnosis_from_json(orjson.loads(orjson.dumps(d.to_json())))
    assert back.failure.source == ref
    assert ref.label() == "/var/log/app.log.1:52 (rotated from /var/log/app.log)"
