"""The ``[alerts]`` table: how diagnoses are grouped into notifications (Alertmanager's timers).

One dataclass: the watch config reads it with ``diagnostics.config.read_table``
and hands it to ``AlertManager`` as is; fields without ``key()`` are set by
the code, never by a config file.
"""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.config import check_bounds, key
from diagnostics.errors import ConfigError
from diagnostics.support.durations import parse_duration

__all__ = ["AlertSettings", "parse_duration"]

#: A 12-digit AWS account id (a TOML string: an integer would lose leading zeros).
ACCOUNT_ID = r"\d{12}"


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """How diagnoses are grouped and sent.

    ``max_samples``/``max_sources``/``max_diagnoses`` bound what one group
    carries; ``retry_delay`` is when a sink that failed is tried again.  The
    storm defaults: a source may open as many groups as one principal before
    it storms, and 300 in the 5-minute window is one a second, the rate a
    Slack webhook sink posts at by default, so past it alerts would queue
    faster than they leave.
    """

    group_wait: float = key(
        30.0, doc="How long a new group collects before its first notification.",
        example='"30s"', unit="duration", minimum=0,
    )  # fmt: skip
    group_interval: float = key(
        300.0, doc="The earliest a group that changed is notified again.",
        example='"5m"', unit="duration", minimum=0,
    )  # fmt: skip
    repeat_interval: float = key(
        14400.0, doc="The earliest an unchanged group that keeps occurring is notified again.",
        example='"4h"', unit="duration", minimum=0,
    )  # fmt: skip
    max_samples: int = 3
    max_sources: int = 20
    max_diagnoses: int = 10
    retry_delay: float = 5.0
    max_groups: int = key(
        10_000,
        doc="Live alert groups kept in the state database (its size bound); past it the "
        "least recently seen groups that owe nothing are evicted first.",
        example="10000",
        minimum=100,
    )
    storm_threshold: int = key(
        100, doc="More new groups than this for one principal or account within storm_window "
        "collapse into one storm alert; 0 turns every storm off.", example="100", minimum=0,
    )  # fmt: skip
    storm_window: float = key(
        300.0, doc="The window storms are counted over.", example='"5m"', unit="duration",
        minimum=0,
    )  # fmt: skip
    storm_source_threshold: int = key(
        100, doc="The same for one source (a file, bucket or queue); 0 turns this scope off.",
        example="100", minimum=0,
    )  # fmt: skip
    storm_global_threshold: int = key(
        300, doc="The same over all sources together; 0 turns this scope off.",
        example="300", minimum=0,
    )  # fmt: skip
    embedded: bool = key(
        False, doc="Alert failures found inside a quoted or structured sub-field (a user-agent, "
        "a body key) rather than the record's message; such text is forgeable.", example="true",
    )  # fmt: skip
    accounts: frozenset[str] = key(
        doc="When not empty, failures for other (known) accounts are counted, not alerted, "
        "and no AWS call is made for them.",
        example='["123456789012"]',
        factory=frozenset,
        pattern=ACCOUNT_ID,
        pattern_hint="a 12-digit AWS account id, written as a string",
    )
    dedup_table: str | None = key(
        None, doc="DynamoDB table shared by several daemons so each alert is sent once "
        "(docs/scale-out.md).", example='"authz-diag-dedup"',
    )  # fmt: skip
    dedup_lease: float = key(
        60.0,
        doc="How long a claim in the dedup table holds before another daemon may send the "
        "notification instead; longer than one sink send takes.",
        example='"60s"',
        unit="duration",
        minimum=0,
        above=True,
    )

    def __post_init__(self) -> None:
        check_bounds(self)
        for name in ("max_samples", "max_sources", "max_diagnoses"):
            if getattr(self, name) < 1:
                raise ConfigError(f"AlertSettings.{name} must be at least 1")
        if self.retry_delay < 0:
            raise ConfigError("AlertSettings.retry_delay must not be negative")
