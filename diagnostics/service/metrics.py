"""Prometheus metrics of one watch service, served on ``/metrics`` when ``[metrics]`` says.

Each Service owns a ``CollectorRegistry`` (never the client's global one), so
several services in one process (the tests) count apart.  Counters are bumped
from the main loop; the gauges are read when Prometheus scrapes, from the
scrape thread, out of values the loop keeps (a float read, a spool count).

- ``authz_diag_records_total{source}``: input lines read, per byte-stream
  source (file, socket, stdin).
- ``authz_diag_failures_total{kind}``: failures diagnosed (encoded, plain,
  cloudtrail, decoded).
- ``authz_diag_decodes_total{outcome}``: encoded messages by what decoding
  gave: ``decoded``, ``error``, ``truncated`` (cannot be sent), ``disabled``.
- ``authz_diag_alerts_total{sink,status}``: notifications a sink accepted
  (``new``, ``updated``, ``repeat``) or refused (``failed``, retried later).
- ``authz_diag_spool_depth{sink}``: messages waiting in a sink's spool (Slack).
- ``authz_diag_source_lag_seconds{source}``: seconds since the source last
  read all of its input (file, s3, cloudwatch_logs); a healthy one stays
  below its poll interval.
- ``authz_diag_checkpoint_age_seconds``: seconds since a checkpoint was last
  written (or since start).
- the process collector: ``process_cpu_seconds_total``, memory, open fds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from diagnostics.errors import DiagnosticsError
from diagnostics.support.logconfig import get_logger

if TYPE_CHECKING:
    from diagnostics.alerts import Alert
    from diagnostics.model import Diagnosis
    from diagnostics.service.metrics_config import MetricsConfig

log = get_logger()


@dataclass(slots=True)
class LiveView:
    """What the scrape-time gauges read, as callables the service provides."""

    sinks: Callable[[], Sequence[Any]]
    sources: Callable[[], Sequence[Any]]
    last_checkpoint: Callable[[], float]
    #: The alert manager's stats (live groups, evicted, suppressed), if any.
    alert_stats: Callable[[], dict[str, int]] | None = None
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time


def spooled(sink: Any) -> int | None:
    """Messages in ``sink``'s spool (through wrappers such as DedupSink), or None."""
    while sink is not None:
        count = getattr(sink, "spooled", None)
        if callable(count):
            return int(count())
        sink = getattr(sink, "inner", None)
    return None


def decode_outcome(d: Diagnosis) -> str | None:
    """What decoding gave this diagnosis's blob; None when it had no blob."""
    from diagnostics.diagnose.pipeline import NO_DECODE

    f = d.failure
    if not f.encoded_message:
        return None
    if d.decoded is not None:
        return "decoded"
    if d.decode_error == NO_DECODE:
        return "disabled"
    if f.truncated:
        return "truncated"
    return "error"


