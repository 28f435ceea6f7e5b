"""``read_table``: a TOML table checked against a dataclass's keys, and the instance built.

Every message has one shape: ``<file> [section]: key 'x' must be ...; e.g. x = ...``.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from diagnostics.config.keys import ConfigProblem, Spec, config_keys
from diagnostics.errors import ConfigError
from diagnostics.support.durations import parse_duration

T = TypeVar("T")


def unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """``X | None`` as ``(X, True)``; any other type as ``(tp, False)``."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def is_section(tp: Any) -> bool:
    """A field whose type is itself a dataclass of keys is a sub-table."""
    return dataclasses.is_dataclass(tp) and isinstance(tp, type) and bool(config_keys(tp))


def show(spec: Spec, value: object) -> str:
    """``value`` as the user would write it (durations with a unit)."""
    if spec.key.unit == "duration" and isinstance(value, (int, float)):
        return repr(seconds_text(float(value)))
    return repr(value)


def seconds_text(seconds: float) -> str:
    """``60.0`` as ``"1m"``: how the docs and errors write a duration."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def problem(spec: Spec, what: str, value: object, *, entry: bool = False) -> ConfigProblem:
    """The one wording: ``key 'x' must be ..., got ...; e.g. x = ...``."""
    why = f" ({spec.key.why})" if spec.key.why else ""
    if entry:  # one item of a list: name it, the list may be long
        return ConfigProblem(
            f"key {spec.name!r} entry {value!r} must be {what}{why}; "
            f"e.g. {spec.name} = {spec.key.example}"
        )
    return ConfigProblem(
        f"key {spec.name!r} must be {what}{why}, got {show(spec, value)}; "
        f"e.g. {spec.name} = {spec.key.example}"
    )


def _bound(spec: Spec, number: float) -> str:
    return seconds_text(number) if spec.key.unit == "duration" else f"{number:g}"


def _check_value(spec: Spec, value: Any) -> None:
    k = spec.key
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if k.minimum is not None and (value <= k.minimum if k.above else value < k.minimum):
            word = "above" if k.above else "at least"
            raise problem(spec, f"{word} {_bound(spec, k.minimum)}", value)
        if k.maximum is not None and value > k.maximum:
            raise problem(spec, f"at most {_bound(spec, k.maximum)}", value)
    if k.pattern is not None:
        hint = k.pattern_hint or f"text matching {k.pattern}"
        if isinstance(value, str) and not re.fullmatch(k.pattern, value):
            raise problem(spec, hint, value)
        if isinstance(value, (tuple, frozenset)):
            for item in sorted(value):
                if not re.fullmatch(k.pattern, str(item)):
                    raise problem(spec, hint, item, entry=True)


def check_bounds(obj: object) -> None:
    """Raise ``ConfigProblem`` if a key of ``obj`` is out of its declared bounds.

    Called from ``__post_init__`` so a value set in code meets the same bounds
    (and gets the same message) as one read from a file.
    """
    for spec in config_keys(type(obj)).values():
        _check_value(spec, getattr(obj, spec.name))


def _convert(spec: Spec, value: object, where: str) -> Any:
    tp, _ = unwrap_optional(spec.type)
    origin = typing.get_origin(tp)
    if spec.key.unit == "duration":
        return parse_duration(value, where=f"{where}: key {spec.name!r}")
    if origin is typing.Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            raise problem(spec, "one of " + ", ".join(f'"{c}"' for c in choices), value)
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise problem(spec, "true or false", value)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise problem(spec, "an integer", value)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise problem(spec, "a number", value)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise problem(spec, "a string", value)
        return value
    if tp is Path:
        if not isinstance(value, str) or not value:
            raise problem(spec, "a path (a non-empty string)", value)
        return Path(value)
    if origin in (tuple, frozenset):
        item = typing.get_args(tp)[0]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise problem(spec, "a list of non-empty strings", value)
        items = [Path(v) for v in value] if item is Path else list(value)
        return tuple(items) if origin is tuple else frozenset(items)
    raise TypeError(f"config key {spec.name!r} has a type the reader does not know: {tp!r}")


def read_table(
    cls: type[T], data: object, where: str, *, extra: tuple[str, ...] = (), **fixed: Any
) -> T:
    """Check ``data`` (one TOML table) against ``cls``'s keys and build it.

    ``where`` is ``"<file> [section]"``; ``extra`` are keys the caller reads
    itself; ``fixed`` sets fields that are not keys.  Raises ``ConfigError``
    naming ``where``, the key, what it must be and an example.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a table, got {type(data).__name__}")
    specs = config_keys(cls)
    unknown = sorted(set(data) - set(specs) - set(extra))
    if unknown:
        known = sorted([*specs, *extra])
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; {hint}known keys here are: {', '.join(known)}"
        )
    values: dict[str, Any] = dict(fixed)
    try:
        for name, spec in specs.items():
            if is_section(spec.type):
                values[name] = read_table(spec.type, data.get(name, {}), f"{where} [{name}]")
            elif name in data:
                values[name] = _convert(spec, data[name], where)
                _check_value(spec, values[name])
            elif not spec.has_default:
                why = f" ({spec.key.why})" if spec.key.why else ""
                raise ConfigProblem(
                    f"key {name!r} is required{why}; e.g. {name} = {spec.key.example}"
                )
        obj = cls(**values)
        after = getattr(obj, "config_checked", None)
        if after is not None:
            obj = after(frozenset(n for n in data if n in specs))
    except ConfigProblem as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return obj
