"""JSON schema and a docs table, both derived from a class's keys (so they cannot drift)."""

from __future__ import annotations

import tomllib
import typing
from pathlib import Path
from typing import Any

from diagnostics.config.keys import Spec, config_keys
from diagnostics.config.reader import is_section, seconds_text, unwrap_optional

#: The duration syntax of diagnostics.support.durations, for a string value.
DURATION_PATTERN = r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$"


def _plain(spec: Spec, value: Any) -> Any:
    """``value`` as JSON, written the way a config file writes it."""
    if spec.key.unit == "duration" and isinstance(value, (int, float)):
        return seconds_text(float(value))
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (tuple, frozenset)):
        return sorted(str(v) for v in value)
    return value


def example_value(spec: Spec) -> Any:
    """The key's TOML example as a JSON value."""
    return tomllib.loads(f"x = {spec.key.example}")["x"]


def _type_schema(spec: Spec) -> dict[str, Any]:
    tp, _ = unwrap_optional(spec.type)
    k = spec.key
    out: dict[str, Any]
    if k.unit == "duration":
        out = {"type": ["string", "number"], "pattern": DURATION_PATTERN}
    elif typing.get_origin(tp) is typing.Literal:
        out = {"enum": list(typing.get_args(tp))}
    elif tp is bool:
        out = {"type": "boolean"}
    elif tp is int:
        out = {"type": "integer"}
    elif tp is float:
        out = {"type": "number"}
    elif tp in (str, Path):
        out = {"type": "string", "minLength": 1} if tp is Path else {"type": "string"}
    else:  # tuple[str, ...] / frozenset[str] / tuple[Path, ...]
        item: dict[str, Any] = {"type": "string", "minLength": 1}
        if k.pattern:
            item["pattern"] = f"^(?:{k.pattern})$"
        return {"type": "array", "items": item}
    if k.pattern:
        out["pattern"] = f"^(?:{k.pattern})$"
    if k.minimum is not None:
        out["exclusiveMinimum" if k.above else "minimum"] = k.minimum
    if k.maximum is not None:
        out["maximum"] = k.maximum
    return out


def table_schema(cls: type) -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of one table read into ``cls``."""
    props: dict[str, Any] = {}
    required: list[str] = []
    for name, spec in config_keys(cls).items():
        if is_section(spec.type):
            props[name] = table_schema(spec.type)
            continue
        prop = {"description": spec.key.doc, **_type_schema(spec)}
        if not spec.has_default:
            required.append(name)
        elif spec.key.default_text is None and spec.default() is not None:
            prop["default"] = _plain(spec, spec.default())
        prop["examples"] = [example_value(spec)]
        props[name] = prop
    out: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": props}
    if required:
        out["required"] = required
    return out


def _number_text(spec: Spec, number: float) -> str:
    return seconds_text(number) if spec.key.unit == "duration" else f"{number:g}"


def type_text(spec: Spec) -> str:
    """A short human name of the key's type and bounds: "duration > 0s"."""
    schema = _type_schema(spec)
    if spec.key.unit == "duration":
        text = "duration"
    elif "enum" in schema:
        text = " or ".join(f'"{c}"' for c in schema["enum"])
    elif schema.get("type") == "array":
        text = "list of strings"
    else:
        text = str(schema["type"])
    if spec.key.minimum is not None:
        text += f" {'>' if spec.key.above else '≥'} {_number_text(spec, spec.key.minimum)}"
    if spec.key.maximum is not None:
        text += f" ≤ {_number_text(spec, spec.key.maximum)}"
    return text


def default_text(spec: Spec) -> str:
    if spec.key.default_text is not None:
        return spec.key.default_text
    if not spec.has_default:
        return "required"
    value = _plain(spec, spec.default())
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value).replace("'", '"')


def markdown_rows(cls: type) -> list[str]:
    """One Markdown table row per key of ``cls`` (sub-tables left to their own table)."""
    rows = ["| Key | Type | Default | What it does |", "|---|---|---|---|"]
    for name, spec in config_keys(cls).items():
        if is_section(spec.type):
            continue
        doc = spec.key.doc.replace("|", "\\|")
        rows.append(f"| `{name}` | {type_text(spec)} | `{default_text(spec)}` | {doc} |")
    return rows
