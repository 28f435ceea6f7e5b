"""The brackets of JSON-like text outside its strings.

Readers of cut or pretty-printed JSON (decoded messages, CloudTrail records
inside other text) all need the same walk: which ``{ [ } ]`` are structure
and which sit inside a string, and whether the text ended inside one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(slots=True)
class BracketWalk:
    """One walk over ``text``; once it is done, ``in_string`` and ``escaped`` say how it ended."""

    text: str
    in_string: bool = False
    escaped: bool = False

    def __iter__(self) -> Iterator[tuple[int, str]]:
        """Each ``{``, ``[``, ``}`` and ``]`` outside strings, with its index."""
        in_string = escaped = False
        for i, ch in enumerate(self.text):
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch in "{[}]":
                yield i, ch
        self.in_string, self.escaped = in_string, escaped
