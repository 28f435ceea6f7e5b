"""Reading a file below a source's root without following a symlink planted there.

A user who can create entries in a watched tree could otherwise point a
directory (``/w/evil -> /home/alice``) or a file at something the daemon may
read and they may not.  The root itself (the fixed part of a glob, a
``cloudtrail_dir`` path) is the operator's choice and is followed; every
component below it must be a real directory, and the file a real file.

``symlinked_dir`` is the cheap check made while listing; ``open_below`` is the
one that counts: it walks down from the root with ``O_NOFOLLOW`` on every
component (``openat``), so a directory swapped for a symlink between the
listing and the open is refused too.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

from diagnostics.support.logconfig import get_logger

log = get_logger()

#: Refused paths remembered so each is warned about once; past this the memory
#: starts over (a tree full of planted links must not grow the daemon).
MAX_REMEMBERED = 10_000

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO swapped in after the listing must not block the open.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class SymlinkRefused(OSError):
    """``link`` (at or below the root) is a symlink and symlinks are not followed."""

    def __init__(self, link: str) -> None:
        super().__init__(errno.ELOOP, "symlink not followed", link)
        self.link = link


class NotRegular(OSError):
    """The path names a FIFO, device, socket or directory, not a regular file."""


def _parts(root: str, path: str) -> list[str] | None:
    """The components of ``path`` below ``root``, or None when it is not below it."""
    prefix = root if root.endswith("/") else root + "/"
    if not path.startswith(prefix):
        return None
    parts = [p for p in path[len(prefix) :].split("/") if p and p != "."]
    return parts or None


def symlinked_dir(root: str, path: str) -> str | None:
    """The first directory between ``root`` and ``path``'s file that is a symlink, if any."""
    parts = _parts(root, path)
    if parts is None:
        return None
    current = Path(root)
    for part in parts[:-1]:
        current = current / part
        if current.is_symlink():
            return str(current)
    return None


def open_below(root: str, path: str) -> int:
    """An fd on the regular file ``path``, reached from ``root`` without following symlinks.

    Raises ``SymlinkRefused`` naming the link, ``NotRegular``, or ``OSError``.
    """
    parts = _parts(root, path)
    if parts is None:
        raise OSError(errno.EXDEV, "not below the source's root", path)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    current = Path(root)
    try:
        for part in parts[:-1]:
            current = current / part
            nxt = _openat(fd, part, _DIR_FLAGS, str(current))
            os.close(fd)
            fd = nxt
        out = _openat(fd, parts[-1], _FILE_FLAGS, path)
    finally:
        os.close(fd)
    try:
        if not stat.S_ISREG(os.fstat(out).st_mode):
            raise NotRegular(errno.EINVAL, "not a regular file", path)
        os.set_blocking(out, True)
    except BaseException:
        os.close(out)
        raise
    return out


def _openat(dir_fd: int, name: str, flags: int, shown: str) -> int:
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        # O_NOFOLLOW says ELOOP for a file link, ENOTDIR for a link where a
        # directory was asked for; only a look at the entry tells which it was.
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            try:
                is_link = stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode)
            except OSError:
                is_link = False
            if is_link:
                raise SymlinkRefused(shown) from None
        raise


class Refusals:
    """Counts and warns once per path refused for a symlink (the source's own stats)."""

    def __init__(self, source: str, count: Callable[[str], None]) -> None:
        self.source = source
        self._count = count
        self._seen: set[str] = set()

    def refused(self, path: str, link: str) -> None:
        if path in self._seen:
            return
        if len(self._seen) >= MAX_REMEMBERED:
            self._seen.clear()
        self._seen.add(path)
        self._count("symlinks_refused")
        from diagnostics.text.safe import line

        log.warning(
            "symlink not followed",
            source=self.source,
            path=line(path),
            symlink=line(link),
            hint="a symlink below the source's root may lead anywhere the daemon can read; "
            "set follow_symlinks = true on this source if it is intended",
        )
