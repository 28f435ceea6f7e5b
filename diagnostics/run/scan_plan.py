"""How many processes a ``scan`` uses, decided from the size of its input.

Kept apart from ``scan_workers`` so that deciding costs no import of
``multiprocessing`` when the answer is one process.
"""

from __future__ import annotations

import os
from pathlib import Path

#: With ``--jobs`` unset, workers start only for inputs this big (gzip counted
#: as read): below it, starting them costs more than they save.
AUTO_MIN_BYTES = 16 << 20
#: With ``--jobs`` unset, at most this many workers.
AUTO_MAX_JOBS = 4
#: A gzip file reads as about this many times its size (CloudTrail compresses about 10:1).
GZIP_EXPANSION = 8
#: A file bigger than this (gzip counted as read) is extracted by the parent:
#: its failures would be too many to hold and send at once.
MAX_TASK_BYTES = 32 << 20
#: With workers, a plain file at least this big is cut into ranges read by
#: several of them (``extract/inputs/split.py`` says where it may be cut).
SPLIT_MIN_BYTES = 2 * MAX_TASK_BYTES


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def read_size(path: Path) -> int:
    """A guess at the bytes reading ``path`` gives: gzip counts as decompressed."""
    try:
        size = path.stat().st_size
    except OSError:
        return 0
    return size * GZIP_EXPANSION if path.suffix == ".gz" else size


def auto_jobs(files: int, size: int) -> int:
    """Workers for ``--jobs`` unset: one per CPU (at most ``AUTO_MAX_JOBS``) for big trees.

    ``size`` is what ``read_size`` says of all the files.  One file gets no
    workers unless asked for: they could only diagnose its failures (about a
    seventh faster on a dense file) and each costs about 45 MB.
    """
    if files < 2 or size < AUTO_MIN_BYTES:
        return 1
    return min(usable_cpus(), AUTO_MAX_JOBS)


def split_parts(path: Path, jobs: int) -> int:
    """Ranges to cut ``path`` into for ``jobs`` workers: 1 keeps it whole.

    A big plain file (not gzip: its bytes can only be read in order): one
    range per ``MAX_TASK_BYTES``, and at least one per worker, so the
    parent folds and hands out early ranges while later ones are read.
    """
    if jobs < 2 or path.suffix == ".gz":
        return 1
    try:
        size = path.stat().st_size
    except OSError:
        return 1
    if size < SPLIT_MIN_BYTES:
        return 1
    return max(jobs, -(-size // MAX_TASK_BYTES))
