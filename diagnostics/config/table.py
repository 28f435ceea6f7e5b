"""One TOML table read with checks: the shared vocabulary of every config reader.

The watch config, each source type and each sink read their tables through
``ConfigTable``, so every error names the file, the table and the key, and an
unknown key is an error (a typo never silently disables anything).  It sits
below both the service and the sources, so neither imports the other for it.
"""

from __future__ import annotations

from typing import Any

from diagnostics.errors import ConfigError
from diagnostics.support.durations import parse_duration


class ConfigTable:
    """Reads one TOML table, remembering which keys were used to reject the rest."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a table, got {type(data).__name__}")
        self.data: dict[str, Any] = data
        self.where = where
        self.used: set[str] = set()

    def _get(self, key: str, default: Any, types: tuple[type, ...], hint: str) -> Any:
        self.used.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        if isinstance(value, bool) and bool not in types:
            raise ConfigError(f"{self.where}: key {key!r} must be {hint}, got {value!r}")
        if not isinstance(value, types):
            raise ConfigError(f"{self.where}: key {key!r} must be {hint}, got {value!r}")
        return value

    def text(self, key: str, default: str | None = None) -> str | None:
        value: str | None = self._get(key, default, (str,), "a string")
        return value

    def required_str(self, key: str, hint: str) -> str:
        value = self.text(key)
        if not value:
            raise ConfigError(f"{self.where}: key {key!r} is required; {hint}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value: bool = self._get(key, default, (bool,), "true or false")
        return value

    def integer(self, key: str, default: int, minimum: int = 1) -> int:
        value: int = self._get(key, default, (int,), "an integer")
        if value < minimum:
            raise ConfigError(f"{self.where}: key {key!r} must be at least {minimum}")
        return value

    def number(self, key: str, default: float) -> float:
        value = self._get(key, default, (int, float), "a number")
        if value <= 0:
            raise ConfigError(f"{self.where}: key {key!r} must be positive")
        return float(value)

    def duration(self, key: str, default: float) -> float:
        self.used.add(key)
        if key not in self.data:
            return default
        return parse_duration(self.data[key], where=f"{self.where}: key {key!r}")

    def str_list(self, key: str) -> list[str]:
        value = self._get(key, [], (list,), "a list of strings")
        if not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"{self.where}: key {key!r} must be a list of non-empty strings")
        return list(value)

    def table(self, key: str) -> ConfigTable:
        self.used.add(key)
        return ConfigTable(self.data.get(key, {}), f"{self.where} [{key}]")

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            known = ", ".join(sorted(self.used))
            raise ConfigError(
                f"{self.where}: unknown key {unknown[0]!r}; known keys here are: {known}"
            )
