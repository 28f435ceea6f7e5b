"""Alert timing settings (durations parse with ``diagnostics.durations``)."""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.durations import parse_duration
from diagnostics.errors import ConfigError

__all__ = ["AlertSettings", "parse_duration"]


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """How diagnoses are grouped into notifications (Alertmanager's timers).

    ``group_wait``: how long a new group collects before its first notification.
    ``group_interval``: the earliest a group that changed is notified again.
    ``repeat_interval``: the earliest an unchanged group that keeps occurring
    is notified again.  ``max_samples``/``max_sources``/``max_diagnoses`` bound
    what one group carries.  ``retry_delay``: when a sink that failed is tried
    again.
    """

    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 14400.0
    max_samples: int = 3
    max_sources: int = 20
    max_diagnoses: int = 10
    retry_delay: float = 5.0

    def __post_init__(self) -> None:
        for name in ("group_wait", "group_interval", "repeat_interval", "retry_delay"):
            if getattr(self, name) < 0:
                raise ConfigError(f"alerts.{name} must not be negative; use 0s for none")
        for name in ("max_samples", "max_sources", "max_diagnoses"):
            if getattr(self, name) < 1:
                raise ConfigError(f"alerts.{name} must be at least 1")
