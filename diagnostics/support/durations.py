"""The one duration syntax of the config file: "250ms", "30s", "5m", "4h", "1h30m", or seconds."""

from __future__ import annotations

import re

from diagnostics.errors import ConfigError

# One or more "<number><unit>" parts, e.g. "1h30m"; anchored and free of
# nested quantifiers, so matching is linear in the input length.
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$")
# Only applied to strings _DURATION accepted, where every digit run ends in a
# unit: each match is found without backtracking, linear.
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object, *, where: str = "duration") -> float:
    """Seconds in ``"30s"``, ``"5m"``, ``"4h"``, ``"1h30m"``, ``"250ms"`` or a number.

    Raises ``ConfigError`` naming ``where``, with the forms that work.
    """
    seconds: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION.match(value.strip()):
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(value.strip()))
    if seconds is None or seconds < 0:
        raise ConfigError(
            f"{where}: {value!r} is not a duration; write a number and a unit, "
            'for example "250ms", "30s", "5m", "4h" or "1h30m" ("0s" for none), '
            "or a number of seconds"
        )
    return seconds
