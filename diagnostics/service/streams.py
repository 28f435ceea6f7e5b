"""Byte streams to accepted alerts: one Extractor per stream, atomic add+checkpoint.

For every batch, the diagnoses are added to the alert manager and the
stream's checkpoint is written in one SQLite transaction.  A crash before the
commit loses neither: the bytes are re-read from the old checkpoint.  A crash
after it re-reads only bytes past ``safe_offset``; the failures already
alerted from those bytes are listed in the checkpoint's guard and skipped.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from diagnostics.model import Diagnosis, Failure, InputStats, SourceRef
from diagnostics.sources.base import (
    Awaits,
    FoundFailures,
    Mark,
    StreamClosed,
    StreamCommit,
    StreamData,
    StreamIdle,
    StreamOpened,
)
from diagnostics.sources.checkpoints import guard_key
from diagnostics.support.logconfig import get_logger

if TYPE_CHECKING:
    from diagnostics.service.metrics import ServiceMetrics
    from diagnostics.service.runtime import Runtime
    from diagnostics.support.state import StateDB

log = get_logger()

#: Checkpoint writes kept while the state directory cannot be written.
MAX_BACKLOG = 10_000


@dataclass(slots=True)
class _Stream:
    path: str
    extractor: Any
    base: int
    commit: StreamCommit | None
    skip: frozenset[str]
    pending: dict[str, int] = field(default_factory=dict)
    #: Line number at ``base`` (None: unknown, see StreamOpened.base_line).
    base_line: int | None = 1
    source: str = ""
    #: Bytes fed so far, and (stream offset, new name) for each rename seen.
    fed: int = 0
    renames: list[tuple[int, str]] = field(default_factory=list)

    def locate(self, ref: SourceRef) -> SourceRef:
        """``ref`` (stream-relative) as a place in the file: absolute offset and line, name.

        Bytes read after the file was renamed (rotated) carry its new name and
        the one the stream was opened under.
        """
        if ref.offset is None:
            return ref
        line: int | None = None
        if ref.line is not None and self.base_line is not None:
            line = self.base_line + ref.line - 1
        path, rotated_from = ref.path, ref.rotated_from
        for at, name in self.renames:
            if ref.offset >= at:
                path, rotated_from = name, self.path
        return dataclasses.replace(
            ref, path=path, line=line, offset=self.base + ref.offset, rotated_from=rotated_from
        )

    def safe_line(self) -> int | None:
        """The line number at the stream's safe offset, if the line base is known."""
        if self.base_line is None:
            return None
        return self.base_line + int(self.extractor.safe_line) - 1


