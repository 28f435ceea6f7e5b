"""Fill a rule's explanation and fix templates with the request's own values."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from diagnostics.rules.registry import Value
from diagnostics.rules.subject import Subject
from diagnostics.rules.tables import placeholders_table

# ``${aws:username}`` is an IAM policy variable, not ours: the lookbehind skips it.
# A default may itself hold one level of placeholders: {resource|arn:aws:iam::{account}:x}.
# Linear: the alternatives split on '{', so no position is read twice from one start.
PLACEHOLDER = re.compile(r"(?<!\$)\{([a-z_]+)(?::([^}|]+))?(?:\|((?:[^{}]|\{[^{}]*\})*))?\}")


#: Filled on import of ``tables``; a dict, so tests may patch entries.
_TABLE = placeholders_table()


class Missing(Exception):
    """A placeholder without a default had no value for this failure."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def placeholder_problems(text: str) -> Iterator[str]:
    """Problems with the placeholders in one template string (for lint and load)."""
    table = _TABLE
    for m in PLACEHOLDER.finditer(text):
        name, arg = m.group(1), m.group(2)
        if m.group(3):
            yield from placeholder_problems(m.group(3))
        ph = table.get(name)
        if ph is None:
            yield f"unknown placeholder {{{name}}}"
        elif ph.takes_arg == "required" and not arg:
            yield f"placeholder {{{name}}} needs an argument: {{{name}:KEY}}"
        elif ph.takes_arg == "none" and arg:
            yield f"placeholder {{{name}}} takes no argument"


def walk_strings(value: Any) -> Iterator[str]:
    """Every string in a nested template (keys included: condition keys are templates)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from walk_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk_strings(v)


#: (placeholder name, rendered default) for each default a rendering fell back to.
Defaults = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class _Ref:
    """One placeholder of a compiled template."""

    name: str
    arg: str | None
    default: str | None
    #: The default's own placeholders, when it has any.
    default_parts: Parts | None


#: A compiled template: literal text and placeholders, in order.
Parts = tuple["str | _Ref", ...]


def _ref(m: re.Match[str]) -> _Ref:
    default = m.group(3)
    nested = _compile(default) if default is not None and "{" in default else None
    return _Ref(m.group(1), m.group(2), default, nested)


# Templates come from rule files, so there are a few hundred at most; parsing
# each once instead of running PLACEHOLDER.sub per failure is the point.
@functools.lru_cache(maxsize=8192)
def _compile(text: str) -> Parts:
    parts: list[str | _Ref] = []
    pos = 0
    for m in PLACEHOLDER.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        parts.append(_ref(m))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    return tuple(parts)


@functools.lru_cache(maxsize=8192)
def _whole(text: str) -> _Ref | None:
    """The placeholder that is the whole of ``text`` ("{dependent_actions}"), if any."""
    m = PLACEHOLDER.fullmatch(text)
    return _ref(m) if m else None



def _resolve(ref: _Ref, s: Subject, used: Defaults | None = None) -> Value:
    value = _TABLE[ref.name].resolve(s, ref.arg)
    if value is None or value == []:
        if ref.default is None:
            raise Missing(ref.name)
        rendered = (
            _render(ref.default_parts, s, False, used)
            if ref.default_parts is not None
            else ref.default
        )
        if used is not None:
            used.append((ref.name, rendered))
        return rendered
    return value


def _render(parts: Parts, s: Subject, lenient: bool, used: Defaults | None) -> str:
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        try:
            value = _resolve(part, s, used)
        except Missing:
            if lenient:
                out.append("(unknown)")
                continue
            raise
        out.append(", ".join(value) if isinstance(value, list) else str(value))
    return "".join(out)


def render_text(
    text: str, s: Subject, *, lenient: bool = False, used: Defaults | None = None
) -> str:
    """A template string with every placeholder filled; lists join with ", ".

    ``lenient`` renders a missing value as ``(unknown)`` (for explanations)
    instead of raising ``Missing`` (for fixes, which must be exact).  ``used``
    collects the defaults that stood in for unknown values.
    """
    if "{" not in text:
        return text
    return _render(_compile(text), s, lenient, used)


def render_value(value: Any, s: Subject, used: Defaults | None = None) -> Any:
    """A statement template rendered to JSON; a whole-value list placeholder becomes a list."""
    if isinstance(value, str):
        whole = _whole(value) if "{" in value else None
        if whole is not None:
            resolved = _resolve(whole, s, used)
            return list(resolved) if isinstance(resolved, list) else resolved
        return render_text(value, s, used=used)
    if isinstance(value, dict):
        return {render_text(k, s, used=used): render_value(v, s, used) for k, v in value.items()}
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            rendered = render_value(item, s, used)
            # A list placeholder inside a list splices in, so Action = ["x", "{list}"] stays flat.
            if isinstance(item, str) and isinstance(rendered, list):
                out.extend(r for r in rendered if r not in out)
            elif rendered not in out:
                out.append(rendered)
        return out
    return value