class _Live:
    """A collector whose gauges are computed at scrape time."""

    def __init__(self, view: LiveView) -> None:
        self._view = view

    def describe(self) -> Iterable[Any]:
        return []  # registering must not call collect() before the service runs

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        v = self._view
        spool = GaugeMetricFamily(
            "authz_diag_spool_depth", "Messages waiting in a sink's spool.", labels=["sink"]
        )
        for sink in v.sinks():
            try:
                depth = spooled(sink)
            except Exception as exc:  # a scrape must not fail on one unreadable spool
                log.warning("metrics: cannot read a spool", sink=str(sink.name), error=str(exc))
                depth = None
            if depth is not None:
                spool.add_metric([str(sink.name)], float(depth))
        yield spool
        lag = GaugeMetricFamily(
            "authz_diag_source_lag_seconds",
            "Seconds since the source last read all of its input.",
            labels=["source"],
        )
        now = v.clock()
        for source in v.sources():
            caught_up = getattr(source, "caught_up_at", None)
            at = caught_up() if callable(caught_up) else None
            if at is not None:
                lag.add_metric([str(source.name)], max(0.0, now - float(at)))
        yield lag
        yield GaugeMetricFamily(
            "authz_diag_checkpoint_age_seconds",
            "Seconds since a checkpoint was last written (or since start).",
            value=max(0.0, v.wall() - v.last_checkpoint()),
        )
        yield from self._alert_state()

    def _alert_state(self) -> Iterator[Any]:
        """Live groups, and what floods cost: evicted groups, failures not alerted."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        if self._view.alert_stats is None:
            return
        try:
            stats = self._view.alert_stats()
        except Exception as exc:  # state unreadable: the rest of the scrape still works
            log.warning("metrics: cannot read the alert state", error=str(exc))
            return
        yield GaugeMetricFamily(
            "authz_diag_alert_groups", "Live alert groups ([alerts] max_groups bounds them).",
            value=float(stats.get("groups", 0)),
        )  # fmt: skip
        evicted = CounterMetricFamily(
            "authz_diag_alert_groups_evicted",
            "Groups evicted at max_groups; unsent ones lost their first alert.",
            labels=["unsent"],
        )
        unsent = stats.get("evicted_unsent", 0)
        evicted.add_metric(["false"], float(stats.get("evicted_groups", 0) - unsent))
        evicted.add_metric(["true"], float(unsent))
        yield evicted
        suppressed = CounterMetricFamily(
            "authz_diag_failures_suppressed",
            "Failures counted but not alerted: embedded in a client's field, or another account.",
            labels=["reason"],
        )
        for reason in ("embedded", "account"):
            suppressed.add_metric([reason], float(stats.get(f"suppressed_{reason}", 0)))
        yield suppressed


def process_collector(registry: Any, proc: str = "/proc") -> Any:
    """The client's process collector, also where ``/proc/stat`` is hidden.

    It reads the boot time from ``/proc/stat`` and reports nothing at all when
    it cannot, which is the case under the shipped unit (``ProcSubset=pid``);
    ``CLOCK_BOOTTIME`` gives the same boot time without it.
    """
    from prometheus_client.process_collector import ProcessCollector

    class _Collector(ProcessCollector):
        def _boot_time(self) -> float:
            try:
                return float(super()._boot_time())  # type: ignore[no-untyped-call]
            except OSError:
                return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)

    return _Collector(proc=proc, registry=registry)


class ServiceMetrics:
    """The registry, its counters and (once ``serve`` ran) the HTTP listener."""

    def __init__(self, view: LiveView) -> None:
        from prometheus_client import CollectorRegistry, Counter

        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        self._records = Counter(
            "authz_diag_records", "Input lines read, by source.", ["source"], registry=r
        )
        self._failures = Counter(
            "authz_diag_failures", "Authorization failures diagnosed, by kind.", ["kind"],
            registry=r,
        )  # fmt: skip
        self._decodes = Counter(
            "authz_diag_decodes", "Encoded messages, by what decoding gave.", ["outcome"],
            registry=r,
        )  # fmt: skip
        self._alerts = Counter(
            "authz_diag_alerts",
            "Notifications accepted (new, updated, repeat) or refused (failed) by a sink.",
            ["sink", "status"],
            registry=r,
        )
        process_collector(r)
        r.register(_Live(view))
        self._server: Any = None
        self._thread: Any = None
        self.port: int | None = None

    # -- counting (main loop) --------------------------------------------------

    def records(self, source: str, n: int) -> None:
        if n > 0:
            self._records.labels(source=source or "unknown").inc(n)

    def diagnosed(self, diagnoses: Iterable[Diagnosis]) -> None:
        for d in diagnoses:
            self._failures.labels(kind=d.failure.kind).inc()
            outcome = decode_outcome(d)
            if outcome is not None:
                self._decodes.labels(outcome=outcome).inc()

    def delivered(self, sink: str, alerts: Sequence[Alert], ok: bool) -> None:
        """``AlertManager``'s delivery hook: count what ``sink`` accepted or refused."""
        for a in alerts:
            self._alerts.labels(sink=sink, status=a.status if ok else "failed").inc()

    # -- serving ------------------------------------------------------------------

    def serve(self, config: MetricsConfig) -> None:
        """Listen on ``config``'s address; DiagnosticsError (with what to do) if it cannot."""
        from prometheus_client import start_http_server

        assert config.host is not None
        try:
            self._server, self._thread = start_http_server(
                config.port, addr=config.host, registry=self.registry
            )
        except OSError as exc:
            raise DiagnosticsError(
                f"[metrics] cannot listen on {config.listen}: {exc.strerror or exc}; choose "
                "another port in [metrics] listen, stop what uses it, or remove [metrics]"
            ) from None
        self.port = int(self._server.server_port)
        log.info("metrics listening", address=config.host, port=self.port, path="/metrics")

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
