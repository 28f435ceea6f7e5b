"""Registries of matchers and placeholders: the rule-file schema is built from them.

Each matcher and each template placeholder registers a name, a one-line doc
and (for matchers) a checker for its argument.  The loader, ``rules lint``
and ``rules schema`` read these registries, so a rule file and the code
cannot disagree about which names exist.

This module only holds the registries; ``rules/tables.py`` imports the
modules that fill them, so imports run one way (matchers -> registry).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from diagnostics.rules.subject import Subject

#: Returns a problem description, or None when the value is acceptable.
Checker = Callable[[Any], str | None]
#: Turns the (checked) TOML value into what ``test`` receives.
Preparer = Callable[[Any], Any]
Tester = Callable[[Any, "Subject"], bool]
#: A placeholder's value: a string, a list of strings, or None when unknown.
Value = str | list[str] | None
Resolver = Callable[["Subject", str | None], Value]


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    doc: str
    arg: str  # human description of the argument's type, for docs and hints
    check: Checker
    prepare: Preparer
    test: Tester


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str
    doc: str
    #: "none", "optional" or "required": whether ``{name:ARG}`` takes an argument.
    takes_arg: str
    resolve: Resolver


MATCHERS: dict[str, Matcher] = {}
PLACEHOLDERS: dict[str, Placeholder] = {}


def matcher(
    name: str, doc: str, arg: str, check: Checker, prepare: Preparer | None = None
) -> Callable[[Tester], Tester]:
    """Register ``fn(prepared_value, subject) -> bool`` as the matcher ``name``."""

    def deco(fn: Tester) -> Tester:
        if name in MATCHERS:
            raise ValueError(f"matcher {name!r} registered twice")
        MATCHERS[name] = Matcher(name, doc, arg, check, prepare or (lambda v: v), fn)
        return fn

    return deco


def placeholder(name: str, doc: str, takes_arg: str = "none") -> Callable[[Resolver], Resolver]:
    """Register ``fn(subject, arg) -> value`` as the template placeholder ``{name}``."""

    def deco(fn: Resolver) -> Resolver:
        if name in PLACEHOLDERS:
            raise ValueError(f"placeholder {name!r} registered twice")
        PLACEHOLDERS[name] = Placeholder(name, doc, takes_arg, fn)
        return fn

    return deco
