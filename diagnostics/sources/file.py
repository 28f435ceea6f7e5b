"""``type = "file"``: tail files matched by globs, across rotation and truncation.

One thread per source.  It wakes on inotify events (watchdog) and at least
every ``poll_interval`` (the reconcile that catches whatever inotify missed),
re-evaluates the globs, and reads every tracked file to its end.

A file is tracked by identity (device, inode) and recognised across restarts
by that identity plus a fingerprint of its first bytes, so a reused inode is
read from the start instead of from a stranger's offset.  When a path starts
to name another file (rename+create rotation), the old file stays open and is
read to EOF; it is closed once it has been quiet for a grace period, so a
writer that still appends to the renamed file loses nothing.  Truncation
(copytruncate) is noticed when the size drops below the read offset; it is
best-effort: bytes written between the copy and the truncation, or a file
that regrows past the offset before the next look, cannot be told apart.
"""

from __future__ import annotations

import glob
import os
import stat
import threading
import time
from dataclasses import dataclass
from itertools import count
from typing import TYPE_CHECKING, Any, BinaryIO

from diagnostics.sources import checkpoints, file_glob, file_position
from diagnostics.sources.base import (
    IDLE_FLUSH,
    Emit,
    SourceContext,
    StreamClosed,
    StreamData,
    StreamIdle,
    StreamOpened,
)
from diagnostics.sources.file_watch import DirWatch, watch_roots
from diagnostics.sources.symlinks import (
    NotRegular,
    Refusals,
    SymlinkRefused,
    open_below,
    symlinked_dir,
)
from diagnostics.support.logconfig import get_logger

if TYPE_CHECKING:
    import sqlite3


log = get_logger()

#: Seconds between sweeps of checkpoints whose files no longer match the globs.
FORGET_SWEEP = 3600.0


@dataclass(slots=True)
class _Tracked:
    path: str
    fh: BinaryIO
    dev: int
    ino: int
    offset: int
    stream: str
    fp: tuple[int, str]
    gone_since: float | None = None
    last_growth: float = 0.0
    #: Grew since the extractor last decided its held records (see IDLE_FLUSH).
    unflushed: bool = False
    #: Bumped on truncation: commits of the stream before it no longer describe the file.
    generation: int = 0
    #: The name the current stream was opened under; ``path`` differs after a rotation.
    opened_path: str = ""


@dataclass(frozen=True, slots=True)
class _Match:
    st: os.stat_result
    #: The fixed part of the glob that matched: symlinks below it are not followed.
    root: str


