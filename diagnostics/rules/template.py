"""Fill a rule's explanation and fix templates with the request's own values."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from diagnostics.rules.registry import Value, placeholders_table
from diagnostics.rules.subject import Subject

# ``${aws:username}`` is an IAM policy variable, not ours: the lookbehind skips it.
# A default may itself hold one level of placeholders: {resource|arn:aws:iam::{account}:x}.
# Linear: the alternatives split on '{', so no position is read twice from one start.
PLACEHOLDER = re.compile(r"(?<!\$)\{([a-z_]+)(?::([^}|]+))?(?:\|((?:[^{}]|\{[^{}]*\})*))?\}")


class Missing(Exception):
    """A placeholder without a default had no value for this failure."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def placeholder_problems(text: str) -> Iterator[str]:
    """Problems with the placeholders in one template string (for lint and load)."""
    table = placeholders_table()
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


def _resolve(m: re.Match[str], s: Subject, used: Defaults | None = None) -> Value:
    name, arg, default = m.group(1), m.group(2), m.group(3)
    value = placeholders_table()[name].resolve(s, arg)
    if value is None or value == []:
        if default is None:
            raise Missing(name)
        rendered = render_text(default, s, used=used) if "{" in default else default
        if used is not None:
            used.append((name, rendered))
        return rendered
    return value


def render_text(
    text: str, s: Subject, *, lenient: bool = False, used: Defaults | None = None
) -> str:
    """A template string with every placeholder filled; lists join with ", ".

    ``lenient`` renders a missing value as ``(unknown)`` (for explanations)
    instead of raising ``Missing`` (for fixes, which must be exact).  ``used``
    collects the defaults that stood in for unknown values.
    """

    def sub(m: re.Match[str]) -> str:
        try:
            value = _resolve(m, s, used)
        except Missing:
            if lenient:
                return "(unknown)"
            raise
        return ", ".join(value) if isinstance(value, list) else str(value)

    return PLACEHOLDER.sub(sub, text)


def render_value(value: Any, s: Subject, used: Defaults | None = None) -> Any:
    """A statement template rendered to JSON; a whole-value list placeholder becomes a list."""
    if isinstance(value, str):
        m = PLACEHOLDER.fullmatch(value)
        if m:
            resolved = _resolve(m, s, used)
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
