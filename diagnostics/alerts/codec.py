"""Diagnosis <-> JSON for the alert-group table.

``Diagnosis.to_json`` is the output contract; this reads it back so a group
survives a restart with its representative diagnosis intact.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, TypeVar

from diagnostics.model import (
    SEVERITIES,
    Diagnosis,
    Failure,
    Finding,
    Fix,
    JSONObject,
    SourceRef,
    Verification,
    json_key,
)
from diagnostics.troubleshooter.details import parse_details

_D = TypeVar("_D")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _objects(value: Any) -> tuple[JSONObject, ...]:
    """The JSON objects of a list (anything else in it, or a non-list, is dropped)."""
    return tuple(x for x in value if isinstance(x, dict)) if isinstance(value, list) else ()


def _source(value: Any) -> SourceRef | None:
    if not isinstance(value, dict):
        return None
    return SourceRef(
        path=str(value.get("path", "-")),
        line=_int(value.get("line")),
        offset=_int(value.get("offset")),
        event_id=_str(value.get("event_id")),
        rotated_from=_str(value.get("rotated_from")),
    )


@functools.cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _value(hint: Any, raw: Any) -> Any:
    """``raw`` read as ``hint`` says, or that type's empty value when it is something else."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        return raw if raw in args else None
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        [inner] = [a for a in args if a is not type(None)]
        return None if raw is None else _value(inner, raw) if _fits(inner, raw) else None
    if hint is str:
        return raw if isinstance(raw, str) else ""
    if hint is int:
        return _int(raw) or 0
    if hint is bool:
        return raw is True
    if hint is SourceRef:
        return _source(raw)
    if origin is tuple and args == (str, Ellipsis):
        return tuple(str(x) for x in raw) if isinstance(raw, list) else ()
    if origin is tuple and args[1:] == (Ellipsis,) and typing.get_origin(args[0]) is tuple:
        return _conditions(raw)
    if origin is tuple and args[1:] == (Ellipsis,) and typing.get_origin(args[0]) is dict:
        return _objects(raw)
    if origin is tuple and args[1:] == (Ellipsis,) and isinstance(args[0], type):
        if not dataclasses.is_dataclass(args[0]):
            raise TypeError(f"alerts/codec.py cannot read a tuple of {args[0]}; teach _value it")
        return tuple(_dataclass(args[0], x) for x in _objects(raw))
    if origin is dict:
        return raw if isinstance(raw, dict) else {}
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _dataclass(hint, raw)
    # A field of a new kind: fail loudly here rather than drop it from every alert.
    raise TypeError(f"alerts/codec.py cannot read a field of type {hint}; teach _value it")


def _fits(hint: Any, raw: Any) -> bool:
    if typing.get_origin(hint) is typing.Literal:
        return raw in typing.get_args(hint)
    base = typing.get_origin(hint) or hint
    if dataclasses.is_dataclass(base):
        return isinstance(raw, dict)
    return isinstance(raw, base) and not (base is int and isinstance(raw, bool))


def _dataclass(cls: type[_D], obj: Any) -> _D:
    """Every field of ``cls`` from its ``to_json`` keys (the field names), so none is dropped."""
    obj = obj if isinstance(obj, dict) else {}
    hints = _hints(typing.cast("Any", cls))
    values = {
        f.name: _value(hints[f.name], obj.get(f.name))
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.name in obj or f.default is dataclasses.MISSING
    }
    return cls(**values)


def _fix(obj: Any) -> Fix:
    return _dataclass(Fix, obj)


def _finding(obj: Any) -> Finding:
    obj = obj if isinstance(obj, dict) else {}
    severity = obj.get("severity")
    fixes = obj.get("fixes")
    return Finding(
        rule=str(obj.get("rule", "")),
        title=str(obj.get("title", "")),
        severity=severity if severity in SEVERITIES else "info",
        explanation=str(obj.get("explanation", "")),
        fixes=tuple(_fix(x) for x in fixes) if isinstance(fixes, list) else (),
    )


def _verification(raw: Any) -> tuple[Verification, ...]:
    entries = (Verification.from_json(x) for x in raw) if isinstance(raw, list) else ()
    return tuple(e for e in entries if e is not None)


def _conditions(raw: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``request_context`` back into ``Failure.conditions``."""
    if not isinstance(raw, dict):
        return ()
    return tuple(
        (str(k), tuple(str(v) for v in values))
        for k, values in raw.items()
        if isinstance(values, list)
    )


def _failure(obj: JSONObject) -> Failure:
    """Every JSON field of ``Failure`` (``json_key``), read by its type, so none is dropped."""
    hints = _hints(Failure)
    values = {
        f.name: _value(hints[f.name], obj.get(key))
        for f in dataclasses.fields(Failure)
        if (key := json_key(f)) is not None
    }
    # The two fields without a default: a damaged row still gives a Failure.
    values["kind"] = values["kind"] or "plain"
    values["source"] = values["source"] or SourceRef(path="-")
    return Failure(**values)


def diagnosis_from_json(obj: JSONObject) -> Diagnosis:
    """The inverse of ``Diagnosis.to_json`` (``Failure.excerpt`` is not stored)."""
    failure = _failure(obj)
    decoded = obj.get("decoded")
    findings = obj.get("findings")
    details = obj.get("authorization_details")
    occurrences = _int(obj.get("occurrences"))
    return Diagnosis(
        failure=failure,
        decoded=decoded if isinstance(decoded, dict) else None,
        decode_error=_str(obj.get("decode_error")),
        findings=tuple(_finding(x) for x in findings) if isinstance(findings, list) else (),
        verification=_verification(obj.get("verification")),
        occurrences=occurrences if occurrences and occurrences > 0 else 1,
        last_source=_source(obj.get("last_source")),
        authorization_details=parse_details(details) if isinstance(details, dict) else None,
        authorization_error=_str(obj.get("authorization_error")),
    )
