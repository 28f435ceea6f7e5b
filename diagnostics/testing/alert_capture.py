"""Real alerts for tests: diagnoses through a real ``AlertManager`` into a list.

Usage::

    alerts = alerts_for([(diagnosis, "the sample line"), ...])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from diagnostics.alerts import Alert, AlertManager, AlertSettings
from diagnostics.alerts.sink import Detail
from diagnostics.model import Diagnosis


class CaptureSink:
    """A sink that keeps what it is sent."""

    name = "capture"
    detail: Detail = "full"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alerts: Sequence[Alert]) -> None:
        self.alerts.extend(alerts)

    def close(self, timeout: float) -> None:
        """Nothing to flush."""

    def reopen(self) -> None:
        """Nothing to reopen."""


def alerts_for(items: Iterable[tuple[Diagnosis, str | None]]) -> list[Alert]:
    """The alerts one tick of a fresh manager (no group wait, no state) sends for ``items``."""
    sink = CaptureSink()
    manager = AlertManager(AlertSettings(group_wait=0.0), None, [sink], clock=lambda: 1e9)
    for diagnosis, sample in items:
        manager.add(diagnosis, sample=sample)
    manager.tick()
    return sink.alerts
