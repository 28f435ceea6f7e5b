"""Failing dependencies: STS faults, a full or read-only disk, a corrupt state file.

Each test runs the real `authz-diag watch` subprocess against loopback doubles
and real files; the injected fault and the outcome are in its docstring.
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_watch_daemon import Daemon, append, file_source, line, write_config

from diagnostics.support.state import StateDB
from diagnostics.testing import StsDouble, decoded_message, fake_blob

ACCOUNT = "123456789012"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIAFAULTTESTKEY0001",
    "AWS_SECRET_ACCESS_KEY": "fault-test-secret-not-real",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def blob_line(i: int) -> str:
    """A denied RunInstances with its own instance ARN and encoded message, then a plain line."""
    return (
        f"User: arn:aws:iam::{ACCOUNT}:user/ci is not authorized to perform: ec2:RunInstances "
        f"on resource: arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-{i:04d} because no "
        "identity-based policy allows the ec2:RunInstances action. Encoded authorization "
        f"failure message: {fake_blob(i, 600)}\nnext line\n"
    )


def diagnosis_for(d: Daemon, i: int) -> dict[str, Any] | None:
    want = f"instance/i-{i:04d}"
    for a in d.alerts:
        for diag in a.get("diagnoses", []):
            if (diag.get("resource") or "").endswith(want):
                return diag  # type: ignore[no-any-return]
    return None


# -- STS --------------------------------------------------------------------------

STS_FAULTS = [
    # (double's fault kind, words the decode_error must contain, any of)
    ("throttle", ["throttl", "rate"]),
    ("internal_error", ["internal", "500", "sts"]),
    ("unavailable", ["unavailable", "503", "sts"]),
    ("access_denied", ["denied", "permission", "decodeauthorizationmessage"]),
    ("expired_token", ["expired", "credential", "token"]),
    ("hang", ["timed out", "timeout", "connection", "unreachable", "sts"]),
]


@pytest.mark.slow
def test_sts_faults_each_give_a_decode_error_then_decoding_resumes(tmp_path: Path) -> None:
    """Throttling, 500, 503, AccessDenied, expired credentials and a hang: each diagnosis
    still arrives with a decode_error saying what happened; once STS recovers, decoding works."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    resources = {
        fake_blob(i, 600): f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-{i:04d}" for i in range(10)
    }
    with StsDouble(
        default=lambda blob, call: decoded_message(
            action="ec2:RunInstances",
            resource=resources.get(blob, "arn:aws:ec2:us-east-1:123456789012:instance/x"),
            principal_arn=f"arn:aws:iam::{ACCOUNT}:user/ci",
        ),
        hang_seconds=2.0,
    ) as sts:
        cfg = write_config(tmp_path, file_source(logdir))
        cfg.write_text(
            cfg.read_text().replace(
                "[decode]\nenabled = false\n",
                f'[decode]\nendpoint_url = "{sts.endpoint_url}"\nregion = "us-east-1"\n'
                "max_attempts = 1\n",
            )
        )
        d = Daemon(tmp_path, cfg, env=AWS_ENV)
        errors: dict[str, str] = {}
        try:
            d.wait_ready()
            for i, (kind, _) in enumerate(STS_FAULTS):
                sts.fail_next(kind, None)  # until cleared: a storm, not one blip
                append(logdir / "app.log", blob_line(i))
                d.wait_for(lambda i=i: diagnosis_for(d, i) is not None, 40, f"alert {kind}")
                sts.clear_faults()
                diag = diagnosis_for(d, i)
                assert diag is not None
                errors[kind] = diag.get("decode_error") or ""
            append(logdir / "app.log", blob_line(9))
            d.wait_for(lambda: diagnosis_for(d, 9) is not None, 30, "alert after recovery")
        finally:
            assert d.stop() == 0
    for kind, words in STS_FAULTS:
        print(f"\n{kind}: {errors[kind]}")
        text = errors[kind].lower()
        assert text, f"{kind}: no decode_error"
        assert any(w in text for w in words), f"{kind}: {errors[kind]!r}"
        assert AWS_ENV["AWS_SECRET_ACCESS_KEY"] not in errors[kind]
    recovered = diagnosis_for(d, 9)
    assert recovered is not None and recovered.get("decoded") is not None
    assert not recovered.get("decode_error")
    assert d.proc.returncode == 0  # no fault stopped the daemon


# -- a corrupt state file -------------------------------------------------------------


def test_corrupt_state_file_is_moved_aside_and_a_fresh_one_used(tmp_path: Path) -> None:
    """A state file that is not SQLite is renamed *.corrupt-<time> and an empty one opened."""
    state = tmp_path / "state"
    state.mkdir()
    (state / "state.sqlite3").write_bytes(b"this is not a database" * 500)
    (state / "state.sqlite3-wal").write_bytes(b"garbage wal")
    for f in state.iterdir():  # the service's own files: a looser mode is refused
        f.chmod(0o600)
    db = StateDB.in_dir(state)
    db.ensure_schema("t", "CREATE TABLE IF NOT EXISTS t (a INTEGER)")
    with db.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (1)")
    db.close()
    aside = sorted(p.name for p in state.iterdir() if ".corrupt-" in p.name)
    # SQLite may already have discarded the unreadable WAL; the main file is kept.
    assert aside and aside[0].startswith("state.sqlite3.corrupt-")
    assert (state / aside[0]).read_bytes().startswith(b"this is not a database")