class StreamProcessor:
    """Runs in the service's main thread only."""

    def __init__(
        self,
        state: StateDB,
        runtime: Callable[[], Runtime],
        *,
        max_line_bytes: int,
        stats: InputStats,
        counters: dict[str, int],
    ) -> None:
        self._state = state
        self._runtime = runtime
        self._max_line = max_line_bytes
        self.stats = stats
        self.counters = counters
        self._streams: dict[str, _Stream] = {}
        # While the state database cannot be written (disk full, read-only),
        # alerts go through an in-memory manager and checkpoints wait here.
        self.fallback: Any = None
        self._backlog: list[Mark] = []
        self.metrics: ServiceMetrics | None = None
        #: Wall-clock time of the last checkpoint written (start until then).
        self.last_checkpoint = time.time()
        self._lines_counted = stats.lines

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    def opened(self, ev: StreamOpened) -> None:
        from diagnostics.extract import Extractor

        ext = Extractor(ev.path, stats=self.stats, max_line_bytes=self._max_line)
        self._streams[ev.stream] = _Stream(
            ev.path,
            ext,
            ev.base_offset,
            ev.commit,
            ev.guard,
            base_line=ev.base_line,
            source=ev.source,
        )

    def data(self, ev: StreamData) -> None:
        st = self._streams.get(ev.stream)
        if st is None:
            return
        current = st.renames[-1][1] if st.renames else st.path
        if ev.path is not None and ev.path != current:
            st.renames.append((st.fed, ev.path))
        st.fed += len(ev.data)
        self._accept(st, st.extractor.feed(ev.data))

    def idle(self, ev: StreamIdle) -> None:
        """A stream still for IDLE_FLUSH (sources/base.py): decide held records now."""
        st = self._streams.get(ev.stream)
        if st is not None:
            self._accept(st, st.extractor.flush())

    def closed(self, ev: StreamClosed) -> None:
        st = self._streams.pop(ev.stream, None)
        if st is None:
            return
        self._accept(st, st.extractor.finish())

    def finish_uncommitted(self) -> None:
        """At shutdown: finish every stream that has no checkpoint (socket, stdin).

        A file stream keeps its held bytes behind its checkpoint and reads
        them again at the next start; a connection or a pipe cannot.
        """
        for key in [k for k, st in self._streams.items() if st.commit is None]:
            st = self._streams.pop(key)
            self._accept(st, st.extractor.finish())

    def found(self, ev: FoundFailures) -> None:
        self._commit(ev.failures, ev.mark, ev.awaits)

    def _accept(self, st: _Stream, failures: list[Failure]) -> None:
        # Lines the extractor counted since the last call were this stream's
        # (one thread feeds every extractor).
        lines, self._lines_counted = self.stats.lines - self._lines_counted, self.stats.lines
        if self.metrics is not None:
            self.metrics.records(st.source, lines)
        safe = st.base + int(st.extractor.safe_offset)
        safe_line = st.safe_line()
        fresh: list[Failure] = []
        for f in failures:
            if f.source.offset is not None:
                absolute = st.base + f.source.offset
                key = guard_key(absolute, f.dedup_key())
                if key in st.skip:
                    self.counters["reread_skipped"] = self.counters.get("reread_skipped", 0) + 1
                    continue
                st.pending[key] = absolute
                f = dataclasses.replace(f, source=st.locate(f.source))  # noqa: PLW2901
            fresh.append(f)
        # Only failures from bytes past the checkpoint can be read again.
        st.pending = {k: o for k, o in st.pending.items() if o >= safe}
        guard = tuple(st.pending)
        commit = st.commit

        def mark(conn: Any) -> None:
            if commit is not None:
                commit(conn, safe, guard, safe_line)

        # A socket or stdin stream has no checkpoint to write.
        self._commit(fresh, mark if commit is not None else None)

    def retry_deferred(self) -> None:
        """Alert failures whose deferred authorization IDs have resolved since (idle tick)."""
        due = getattr(self._runtime().decoder, "retry_due", None)
        if due is not None and due():
            self._commit([], None, retries=True)

    def _commit(
        self,
        failures: list[Failure],
        mark: Mark | None,
        awaits: Awaits | None = None,
        *,
        retries: bool = False,
    ) -> None:
        rt = self._runtime()
        diagnoses: list[Diagnosis] = []
        if failures or retries:
            try:
                diagnoses = list(rt.pipeline.diagnose(failures))
            except Exception:
                # A pipeline bug must not stop the daemon; the bytes are marked
                # consumed so the same input does not crash-loop it either.
                self.counters["pipeline_errors"] = self.counters.get("pipeline_errors", 0) + 1
                log.exception("diagnosing failed; batch skipped", failures=len(failures))
        if self.metrics is not None:
            self.metrics.diagnosed(diagnoses)
        try:
            with self._state.transaction() as conn:
                # Checkpoints held during an outage; their alerts went out already.
                for held in self._backlog:
                    held(conn)
                owed = [rt.alerts.add(d, sample=d.failure.excerpt or None) for d in diagnoses]
                if awaits is not None:
                    awaits(tuple(dict.fromkeys(o for o in owed if o is not None)))
                if mark is not None:
                    mark(conn)
        except sqlite3.OperationalError as exc:  # disk full, read-only, I/O error
            self._outage(exc, rt, diagnoses, mark)
        else:
            if mark is not None or self._backlog:
                self.last_checkpoint = time.time()
            self._recovered()
        self.counters["failures"] = self.counters.get("failures", 0) + len(diagnoses)

    def _outage(
        self, exc: sqlite3.Error, rt: Runtime, diagnoses: list[Diagnosis], mark: Mark | None
    ) -> None:
        """Keep alerting from memory; hold the checkpoint until the disk is back."""
        self.counters["state_write_errors"] = self.counters.get("state_write_errors", 0) + 1
        if self.fallback is None:
            from diagnostics.alerts import AlertManager

            self.fallback = AlertManager(rt.alerts.settings, None, rt.alerts.sinks)
            log.error(
                "state.write_failed",
                path=str(self._state.path),
                error=str(exc),
                hint="the state directory is full or read-only: alerts continue from memory, "
                "checkpoints are held until it can be written again (a restart before "
                "then reads those inputs again)",
            )
        for d in diagnoses:
            self.fallback.add(d, sample=d.failure.excerpt or None)
        if mark is not None:
            self._backlog.append(mark)
            if len(self._backlog) > MAX_BACKLOG:
                # Later checkpoints of a stream supersede earlier ones; the
                # oldest matter least.
                del self._backlog[0]

    def _recovered(self) -> None:
        if self.fallback is None:
            return
        held = len(self._backlog)
        self._backlog.clear()
        fallback, self.fallback = self.fallback, None
        try:
            fallback.flush()
        except Exception:
            log.exception("delivering the alerts kept in memory failed")
        log.warning("state.writable_again", path=str(self._state.path), checkpoints=held)

    def tick_fallback(self) -> float | None:
        """Deliver due in-memory alerts during an outage; seconds until the next is due."""
        if self.fallback is None:
            return None
        self.fallback.tick()
        due: float | None = self.fallback.next_due()
        return due
