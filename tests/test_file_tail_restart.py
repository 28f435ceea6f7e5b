"""File checkpoints across restarts after copytruncate and after a long quiet spell."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from test_watch_daemon import Daemon, append, file_source, line, write_config


def reread_logged(d: Daemon) -> bool:
    return any(e.get("event", "").startswith("inode reused") for e in d.logs())


def opened_at(d: Daemon) -> list[int]:
    """The offsets the daemon started following files at (a re-read starts at 0)."""
    return [int(e["offset"]) for e in d.logs() if e.get("event") == "following file"]


def test_restart_after_copytruncate_does_not_reread(tmp_path: Path) -> None:
    """After a truncation and new writes, a restart resumes where it was instead of re-alerting."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    log = logdir / "app.log"
    # Longer than the 256 fingerprinted bytes, so the old fingerprint is complete.
    log.write_text("x" * 300 + "\n")
    cfg = write_config(tmp_path, file_source(logdir, "beginning"))
    d = Daemon(tmp_path, cfg)
    try:
        d.wait_ready()
        append(log, line(1, "before"))
        d.wait_resources(1)
        with log.open("r+") as fh:  # what logrotate's copytruncate does
            fh.truncate(0)
        d.wait_for(
            lambda: any(e.get("event", "").startswith("file truncated") for e in d.logs()),
            what="truncation noticed",
        )
        append(log, "new head after the truncation\n" + line(2, "after"))
        d.wait_resources(2)
    finally:
        assert d.stop() == 0, d.stderr()[-3000:]
    assert sorted(d.resources()) == ["arn:aws:s3:::bucket/after-2", "arn:aws:s3:::bucket/before-1"]

    size = log.stat().st_size
    d2 = Daemon(tmp_path, cfg)
    try:
        d2.wait_ready()
        append(log, line(3, "later"))
        d2.wait_resources(1)
    finally:
        assert d2.stop() == 0, d2.stderr()[-3000:]
    assert d2.resources() == ["arn:aws:s3:::bucket/later-3"], "bytes before the restart re-read"
    assert not reread_logged(d2)
    assert opened_at(d2) == [size]


def test_commit_from_before_a_truncation_does_not_move_the_checkpoint(tmp_path: Path) -> None:
    """A late commit for bytes read before a truncation leaves the checkpoint to the new stream."""
    from diagnostics.service.config import LimitsConfig
    from diagnostics.sources import checkpoints
    from diagnostics.sources.base import SourceContext, StreamOpened
    from diagnostics.sources.file import FileSource
    from diagnostics.support.state import StateDB

    log = tmp_path / "app.log"
    log.write_bytes(b"a" * 300 + b"\n")
    state = StateDB.in_dir(tmp_path / "state")
    checkpoints.ensure(state)
    src = FileSource(
        "f", SourceContext(state=state, limits=LimitsConfig()), [str(tmp_path / "*.log")]
    )
    events: list[object] = []
    src._reconcile(events.append, initial=False)  # one pass, no threads
    opened = [e for e in events if isinstance(e, StreamOpened)]
    old_commit = opened[0].commit
    log.write_bytes(b"")  # truncate, then a new, shorter head
    log.write_bytes(b"new head\n")
    src._reconcile(events.append, initial=False)
    opened = [e for e in events if isinstance(e, StreamOpened)]
    assert len(opened) == 2, "the truncation opened a new stream"
    with state.transaction() as conn:
        old_commit(conn, 301, (), 2)
    st = log.stat()
    assert checkpoints.load_file(state, "f", st.st_dev, st.st_ino) is None
    with state.transaction() as conn:
        opened[1].commit(conn, 9, (), 2)
    saved = checkpoints.load_file(state, "f", st.st_dev, st.st_ino)
    assert saved is not None
    fp_len, fp, offset, _, _ = saved
    assert (fp_len, fp, offset) == (9, checkpoints.fingerprint(b"new head\n"), 9)
    src.join(1)


def test_quiet_file_keeps_its_checkpoint_past_30_days(tmp_path: Path) -> None:
    """A matched file unwritten for 31 days is resumed, not re-read; a vanished one is forgotten."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    log = logdir / "app.log"
    log.write_text(line(1, "old"))
    cfg = write_config(tmp_path, file_source(logdir, "beginning"))
    d = Daemon(tmp_path, cfg)
    try:
        d.wait_resources(1)
    finally:
        assert d.stop() == 0, d.stderr()[-3000:]

    db = tmp_path / "state" / "state.sqlite3"
    month_ago = time.time() - 31 * 86400
    with sqlite3.connect(db) as conn:
        assert conn.execute("UPDATE watch_files SET updated = ?", (month_ago,)).rowcount == 1
        (source,) = conn.execute("SELECT source FROM watch_files").fetchone()
        conn.execute(
            "INSERT INTO watch_files (source, dev, ino, path, fp_len, fp, offset, updated)"
            " VALUES (?, 0, 1, '/gone.log', 0, '', 0, ?)",
            (source, month_ago),
        )
    conn.close()

    size = log.stat().st_size
    d2 = Daemon(tmp_path, cfg)
    try:
        d2.wait_ready()
        append(log, line(2, "new"))
        d2.wait_resources(1)
    finally:
        assert d2.stop() == 0, d2.stderr()[-3000:]
    assert opened_at(d2) == [size], "a quiet file was read again from the start"
    assert d2.resources() == ["arn:aws:s3:::bucket/new-2"]
    with sqlite3.connect(db) as conn:
        paths = [r[0] for r in conn.execute("SELECT path FROM watch_files")]
    conn.close()
    assert paths == [str(log)], "the vanished file's checkpoint was kept or the live one lost"
