"""Alert timing settings (durations parse with ``diagnostics.durations``)."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    again.  ``max_groups`` caps the live groups (the state database's size):
    past it the least recently seen groups that owe nothing are evicted first.
    More than ``storm_threshold`` new groups for one principal or account
    within ``storm_window`` collapse into one storm alert (0 turns every storm
    off); so do more than ``storm_source_threshold`` for one source (a file,
    bucket or queue) and more than ``storm_global_threshold`` over all of them
    (0 turns that scope off).  The defaults: a source may open as many as one
    principal before it storms, and 300 in the 5-minute window is one a
    second, the rate a Slack webhook sink posts at by default, so past it
    alerts would queue faster than they leave.
    ``embedded``: alert failures found inside a quoted or structured sub-field
    (a user-agent, a ``body`` key) rather than the record's message.
    ``accounts``: when set, failures for other known accounts are counted, not
    alerted.
    """

    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 14400.0
    max_samples: int = 3
    max_sources: int = 20
    max_diagnoses: int = 10
    retry_delay: float = 5.0
    max_groups: int = 10_000
    storm_threshold: int = 100
    storm_window: float = 300.0
    storm_source_threshold: int = 100
    storm_global_threshold: int = 300
    embedded: bool = False
    accounts: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        for name in ("group_wait", "group_interval", "repeat_interval", "retry_delay"):
            if getattr(self, name) < 0:
                raise ConfigError(f"alerts.{name} must not be negative; use 0s for none")
        for name in ("storm_threshold", "storm_window", "storm_source_threshold",
                     "storm_global_threshold"):  # fmt: skip
            if getattr(self, name) < 0:
                raise ConfigError(f"alerts.{name} must not be negative; use 0 to turn it off")
        for name in ("max_samples", "max_sources", "max_diagnoses", "max_groups"):
            if getattr(self, name) < 1:
                raise ConfigError(f"alerts.{name} must be at least 1")
