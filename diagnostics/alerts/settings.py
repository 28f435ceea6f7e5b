"""Alert timing settings and the duration syntax the config file uses."""

from __future__ import annotations

import re
from dataclasses import dataclass

from diagnostics.errors import ConfigError

# One or more "<number><unit>" parts, e.g. "1h30m"; anchored and free of
# nested quantifiers, so matching is linear in the input length.
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$")
# Only applied to strings _DURATION accepted, where every digit run ends in a
# unit: each match is found without backtracking, linear.
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str, *, where: str = "duration") -> float:
    """Seconds in ``"30s"``, ``"5m"``, ``"4h"``, ``"1h30m"`` or ``"0s"``.

    Raises ``ConfigError`` naming ``where`` with a hint on bad input.
    """
    value = text.strip() if isinstance(text, str) else text
    if not isinstance(value, str) or not _DURATION.match(value):
        raise ConfigError(
            f"{where}: {text!r} is not a duration; write a number and a unit, "
            'for example "30s", "5m", "4h" or "1h30m" ("0s" for none)'
        )
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(value))


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