def test_unopenable_state_is_still_a_clear_error(tmp_path: Path) -> None:
    """A state path that cannot be created (a file where the directory should be) is not
    'corrupt': nothing is moved, and the error says what to check."""
    (tmp_path / "state").write_text("a file, not a directory")
    from diagnostics.errors import StateError

    with pytest.raises(StateError, match="writable by this user"):
        StateDB.in_dir(tmp_path / "state")
    assert (tmp_path / "state").read_text() == "a file, not a directory"


@pytest.mark.slow
def test_daemon_with_corrupt_state_starts_fresh_and_alerts(tmp_path: Path) -> None:
    """`watch` over a corrupt state.sqlite3 logs it loudly, starts, alerts, and restarts cleanly."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "state.sqlite3").write_bytes(b"\x00garbage" * 4096)
    (tmp_path / "state" / "state.sqlite3").chmod(0o600)  # the service's own file
    cfg = write_config(tmp_path, file_source(logdir))
    for round_ in range(2):  # the second start must not find anything to complain about
        d = Daemon(tmp_path, cfg)
        try:
            d.wait_ready()
            append(logdir / "app.log", line(round_, "corrupt"))
            d.wait_resources(1)
        finally:
            assert d.stop() == 0
        events = [e for e in d.logs() if e.get("event") == "state.corrupt_moved_aside"]
        assert len(events) == (1 if round_ == 0 else 0)
        if events:
            assert "empty state database" in events[0]["hint"]
    assert len(list((tmp_path / "state").glob("state.sqlite3.corrupt-*"))) == 1


# -- a full, then read-only, state directory -------------------------------------------


@pytest.fixture
def tiny_state(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs as the state directory (needs CAP_SYS_ADMIN; skipped without it)."""
    mnt = tmp_path / "state"
    mnt.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mnt)],
        capture_output=True,
        check=False,
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(mnt: Path) -> None:
    with (mnt / "filler").open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError:
            pass


def _checkpoint(state: Path) -> int:
    conn = sqlite3.connect(state / "state.sqlite3")
    try:
        row = conn.execute("SELECT MAX(offset) FROM watch_files").fetchone()
    finally:
        conn.close()
    return int(row[0] or 0)


@pytest.mark.slow
def test_full_state_dir_keeps_alerting_and_resumes(tmp_path: Path, tiny_state: Path) -> None:
    """A state disk that fills up: alerts keep coming, the outage is logged as an error,
    and once space is back the checkpoint catches up with the file."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    log = logdir / "app.log"
    log.write_text("")
    d = Daemon(tmp_path, write_config(tmp_path, file_source(logdir)))
    try:
        d.wait_ready()
        append(log, line(0, "disk"))
        d.wait_resources(1)
        _fill(tiny_state)
        append(log, line(1, "disk") + line(2, "disk"))
        d.wait_resources(3)  # alerted while the disk is full
        (tiny_state / "filler").unlink()
        append(log, line(3, "disk"))
        d.wait_resources(4)
        d.wait_for(lambda: _checkpoint(tiny_state) == log.stat().st_size, 60, "checkpoint")
    finally:
        assert d.stop() == 0
    _assert_one_outage(d, 4)


def _assert_one_outage(d: Daemon, alerts: int) -> None:
    events = [e.get("event") for e in d.logs()]
    assert events.count("state.write_failed") == 1
    assert events.count("state.writable_again") == 1
    failed = next(e for e in d.logs() if e.get("event") == "state.write_failed")
    assert failed["level"] == "error" and "full or read-only" in failed["hint"]
    got = d.resources()
    assert sorted(got) == sorted(set(got)), "an alert was sent twice"
    assert len(got) == alerts


def _chattr(flag: str, paths: list[Path]) -> None:
    subprocess.run(["chattr", flag, *map(str, paths)], check=True, capture_output=True)


@pytest.mark.slow
def test_read_only_state_dir_keeps_alerting_and_resumes(tmp_path: Path) -> None:
    """State files made immutable (chattr +i: read-only even for root): alerts keep coming,
    the outage is logged, and the checkpoint resumes when they are writable again."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    log = logdir / "app.log"
    log.write_text("")
    state = tmp_path / "state"
    d = Daemon(tmp_path, write_config(tmp_path, file_source(logdir)))
    locked: list[Path] = []
    try:
        d.wait_ready()
        append(log, line(0, "ro"))
        d.wait_resources(1)
        locked = [state, *state.iterdir()]
        try:
            _chattr("+i", locked)
        except (OSError, subprocess.CalledProcessError) as exc:
            locked = []
            pytest.skip(f"chattr +i does not work here: {exc}")
        append(log, line(1, "ro") + line(2, "ro"))
        d.wait_resources(3)  # alerted while read-only
        _chattr("-i", locked)
        locked = []
        append(log, line(3, "ro"))
        d.wait_resources(4)
        d.wait_for(lambda: _checkpoint(state) == log.stat().st_size, 60, "checkpoint")
    finally:
        if locked:
            _chattr("-i", locked)
        assert d.stop() == 0
    _assert_one_outage(d, 4)
