"""Grouping diagnoses into notifications, with Alertmanager's timers.

A group is notified ``group_wait`` after its first diagnosis.  After that, a
new distinct failure in it is notified at the next ``group_interval``; more
of the same only bumps the count, and is notified again after
``repeat_interval``.  Every change is written to the state database inside
``state.transaction()``, which joins the caller's transaction, so the watcher
can commit an ``add`` together with its checkpoint.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import structlog

from diagnostics.alerts import store
from diagnostics.alerts.alert import Alert
from diagnostics.alerts.keys import group_key, variant_id
from diagnostics.alerts.memdb import database
from diagnostics.alerts.settings import AlertSettings
from diagnostics.errors import ConfigError
from diagnostics.model import Diagnosis
from diagnostics.sinks.base import Sink
from diagnostics.state import StateDB

log = structlog.get_logger()

#: Longest sample line kept per group; log lines can be megabytes.
MAX_SAMPLE_CHARS = 2000


def default_source(diagnosis: Diagnosis) -> str | None:
    """``path:line`` (``SourceRef.label``), or ``cloudtrail:<eventID>`` for a record."""
    src = diagnosis.failure.source
    if not src.path and not src.event_id:
        return None
    return src.label()


class AlertManager:
    """Groups diagnoses and hands due notifications to the sinks.

    With ``state=None`` groups live in memory (one-shot runs).  Thread-safe.
    """

    def __init__(
        self,
        settings: AlertSettings,
        state: StateDB | None,
        sinks: Sequence[Sink],
        *,
        clock: Callable[[], float] = time.time,
        on_delivery: Callable[[str, Sequence[Alert], bool], None] | None = None,
    ) -> None:
        """``on_delivery(sink, alerts, ok)`` is told each send's outcome (metrics)."""
        names = [s.name for s in sinks]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(
                f"two sinks are named {dupes[0]!r}; give each [[sink]] a distinct "
                'name = "..." so deliveries can be tracked per sink'
            )
        self.settings = settings
        self.sinks = tuple(sinks)
        self._clock = clock
        self._on_delivery = on_delivery
        self._lock = threading.RLock()
        self._db = database(state)
        self._db.ensure_schema("alerts", store.SCHEMA)

    # -- grouping -------------------------------------------------------------

    def _due(self, g: store.Group) -> float | None:
        s = self.settings
        if g.seq == 0:
            return g.created + s.group_wait
        assert g.notified_at is not None
        if g.dirty:
            return g.notified_at + s.group_interval
        if g.count > g.notified_count:
            return g.notified_at + s.repeat_interval
        return None

    def add(
        self, diagnosis: Diagnosis, sample: str | None = None, source: str | None = None
    ) -> None:
        """Count ``diagnosis`` into its group (durably, in the caller's transaction)."""
        key = group_key(diagnosis)
        variant = variant_id(diagnosis)
        source = source or default_source(diagnosis)
        s = self.settings
        now = self._clock()
        with self._lock, self._db.transaction() as conn:
            g = store.load(conn, key.id)
            if g is None:
                g = store.Group(
                    id=key.id,
                    key=key.to_json(),
                    created=now,
                    first_seen=now,
                    last_seen=now,
                    count=1,
                    variants=[variant],
                    diagnoses=[diagnosis.to_json()],
                )
            else:
                g.count += 1
                g.last_seen = max(g.last_seen, now)
                if variant not in g.variants:
                    g.distinct_total += 1
                    g.variants = [*g.variants, variant][-store.MAX_VARIANT_IDS :]
                    if len(g.diagnoses) < s.max_diagnoses:
                        g.diagnoses.append(diagnosis.to_json())
                    if g.seq > 0:
                        g.dirty = 1
            if source:
                g.sources = [*g.sources, source][-s.max_sources :]
                g.sources_total += 1
            if sample:
                sample = sample[:MAX_SAMPLE_CHARS]
                if len(g.samples) < s.max_samples and sample not in g.samples:
                    g.samples.append(sample)
            g.due = self._due(g)
            store.save(conn, g)

    # -- notifying ------------------------------------------------------------

    def tick(self) -> None:
        """Notify every group that is due, and retry sinks that failed before."""
        self._run(force=False)

    def flush(self) -> None:
        """Notify every group with something unsent now (stdin EOF, SIGTERM drain)."""
        self._run(force=True)

    def _run(self, *, force: bool) -> None:
        now = self._clock()
        with self._lock:
            with self._db.transaction() as conn:
                where = "due IS NOT NULL AND due <= ?"
                if force:
                    where = f"({where}) OR seq = 0 OR dirty = 1"
                cut = store.load_where(conn, where, (now,))
                for g in cut:
                    self._cut(g, now)
                    store.save(conn, g)
                retry_where = "retry_at IS NOT NULL" + ("" if force else " AND retry_at <= ?")
                retry = store.load_where(conn, retry_where, () if force else (now,))
                groups = {g.id: g for g in [*cut, *retry]}
                owed = {
                    sink.name: [
                        g
                        for g in groups.values()
                        if store.delivered_seq(conn, g.id, sink.name) < g.seq
                    ]
                    for sink in self.sinks
                }
                # Quiet groups whose repeat_interval has passed carry nothing a
                # restart would need; the next occurrence starts a new group.
                store.forget_quiet(conn, self.settings.repeat_interval, now)
            if not groups:
                return
            failed: set[str] = set()
            delivered: list[tuple[str, str, int]] = []
            for sink in self.sinks:
                todo = owed[sink.name]
                if not todo:
                    continue
                alerts = [g.alert() for g in todo]
                try:
                    sink.send(alerts)
                except Exception as exc:
                    self._delivery(sink.name, alerts, ok=False)
                    failed.update(g.id for g in todo)
                    log.warning(
                        "alert.sink_failed",
                        sink=sink.name,
                        alerts=len(todo),
                        error=str(exc),
                        retry_in=self.settings.retry_delay,
                    )
                    continue
                self._delivery(sink.name, alerts, ok=True)
                delivered.extend((g.id, sink.name, g.seq) for g in todo)
            with self._db.transaction() as conn:
                for gid, name, seq in delivered:
                    store.mark_delivered(conn, gid, name, seq)
                for gid in groups:
                    conn.execute(
                        "UPDATE alert_groups SET retry_at = ? WHERE id = ?",
                        (now + self.settings.retry_delay if gid in failed else None, gid),
                    )

    def _delivery(self, sink: str, alerts: Sequence[Alert], *, ok: bool) -> None:
        if self._on_delivery is None:
            return
        try:
            self._on_delivery(sink, alerts, ok)
        except Exception:  # counting must never cost a delivery
            log.exception("alert delivery hook failed", sink=sink)

    def _cut(self, g: store.Group, now: float) -> None:
        """Turn a due group into its next notification."""
        g.status = "new" if g.seq == 0 else ("updated" if g.dirty else "repeat")
        g.prev_count = g.notified_count if g.seq else 0
        g.seq += 1
        g.notified_at = now
        g.notified_count = g.count
        g.dirty = 0
        g.due = self._due(g)
        # Owed to the sinks until they accept it; survives a crash before send.
        g.retry_at = now

    def next_due(self) -> float | None:
        """Seconds until ``tick`` has work (0 when it has now); None when idle."""
        with self._lock, self._db.transaction() as conn:
            row = conn.execute("SELECT MIN(due), MIN(retry_at) FROM alert_groups").fetchone()
        stamps = [float(x) for x in row if x is not None]
        if not stamps:
            return None
        return max(0.0, min(stamps) - self._clock())

    def pending(self) -> int:
        """Groups with a notification not yet accepted by every sink, or not yet cut."""
        with self._lock, self._db.transaction() as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM alert_groups WHERE seq = 0 OR dirty = 1 "
                "OR retry_at IS NOT NULL"
            ).fetchone()
        return int(row[0])

    def close(self, timeout: float = 10.0) -> None:
        """Close every sink, sharing ``timeout`` seconds between them."""
        deadline = time.monotonic() + timeout
        for sink in self.sinks:
            try:
                sink.close(max(0.0, deadline - time.monotonic()))
            except Exception as exc:
                log.warning("alert.sink_close_failed", sink=sink.name, error=str(exc))
