"""Refreshed snapshots on disk: written 0600 in one directory, the superseded ones swept.

Snapshot documents are privileged, so a refreshed one never outlives its
use: each new one replaces the last (the old file is deleted), and at start
one older than ``max_age`` is deleted rather than read, as the decode cache
drops its expired answers.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from diagnostics.support.logconfig import get_logger

log = get_logger()

PREFIX = "snapshot-"
SUFFIX = ".json"


def ensure_dir(directory: Path) -> None:
    """Create ``directory`` for the daemon's user only (0700)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)


def write_snapshot(directory: Path, body: bytes, now: datetime.datetime | None = None) -> Path:
    """Write ``body`` as a new snapshot file, 0600, whole or not at all (rename into place)."""
    ensure_dir(directory)
    stamp = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    path = directory / f"{PREFIX}{stamp}{SUFFIX}"
    partial = directory / f".{path.name}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    partial.replace(path)
    return path


def snapshots(directory: Path) -> list[Path]:
    """The snapshot files in ``directory``, oldest first (their names sort by time)."""
    try:
        found = sorted(directory.iterdir())
    except FileNotFoundError:
        return []
    return [p for p in found if p.name.startswith(PREFIX) and p.name.endswith(SUFFIX)]


def sweep(directory: Path, keep: Path | None = None) -> int:
    """Delete every snapshot file (and partial write) in ``directory`` but ``keep``."""
    try:
        found = list(directory.iterdir())
    except FileNotFoundError:
        return 0
    removed = 0
    for path in found:
        if path == keep or not path.name.startswith((PREFIX, f".{PREFIX}")):
            continue
        try:
            path.unlink()
            removed += 1
        except OSError as exc:
            log.warning("policies.sweep_failed", path=str(path), error=exc.strerror)
    return removed


def usable(directory: Path, max_age: float, now: float) -> Path | None:
    """The newest snapshot no older than ``max_age`` seconds; every other one is swept."""
    found = snapshots(directory)
    newest = found[-1] if found else None
    if newest is not None:
        try:
            age = now - newest.stat().st_mtime
        except OSError:
            age = max_age + 1
        if age > max_age:
            newest = None
    sweep(directory, keep=newest)
    return newest
