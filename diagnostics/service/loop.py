"""The ``watch`` service: sources → bounded queue → pipeline → alerts → sinks.

Threads: one (or more) per source, each only reading and putting events on
one bounded queue; the main thread does everything else (extract, diagnose,
commit, tick the alerts, sd_notify).  A slow sink therefore slows the main
thread, the queue fills and the readers block: backpressure, flat memory.
The WATCHDOG=1 ping comes from this same loop, so a hung loop is restarted;
decoding pings too while STS answers, within a per-batch deadline
(``service/decoding.py``), so a slow STS never looks like a hang.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from diagnostics.errors import DiagnosticsError
from diagnostics.model import InputStats, Owed
from diagnostics.service.config import WatchConfig, load_config, restart_only_changes
from diagnostics.service.runtime import Runtime, build_runtime
from diagnostics.service.sdnotify import Notifier
from diagnostics.service.streams import StreamProcessor
from diagnostics.sources.base import (
    Event,
    FoundFailures,
    Source,
    SourceContext,
    SourceFinished,
    StreamClosed,
    StreamData,
    StreamIdle,
    StreamOpened,
)
from diagnostics.sources.registry import source_types
from diagnostics.support.logconfig import get_logger
from diagnostics.support.state import StateDB

if TYPE_CHECKING:
    from diagnostics.service.metrics import ServiceMetrics

log = get_logger()

#: Longest the loop sleeps, so signals and timers are noticed promptly.
MAX_WAIT = 0.25
STATUS_EVERY = 5.0


class Service:
    def __init__(
        self,
        config: WatchConfig,
        *,
        notifier: Notifier | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.notifier = notifier or Notifier()
        self._clock = clock
        self._queue: queue.Queue[Event] = queue.Queue(maxsize=config.limits.queue_batches)
        self._stopping = threading.Event()
        self._reload = threading.Event()
        self.counters: dict[str, int] = {}
        self.stats = InputStats()
        self.state = StateDB.in_dir(config.state_dir)
        self.metrics = self._build_metrics() if config.metrics.enabled else None
        self.runtime: Runtime = build_runtime(
            config, self.state, heartbeat=self.notifier.ping, on_delivery=self._on_delivery
        )
        self.ctx = SourceContext(
            state=self.state,
            limits=config.limits,
            poll_interval=config.poll_interval,
            delivered=self._delivered,
        )
        self.sources: list[Source] = [
            source_types()[sc.type].create(sc, self.ctx) for sc in config.sources
        ]
        self.streams = StreamProcessor(
            self.state,
            lambda: self.runtime,
            max_line_bytes=config.limits.max_line_bytes,
            stats=self.stats,
            counters=self.counters,
        )
        self.streams.metrics = self.metrics
        self._finished: set[str] = set()

    def _build_metrics(self) -> ServiceMetrics:
        from diagnostics.service.metrics import LiveView, ServiceMetrics

        # The scrape thread reads these; each is one attribute read or a spool count.
        return ServiceMetrics(
            LiveView(
                sinks=lambda: self.runtime.sinks,
                sources=lambda: self.sources,
                last_checkpoint=lambda: self.streams.last_checkpoint,
                alert_stats=lambda: self.runtime.alerts.stats(),  # noqa: PLW0108 - runtime is swapped on reload
            )
        )

    def _delivered(self, owed: tuple[Owed, ...]) -> bool:
        # Source threads ask; the runtime (and its sinks) may be swapped by a reload.
        return self.runtime.alerts.delivered(owed)

    @property
    def _on_delivery(self) -> Callable[[str, Any, bool], None] | None:
        return self.metrics.delivered if self.metrics is not None else None

    # -- signals ---------------------------------------------------------------

    def install_signals(self) -> None:
        def on_term(signum: int, frame: FrameType | None) -> None:
            self._stopping.set()

        def on_hup(signum: int, frame: FrameType | None) -> None:
            self._reload.set()

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        signal.signal(signal.SIGHUP, on_hup)

    def stop(self) -> None:
        self._stopping.set()

    def request_reload(self) -> None:
        self._reload.set()

    # -- the queue ---------------------------------------------------------------

    def emit(self, event: Event) -> bool:
        """Called by source threads; blocks while the queue is full (backpressure)."""
        while not self._stopping.is_set():
            try:
                self._queue.put(event, timeout=MAX_WAIT)
                return True
            except queue.Full:
                continue
        return False

    def _handle(self, ev: Event) -> None:
        try:
            if isinstance(ev, StreamData):
                self.streams.data(ev)
            elif isinstance(ev, StreamOpened):
                self.streams.opened(ev)
            elif isinstance(ev, StreamIdle):
                self.streams.idle(ev)
            elif isinstance(ev, StreamClosed):
                self.streams.closed(ev)
                if ev.ack is not None:
                    ev.ack(True)
            elif isinstance(ev, FoundFailures):
                self.streams.found(ev)
            elif isinstance(ev, SourceFinished):
                self._finished.add(ev.source)
        except Exception:
            # Bad input or a full disk must never stop the daemon; the
            # checkpoint did not move, so a restart reads these bytes again.
            self.counters["event_errors"] = self.counters.get("event_errors", 0) + 1
            log.exception("event failed", kind=type(ev).__name__)
            if isinstance(ev, StreamClosed) and ev.ack is not None:
                ev.ack(False)

    # -- lifecycle ---------------------------------------------------------------

    def _all_finite_done(self) -> bool:
        return all(s.finite for s in self.sources) and all(
            s.name in self._finished for s in self.sources
        )

    def status_text(self) -> str:
        c = self.counters
        text = (
            f"failures={c.get('failures', 0)} bytes={self.ctx.stats.get('bytes_read', 0)} "
            f"streams={self.streams.open_streams} queue={self._queue.qsize()} "
            f"errors={c.get('event_errors', 0)}"
        )
        try:
            a = self.runtime.alerts.stats()
        except Exception:  # state unreadable: STATUS must still go out
            return text
        return (
            f"{text} groups={a.get('groups', 0)} evicted={a.get('evicted_groups', 0)} "
            f"suppressed={a.get('suppressed_embedded', 0) + a.get('suppressed_account', 0)}"
        )

    def run(self) -> int:
        """Run until SIGTERM (or the end of every finite source); return the exit status."""
        if self.metrics is not None:
            self.metrics.serve(self.config.metrics)
        for s in self.sources:
            s.start(self.emit)
        ready_sent = False
        last_status = self._clock()
        log.info("watch started", sources=[s.name for s in self.sources])
        while not self._stopping.is_set():
            if not ready_sent and all(s.is_ready() for s in self.sources):
                self.notifier.ready(self.status_text())
                ready_sent = True
                log.info("sources open; ready")
            self._step(self._wait_time())
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
            now = self._clock()
            if now - last_status >= STATUS_EVERY:
                self.notifier.status(self.status_text())
                last_status = now
            if self._all_finite_done() and self._queue.empty():
                log.info("all input read; flushing alerts")
                break
        return self.shutdown()

    def _wait_time(self) -> float:
        waits = [MAX_WAIT]
        due = self.notifier.watchdog_due()
        if due is not None:
            waits.append(due)
        try:
            alert_due = self.runtime.alerts.next_due()
        except Exception:  # state unreadable: keep the loop alive, retry soon
            alert_due = None
        if alert_due is not None:
            waits.append(alert_due)
        fallback = self.streams.fallback
        if fallback is not None and (fallback_due := fallback.next_due()) is not None:
            waits.append(fallback_due)
        return max(0.0, min(waits))

    def _step(self, wait: float) -> None:
        try:
            ev = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
        except queue.Empty:
            ev = None
        if ev is not None:
            self._handle(ev)
        self._tick()
        self.notifier.ping()

    def _tick(self) -> None:
        try:
            self.streams.tick_fallback()
        except Exception:
            log.exception("in-memory alert delivery failed; will retry")
        try:
            self.streams.retry_deferred()
        except Exception:
            log.exception("retrying deferred authorization IDs failed; will retry")
        try:
            due = self.runtime.alerts.next_due()
            if due is not None and due <= 0:
                self.runtime.alerts.tick()
        except Exception:
            self.counters["alert_errors"] = self.counters.get("alert_errors", 0) + 1
            log.exception("alert delivery step failed; will retry")

    def reload(self) -> None:
        """SIGHUP: new config and rules, or keep the old ones and say why.

        Never waits on a sink or on STS: the old sinks stop without draining
        (the Slack spool is durable and the new worker takes it over) and the
        old decoder finishes its calls on a background thread.
        """
        self.notifier.reloading()
        old = self.runtime
        try:
            config = load_config(self.config.path)
            same_sinks = config.sinks == old.config.sinks
            runtime = build_runtime(
                config,
                self.state,
                sinks=old.sinks if same_sinks else None,
                heartbeat=self.notifier.ping,
                on_delivery=self._on_delivery,
                previous=old,
            )
        except DiagnosticsError as exc:
            self.counters["reload_errors"] = self.counters.get("reload_errors", 0) + 1
            log.error("reload failed; keeping the running configuration", error=str(exc))
            self.notifier.ready(self.status_text())
            return
        for key in restart_only_changes(old.config, config):
            log.warning(
                "config change takes effect after a restart",
                key=key,
                config=str(config.path),
                hint="run systemctl restart authz-diagnostics to apply it",
            )
        if same_sinks:
            for s in old.sinks:
                try:
                    s.reopen()
                except Exception as exc:
                    log.warning("sink reopen failed", sink=s.name, error=str(exc))
        self.runtime = runtime
        if not same_sinks:
            # Each Slack spool has one worker at a time (sinks/slack.py), so the
            # new sink cannot post what the old one is posting.
            old.alerts.close(0.0)
        if old.decoder is not None:
            threading.Thread(target=old.decoder.close, name="decoder-close", daemon=True).start()
        self.config = config
        log.info("configuration reloaded", config=str(config.path))
        self.notifier.ready(self.status_text())

    def shutdown(self) -> int:
        """Stop reading, drain what is queued, deliver, checkpoint; within drain_timeout."""
        self.notifier.stopping()
        deadline = self._clock() + self.config.drain_timeout
        self._stopping.set()
        for s in self.sources:
            s.stop()
        drained = 0
        while self._clock() < deadline:
            try:
                ev = self._queue.get_nowait()
            except queue.Empty:
                break
            self._handle(ev)
            drained += 1
            self.notifier.ping()
        left = self._queue.qsize()
        try:
            # Sockets and stdin have no checkpoint to re-read from: decide the
            # records their extractors still hold now, or they are lost.
            self.streams.finish_uncommitted()
        except Exception:
            log.exception("processing the last held records failed")
        try:
            if self.streams.fallback is not None:
                self.streams.fallback.flush()
            self.runtime.alerts.flush()
        except Exception:
            log.exception("final alert delivery failed; alerts stay spooled for the next start")
        # Sinks first (the Slack spool posts what it can), then the sources'
        # final pass: an SQS message whose alerts are out is deleted, any other
        # goes back to the queue for another worker.
        self.runtime.close(max(0.0, deadline - self._clock() - 1.0))
        remaining = max(0.0, deadline - self._clock())
        for s in self.sources:
            s.join(min(1.0, remaining))
        if self.metrics is not None:
            self.metrics.close()
        self.state.close()
        self.notifier.close()
        log.info("watch stopped", drained=drained, undrained=left, status=self.status_text())
        return 0


__all__ = ["Service"]
