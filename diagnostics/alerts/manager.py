"""Grouping diagnoses into notifications, with Alertmanager's timers.

A group is notified ``group_wait`` after its first diagnosis.  After that, a
new distinct failure in it is notified at the next ``group_interval``; more
of the same only bumps the count, and is notified again after
``repeat_interval``.  Every change is written to the state database inside
``state.transaction()``, which joins the caller's transaction, so the watcher
can commit an ``add`` together with its checkpoint.

Floods are bounded: at most ``max_groups`` live groups (the least recently
seen that owe nothing are evicted first, and counted), and storms of new
groups for one principal or account collapse into one alert (``storms.py``).
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence

from diagnostics.alerts import store, storms
from diagnostics.alerts.alert import Alert
from diagnostics.alerts.keys import GroupKey, group_key, variant_id
from diagnostics.alerts.memdb import database
from diagnostics.alerts.settings import AlertSettings
from diagnostics.alerts.sink import Sink, Spooling
from diagnostics.errors import ConfigError
from diagnostics.model import Diagnosis, Owed
from diagnostics.support.logconfig import get_logger
from diagnostics.support.state import StateDB

log = get_logger()

#: Longest sample line kept per group; log lines can be megabytes.
MAX_SAMPLE_CHARS = 2000
#: Seconds between two "groups evicted" log lines in a flood.
EVICTION_LOG_INTERVAL = 60.0


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
        self._db.ensure_schema("alert_storms", storms.SCHEMA)
        with self._db.transaction() as conn:
            storms.upgrade(conn)
        self._window = storms.OpenedWindow(settings.storm_window)
        self._live: int | None = None  # live groups, counted once then tracked
        self._evict_logged: float | None = None
        self._evicted_unlogged = 0
        # Sends a sink accepted that could not be written down (state disk full
        # or read-only): remembered here so they are not sent again each tick.
        self._accepted: dict[tuple[str, str], int] = {}
        # After a failed state write, notifying waits retry_delay instead of
        # spinning the watch loop on an error.
        self._write_retry_at: float | None = None

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
    ) -> Owed | None:
        """Count ``diagnosis`` into its group (durably, in the caller's transaction).

        Returns the notification that will carry it, or None when none will:
        a repeat of what was already sent, or a failure that is not alerted.
        """
        key = group_key(diagnosis)
        source = source or default_source(diagnosis)
        now = self._clock()
        with self._lock, self._db.transaction() as conn:
            skipped = self._skip_reason(diagnosis, key)
            if skipped is not None:
                store.bump(conn, skipped)
                return None
            g = store.load(conn, key.id)
            variant = variant_id(diagnosis)
            if g is None:
                storm = self._storm_for(
                    conn, key, now, storms.source_name(diagnosis.failure.source)
                )
                if storm is not None:
                    scope, g = storm
                    # A member is one distinct failure of the storm: its group id.
                    if key.id not in g.variants:
                        storms.record(conn, g.id, scope, key.action, account=key.account)
                    variant = key.id
            if g is None:
                self._make_room(conn, now)
                g = store.Group(
                    id=key.id,
                    key=key.to_json(),
                    created=now,
                    first_seen=now,
                    last_seen=now,
                    count=0,
                    variants=[variant],
                    diagnoses=[diagnosis.to_json()],
                )
                self._live = None if self._live is None else self._live + 1
            self._count_into(g, variant, diagnosis, now)
            if source:
                g.sources = [*g.sources, source][-self.settings.max_sources :]
                g.sources_total += 1
            if sample:
                self._add_sample(g, sample[:MAX_SAMPLE_CHARS])
            g.due = self._due(g)
            store.save(conn, g)
            # Only new or changed content waits for a notification; a plain
            # repeat of a sent alert is covered by the one already out.
            return Owed(g.id, g.seq + 1) if g.seq == 0 or g.dirty else None

    def delivered(self, owed: tuple[Owed, ...]) -> bool:
        """Whether every sink has delivered each of ``owed`` (or a later notification).

        A group folded into a storm is owed the storm's first notification. A
        group that is gone otherwise was delivered and forgotten, or evicted
        unsent (counted as ``evicted_unsent``): nothing more will come for it.
        """
        if not owed:
            return True
        # The state lock only, never ``_lock``: the committing thread holds the
        # state lock while it takes ``_lock`` in ``add``.
        with self._db.transaction() as conn:
            for item in owed:
                target = store.resolve(conn, item)
                if target is None:
                    continue
                for sink in self.sinks:
                    if store.delivered_seq(conn, target.group_id, sink.name) < target.seq:
                        return False
                    if isinstance(sink, Spooling) and not sink.posted(target.group_id):
                        return False
        return True

    def _count_into(self, g: store.Group, variant: str, diagnosis: Diagnosis, now: float) -> None:
        g.count += 1
        g.last_seen = max(g.last_seen, now)
        if variant not in g.variants:
            g.distinct_total += 1
            g.variants = [*g.variants, variant][-store.MAX_VARIANT_IDS :]
            if len(g.diagnoses) < self.settings.max_diagnoses:
                g.diagnoses.append(diagnosis.to_json())
            if g.seq > 0:
                g.dirty = 1

    def _add_sample(self, g: store.Group, sample: str) -> None:
        if len(g.samples) < self.settings.max_samples and sample not in g.samples:
            g.samples.append(sample)

    def _skip_reason(self, diagnosis: Diagnosis, key: GroupKey) -> str | None:
        """Why ``diagnosis`` is counted but not alerted, or None to alert it."""
        s = self.settings
        if diagnosis.failure.embedded and not s.embedded:
            return "suppressed_embedded"
        # An unknown account cannot be checked; it is alerted rather than hidden.
        if s.accounts and key.account and key.account not in s.accounts:
            return "suppressed_account"
        return None

    # -- floods -----------------------------------------------------------------

    def _storm_for(
        self, conn: sqlite3.Connection, key: GroupKey, now: float, source: str | None
    ) -> tuple[storms.Scope, store.Group] | None:
        """The storm group a new group belongs to (ongoing, or started by it), if any."""
        s = self.settings
        if s.storm_threshold <= 0:
            return None
        scopes = storms.scopes_of(key, source)
        for scope in scopes:
            g = store.load(conn, scope.key(key.account).id)
            if g is not None and now - g.last_seen <= s.storm_window:
                return scope, g
        for scope in scopes:
            threshold = storms.threshold(s, scope)
            if threshold <= 0:
                continue
            opened = self._window.add(scope, now, key.id)
            if len(opened) > threshold:
                self._window.clear(scope)
                gids = [gid for _, gid in opened if gid != key.id] if scope.folds else []
                return scope, self._start_storm(conn, scope, key, gids, now)
        return None

    def _start_storm(
        self,
        conn: sqlite3.Connection,
        scope: storms.Scope,
        key: GroupKey,
        members: list[str],
        now: float,
    ) -> store.Group:
        """A new storm group, holding the scope's recent groups not notified yet."""
        skey = scope.key(key.account)
        self._make_room(conn, now)
        storm = store.Group(
            id=skey.id, key=skey.to_json(), created=now, first_seen=now, last_seen=now,
            count=0, distinct_total=0,
        )  # fmt: skip
        folded = 0
        for gid in members:
            g = store.load(conn, gid)
            if g is None or g.seq > 0:
                continue  # notified before the storm: it keeps its own alert
            storm.count += g.count
            storm.first_seen = min(storm.first_seen, g.first_seen)
            storm.distinct_total += 1
            storm.variants = [*storm.variants, gid][-store.MAX_VARIANT_IDS :]
            room = self.settings.max_diagnoses - len(storm.diagnoses)
            storm.diagnoses.extend(g.diagnoses[: max(0, room)])
            storm.sources = [*storm.sources, *g.sources][-self.settings.max_sources :]
            storm.sources_total += g.sources_total
            for sample in g.samples:
                self._add_sample(storm, sample)
            storms.record(conn, storm.id, scope, g.key.get("action"), account=g.key.get("account"))
            store.delete(conn, gid)
            store.fold(conn, gid, storm.id)
            folded += 1
        self._live = None if self._live is None else self._live + 1 - folded
        log.warning(
            "alert.storm_started",
            scope=scope.kind,
            groups_folded=folded,
            threshold=storms.threshold(self.settings, scope),
            window=self.settings.storm_window,
            hint="new failures for this scope are collapsed into one alert while they keep "
            f"coming; raise [alerts] {storms.threshold_key(scope)} if this is normal traffic",
        )
        return storm

    def _make_room(self, conn: sqlite3.Connection, now: float) -> None:
        """Evict groups so one more fits under ``max_groups``, counting what went."""
        cap = self.settings.max_groups
        if self._live is None:
            self._live = store.count(conn)
        if self._live < cap:
            return
        # Evict a slice at once so a flood does not pay one eviction per failure.
        n = self._live - cap + max(1, cap // 100)
        quiet, unsent = store.evict(conn, n)
        self._live -= quiet + unsent
        store.bump(conn, "evicted_groups", quiet + unsent)
        if unsent:
            store.bump(conn, "evicted_unsent", unsent)
        self._evicted_unlogged += quiet + unsent
        if self._evict_logged is None or now - self._evict_logged >= EVICTION_LOG_INTERVAL:
            self._evict_logged = now
            log.warning(
                "alert.groups_evicted",
                evicted=self._evicted_unlogged,
                unsent=unsent,
                max_groups=cap,
                hint="more distinct failures than [alerts] max_groups: the least recently "
                "seen groups were forgotten (unsent ones lose their alert)",
            )
            self._evicted_unlogged = 0

    def stats(self) -> dict[str, int]:
        """Live groups and the counters kept across restarts (evicted, suppressed)."""
        with self._lock, self._db.transaction() as conn:
            out = store.stats(conn)
            out["groups"] = store.count(conn)
        return out

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
            if not force and self._write_retry_at is not None and now < self._write_retry_at:
                return
            try:
                groups, owed, built = self._cut_due(now, force=force)
            except sqlite3.Error:
                self._write_retry_at = now + self.settings.retry_delay
                raise
            self._accepted.clear()
            if not groups:
                self._write_retry_at = None
                return
            failed, delivered = self._send(owed, built)
            try:
                with self._db.transaction() as conn:
                    for gid, name, seq in delivered:
                        store.mark_delivered(conn, gid, name, seq)
                    for gid in groups:
                        conn.execute(
                            "UPDATE alert_groups SET retry_at = ? WHERE id = ?",
                            (now + self.settings.retry_delay if gid in failed else None, gid),
                        )
            except sqlite3.Error:
                for gid, name, seq in delivered:
                    self._accepted[(gid, name)] = seq
                self._write_retry_at = now + self.settings.retry_delay
                raise
            self._write_retry_at = None

    def _cut_due(
        self, now: float, *, force: bool
    ) -> tuple[dict[str, store.Group], dict[str, list[store.Group]], dict[str, Alert]]:
        """Cut the due groups into notifications and say what each sink is owed."""
        with self._db.transaction() as conn:
            for (gid, name), seq in self._accepted.items():
                store.mark_delivered(conn, gid, name, seq)
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
                    g for g in groups.values() if store.delivered_seq(conn, g.id, sink.name) < g.seq
                ]
                for sink in self.sinks
            }
            # Quiet groups whose repeat_interval has passed carry nothing a
            # restart would need; the next occurrence starts a new group.
            store.forget_quiet(conn, self.settings.repeat_interval, now)
            self._live = None
            built = {g.id: self._alert(conn, g) for g in groups.values()}
        return groups, owed, built

    def _send(
        self, owed: dict[str, list[store.Group]], built: dict[str, Alert]
    ) -> tuple[set[str], list[tuple[str, str, int]]]:
        """Hand each sink what it is owed: the groups that failed, and what was accepted."""
        failed: set[str] = set()
        delivered: list[tuple[str, str, int]] = []
        for sink in self.sinks:
            todo = owed[sink.name]
            if not todo:
                continue
            alerts = [built[g.id] for g in todo]
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
        return failed, delivered

    @staticmethod
    def _alert(conn: sqlite3.Connection, g: store.Group) -> Alert:
        alert = g.alert()
        storm = storms.summary(conn, g.id) if g.key.get("decision") == storms.STORM else None
        return dataclasses.replace(alert, storm=storm) if storm else alert

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
        if self._write_retry_at is not None:
            stamps = [max(t, self._write_retry_at) for t in stamps]
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
