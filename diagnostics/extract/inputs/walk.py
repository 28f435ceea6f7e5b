"""Directory inputs: every regular file under a root, safely.

Symlinks are followed only inside the root and never into directories;
FIFOs, sockets, devices and unreadable entries are skipped with a warning.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from diagnostics.extract.inputs.files import describe_error
from diagnostics.model import InputStats


def iter_input_files(root: Path, stats: InputStats) -> Iterator[Path]:
    """Regular files under ``root``, recursively, in sorted order.

    Symlinks are followed only when their target stays inside ``root`` (and
    never into directories, so there are no loops); FIFOs, sockets and
    devices are skipped, as are unreadable entries, each with a warning.
    """
    try:
        top = root.resolve()
    except OSError as exc:
        stats.rejected += 1
        stats.warnings.append(f"{root}: cannot resolve ({describe_error(exc)}); skipped")
        return
    try:
        st = root.stat()
    except OSError as exc:
        stats.rejected += 1
        stats.warnings.append(f"{root}: cannot read ({describe_error(exc)}); skipped")
        return
    if not stat.S_ISDIR(st.st_mode):
        if _usable_file(root, st, stats):
            yield root
        return
    yield from _walk(root, top, stats)


def _usable_file(path: Path, st: os.stat_result, stats: InputStats) -> bool:
    if stat.S_ISREG(st.st_mode):
        if not os.access(path, os.R_OK):
            stats.rejected += 1
            stats.warnings.append(f"{path}: permission denied; skipped")
            return False
        return True
    kind = (
        "FIFO" if stat.S_ISFIFO(st.st_mode) else "socket" if stat.S_ISSOCK(st.st_mode) else "device"
    )
    stats.rejected += 1
    stats.warnings.append(f"{path}: is a {kind}, not a regular file; skipped")
    return False


def _walk(directory: Path, top: Path, stats: InputStats) -> Iterator[Path]:
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        stats.rejected += 1
        stats.warnings.append(f"{directory}: cannot list ({describe_error(exc)}); skipped")
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            if entry.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(top):
                    stats.rejected += 1
                    stats.warnings.append(
                        f"{path}: symlink to {target}, outside {top}; not followed"
                    )
                    continue
                st = target.stat()
                if stat.S_ISDIR(st.st_mode):
                    stats.warnings.append(f"{path}: symlink to a directory; not followed")
                    continue
                if _usable_file(path, st, stats):
                    yield path
                continue
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(path, top, stats)
                continue
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            stats.rejected += 1
            stats.warnings.append(f"{path}: cannot read ({describe_error(exc)}); skipped")
            continue
        if _usable_file(path, st, stats):
            yield path
