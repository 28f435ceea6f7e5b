"""Decoded messages that are not valid JSON any more, read for what they still say.

People paste ``aws sts decode-authorization-message`` output after a console,
a chat or their own hands have been at it: ``(...)`` or ``...`` where they cut
a list, a message cut off before its closing braces, ``\\"`` escapes undone in
one half and not the other, trailing commas.  ``repair`` undoes those and
parses again; when even that fails, ``salvage`` keeps the fields a diagnosis
needs (allowed, explicitDeny, the principal ARN, action and resource) from
their ``"key": value`` pairs.
"""

from __future__ import annotations

import json
import re
from typing import Any

from diagnostics.extract.parsers.json_brackets import BracketWalk

#: Elisions people write in place of what they cut.
_ELISIONS = ("(...)", "[...]", "…", "...")
# Linear: one bounded blank run before a literal closer.
_TRAILING_COMMA = re.compile(r",[ \t\r\n]{0,64}(?=[}\]])")
# Linear: anchored literal keys, one bounded negated class for the value.
_STRING_KEY = re.compile(
    r'"(?P<key>arn|action|resource)"[ \t]{0,8}:[ \t]{0,8}"(?P<value>[^"\n]{1,2048})"'
)
# Linear: literal keys and literal values.
_BOOL_KEY = re.compile(r'"(?P<key>allowed|explicitDeny)"[ \t]{0,8}:[ \t]{0,8}(?P<value>true|false)')


def repair(text: str) -> Any | None:
    """The JSON value ``text`` holds once elisions, cuts and stray escapes are undone."""
    fixed = text.replace('\\"', '"') if text.count('\\"') * 2 < text.count('"') else text
    for mark in _ELISIONS:
        fixed = fixed.replace(mark, "")
    fixed = _TRAILING_COMMA.sub("", fixed)
    fixed = _close(fixed)
    try:
        return json.loads(fixed)
    except ValueError:
        return None


def _close(text: str) -> str:
    """``text`` with the brackets a cut left open closed again (an open string ends too)."""
    stack: list[str] = []
    walk = BracketWalk(text)
    for _, ch in walk:
        if ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif stack:
            stack.pop()
    tail = '"' if walk.in_string else ""
    body = (text + tail).rstrip().rstrip(",:")
    return body + "".join(reversed(stack))


def salvage(text: str) -> dict[str, Any] | None:
    """A minimal decoded message from the ``"key": value`` pairs still readable, or None."""
    found: dict[str, Any] = {}
    for m in _BOOL_KEY.finditer(text):
        found.setdefault(m.group("key"), m.group("value") == "true")
    for m in _STRING_KEY.finditer(text):
        found.setdefault(m.group("key"), m.group("value"))
    if "allowed" not in found or not ({"action", "resource", "arn"} & found.keys()):
        return None
    context: dict[str, Any] = {}
    if "arn" in found:
        context["principal"] = {"arn": found["arn"]}
    for key in ("action", "resource"):
        if key in found:
            context[key] = found[key]
    message: dict[str, Any] = {"allowed": found["allowed"], "context": context}
    if "explicitDeny" in found:
        message["explicitDeny"] = found["explicitDeny"]
    return message