class FileSource:
    finite = False

    def __init__(
        self,
        name: str,
        ctx: SourceContext,
        patterns: list[str],
        *,
        start_at: str = "end",
        follow_symlinks: bool = False,
        rotate_grace: float = 2.0,
    ) -> None:
        self.name = name
        self._ctx = ctx
        self._patterns = patterns
        self._start_at = start_at
        self._follow = follow_symlinks
        self._grace = rotate_grace
        self._tracked: dict[tuple[int, int], _Tracked] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch = DirWatch(name, self._patterns, self._wake)
        self._ids = count(1)
        self._first = False
        self._ready = threading.Event()
        self._next_sweep = 0.0
        self._caught_up: float | None = None
        self._refusals = Refusals(name, ctx.count)

    # -- lifecycle ---------------------------------------------------------

    def start(self, emit: Emit) -> None:
        checkpoints.ensure(self._ctx.state)
        self._first = checkpoints.first_start(self._ctx.state, self.name)
        self._watch.start()
        self._thread = threading.Thread(
            target=self._run, args=(emit,), name=f"source-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
        self._watch.stop(timeout)
        for t in self._tracked.values():
            t.fh.close()
        self._tracked.clear()

    def is_ready(self) -> bool:
        return self._ready.is_set()

    def caught_up_at(self) -> float | None:
        """Monotonic time a pass last read every file to its end (metrics: source lag)."""
        return self._caught_up

    def _run(self, emit: Emit) -> None:
        # The first pass opens every matched file before READY=1 is sent.
        self._reconcile(emit, initial=True)
        while not self._stop.is_set():
            self._wake.wait(self._ctx.poll_interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._watch.schedule()
                self._reconcile(emit, initial=False)
            except Exception:
                # Never let one odd file end tailing for every other file.
                log.exception("file source pass failed; retrying", source=self.name)

    # -- one pass ------------------------------------------------------------

    def _matches(self) -> dict[str, _Match]:
        found: dict[str, _Match] = {}
        for pattern in self._patterns:
            root = watch_roots(pattern)[0]
            if self._follow:
                matches = glob.glob(pattern, recursive=True)  # noqa: PTH207 - str paths
            else:
                # glob.glob would follow `**` into planted links, in circles.
                matches = file_glob.expand(pattern, self._refusals.refused)
            for path in sorted(matches):
                if path in found:
                    continue
                link = None if self._follow else symlinked_dir(root, path)
                if link is not None:
                    self._refusals.refused(path, link)
                    continue
                try:
                    lst = os.lstat(path)
                    if stat.S_ISLNK(lst.st_mode):
                        if not self._follow:
                            self._refusals.refused(path, path)
                            continue
                        lst = os.stat(path)  # noqa: PTH116 - str paths from glob
                except OSError:
                    continue  # vanished between listing and looking
                if stat.S_ISREG(lst.st_mode):
                    found[path] = _Match(lst, root)
        return found

    def _reconcile(self, emit: Emit, *, initial: bool) -> None:
        now = time.monotonic()
        matched = self._matches()
        seen: set[tuple[int, int]] = set()
        for path, match in matched.items():
            ident = (match.st.st_dev, match.st.st_ino)
            seen.add(ident)
            tracked = self._tracked.get(ident)
            if tracked is None:
                self._open(path, match, emit, initial=initial)
            else:
                tracked.path = path
                tracked.gone_since = None
        for ident, tracked in list(self._tracked.items()):
            if ident not in seen and tracked.gone_since is None:
                tracked.gone_since = now  # renamed away or deleted: drain it
                # Renamed out of the globs (app.log -> app.log.1): label what is
                # still read from it with the name it has now.
                tracked.path = file_position.current_name(tracked.fh.fileno()) or tracked.path
        self._ready.set()
        if now >= self._next_sweep:
            self._next_sweep = now + FORGET_SWEEP
            self._forget(seen | set(self._tracked))
        for tracked in list(self._tracked.values()):
            if self._stop.is_set():
                return
            self._read(tracked, emit, now)
        self._caught_up = time.monotonic()

    def _forget(self, present: set[tuple[int, int]]) -> None:
        try:
            n = checkpoints.forget_unmatched(self._ctx.state, self.name, present)
        except Exception as exc:
            # A read-only or full state directory must not stop tailing.
            log.warning("cannot forget old checkpoints", source=self.name, error=str(exc))
            return
        if n:
            log.info("forgot checkpoints of vanished files", source=self.name, count=n)

    def _open_file(self, path: str, root: str) -> BinaryIO | None:
        """The file opened for reading; None (counted, warned) when it cannot or must not be."""
        try:
            if self._follow:
                return open(path, "rb")  # noqa: PTH123 - held open across passes
            # Walks down from the glob's root without following a link, so a
            # directory swapped for a symlink since the listing is caught here.
            return os.fdopen(open_below(root, path), "rb")
        except SymlinkRefused as exc:
            self._refusals.refused(path, exc.link)
        except NotRegular:
            pass  # replaced by a FIFO or a directory since the listing: skipped, as listed ones are
        except OSError as exc:
            self._ctx.count("open_errors")
            log.warning("cannot open file", source=self.name, path=path, error=exc.strerror)
        return None

    def _open(self, path: str, match: _Match, emit: Emit, *, initial: bool) -> None:
        st = match.st
        fh = self._open_file(path, match.root)
        if fh is None:
            return
        fst = os.fstat(fh.fileno())
        if (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
            fh.close()  # replaced between stat and open; the next pass sees the new one
            return
        head = os.pread(fh.fileno(), checkpoints.FINGERPRINT_BYTES, 0)
        saved = checkpoints.load_file(self._ctx.state, self.name, fst.st_dev, fst.st_ino)
        guard: frozenset[str] = frozenset()
        line: int | None = 1
        if saved is not None:
            if (
                checkpoints.fingerprint(head[: saved.fp_len]) == saved.fp
                and saved.offset <= fst.st_size
            ):
                start, guard, line = saved.offset, saved.guard, saved.line
            else:
                log.info("inode reused by another file; reading from the start", path=path)
                start = 0
        elif initial and self._first and self._start_at == "end":
            start = fst.st_size
            line = None
        else:
            start = 0  # files created after the first start are read whole
        if line is None and start > 0:
            line = file_position.line_at(fh.fileno(), start)
            if line is None:
                log.warning(
                    "line numbers unknown for this file; alerts give byte offsets",
                    source=self.name,
                    path=path,
                    offset=start,
                    hint="the file is too large to count its lines at start; numbering "
                    "starts over when it rotates",
                )
        tracked = _Tracked(
            path=path,
            fh=fh,
            dev=fst.st_dev,
            ino=fst.st_ino,
            offset=start,
            stream=f"{self.name}:{path}#{next(self._ids)}",
            fp=(len(head), checkpoints.fingerprint(head)),
            last_growth=time.monotonic(),
            opened_path=path,
        )
        fh.seek(start)
        self._tracked[(fst.st_dev, fst.st_ino)] = tracked
        self._ctx.count("files_opened")
        log.info("following file", source=self.name, path=path, offset=start)
        emit(
            StreamOpened(
                stream=tracked.stream,
                path=path,
                base_offset=start,
                commit=self._committer(tracked),
                guard=guard,
                base_line=line if start > 0 else 1,
                source=self.name,
            )
        )

    def _committer(
        self, tracked: _Tracked
    ) -> Any:  # StreamCommit; typed loosely to bind the tracked record
        name = self.name
        generation = tracked.generation

        def commit(
            conn: sqlite3.Connection, offset: int, guard: tuple[str, ...], line: int | None
        ) -> None:
            if tracked.generation != generation:
                # Bytes read before a truncation: their offset would pair an old
                # position with the new head's fingerprint.  The new stream's own
                # commits write the checkpoint (its alerts still commit here).
                return
            fp_len, fp = tracked.fp
            identity = (tracked.dev, tracked.ino, tracked.path, fp_len, fp)
            checkpoints.save_file(conn, name, identity, offset, guard, line=line)

        return commit

    def _read(self, tracked: _Tracked, emit: Emit, now: float) -> None:
        try:
            size = os.fstat(tracked.fh.fileno()).st_size
        except OSError:
            size = tracked.offset
        if size < tracked.offset:
            self._ctx.count("truncations")
            log.warning(
                "file truncated; reading it again from the start",
                source=self.name,
                path=tracked.path,
                size=size,
                offset=tracked.offset,
            )
            emit(StreamClosed(stream=tracked.stream, reason="truncated"))
            tracked.offset = 0
            tracked.fh.seek(0)
            # The old head is gone: recompute the fingerprint from the new bytes
            # below, or the next start would take this file for a stranger.
            tracked.fp = (0, checkpoints.fingerprint(b""))
            tracked.generation += 1
            tracked.stream = f"{self.name}:{tracked.path}#{next(self._ids)}"
            tracked.opened_path = tracked.path
            emit(
                StreamOpened(
                    stream=tracked.stream,
                    path=tracked.path,
                    base_offset=0,
                    commit=self._committer(tracked),
                    source=self.name,
                )
            )
        chunk = self._ctx.limits.read_chunk_bytes
        grew = False
        while not self._stop.is_set():
            data = tracked.fh.read(chunk)
            if not data:
                break
            grew = True
            if tracked.fp[0] < checkpoints.FINGERPRINT_BYTES and tracked.offset < tracked.fp[
                0
            ] + len(data):
                head = os.pread(tracked.fh.fileno(), checkpoints.FINGERPRINT_BYTES, 0)
                tracked.fp = (len(head), checkpoints.fingerprint(head))
            tracked.offset += len(data)
            self._ctx.count("bytes_read", len(data))
            # A rotated file's bytes say which name they were read under.
            renamed = tracked.path if tracked.path != tracked.opened_path else None
            if not emit(StreamData(stream=tracked.stream, data=data, path=renamed)):
                return
        if grew:
            tracked.last_growth = now
            tracked.unflushed = True
        elif tracked.unflushed and now - tracked.last_growth >= IDLE_FLUSH:
            tracked.unflushed = False
            if not emit(StreamIdle(stream=tracked.stream)):
                return
        if (
            tracked.gone_since is not None
            and now - max(tracked.gone_since, tracked.last_growth) >= self._grace
        ):
            emit(StreamClosed(stream=tracked.stream, reason="rotated"))
            tracked.fh.close()
            del self._tracked[(tracked.dev, tracked.ino)]
            log.info("finished rotated file", source=self.name, path=tracked.path)
