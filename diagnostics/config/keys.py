"""``key()``: the metadata that makes a dataclass field a config key."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from diagnostics.errors import ConfigError

#: The metadata name ``key()`` stores its ``Key`` under.
META = "config"


class ConfigProblem(ConfigError):
    """A value's problem, without the file and table: the reader adds them."""


@dataclass(frozen=True, slots=True)
class Key:
    """What the reader and the schema know about one key beyond its Python type."""

    doc: str
    #: A valid right-hand side in TOML, shown in errors and docs: ``'"30s"'``.
    example: str
    #: ``"duration"``: a float of seconds, written "30s", "5m", "1h30m" or a number.
    unit: Literal["duration"] | None = None
    minimum: float | None = None
    #: The value must be above ``minimum``, not equal to it.
    above: bool = False
    maximum: float | None = None
    #: A regular expression each string (or each list item) must match whole.
    pattern: str | None = None
    #: What ``pattern`` means, for errors: "a 12-digit AWS account id".
    pattern_hint: str = ""
    #: Why the bound is what it is, appended to its error.
    why: str = ""
    #: The default as the docs show it, when the code computes it.
    default_text: str | None = None


def key(
    default: Any = dataclasses.MISSING,
    *,
    doc: str,
    example: str,
    factory: Callable[[], Any] | None = None,
    unit: Literal["duration"] | None = None,
    minimum: float | None = None,
    above: bool = False,
    maximum: float | None = None,
    pattern: str | None = None,
    pattern_hint: str = "",
    why: str = "",
    default_text: str | None = None,
) -> Any:
    """A dataclass field that a config file may set (``default`` or ``factory`` when absent)."""
    meta = {
        META: Key(
            doc, example, unit, minimum, above, maximum, pattern, pattern_hint, why, default_text
        )
    }
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class Spec:
    """One key of a class: its field, resolved type and ``Key``."""

    name: str
    type: Any
    key: Key
    field: dataclasses.Field[Any]

    @property
    def has_default(self) -> bool:
        return (
            self.field.default is not dataclasses.MISSING
            or self.field.default_factory is not dataclasses.MISSING
        )

    def default(self) -> Any:
        if self.field.default_factory is not dataclasses.MISSING:
            return self.field.default_factory()
        return self.field.default


_KEYS: dict[type, dict[str, Spec]] = {}


def config_keys(cls: type) -> dict[str, Spec]:
    """The config keys of dataclass ``cls``, in declaration order (worked out once)."""
    found = _KEYS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = {
            f.name: Spec(f.name, hints[f.name], f.metadata[META], f)
            for f in dataclasses.fields(cls)
            if META in f.metadata
        }
        _KEYS[cls] = found
    return found
