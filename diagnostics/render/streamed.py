"""The bytes ``scan`` streams for one diagnosis, in the formats it streams."""

from __future__ import annotations

from diagnostics.model import Diagnosis
from diagnostics.render import jsonl, text

#: Formats written as each diagnosis is ready (the others are collected first).
RENDERED = ("json", "text")


def rendered(diagnosis: Diagnosis, number: int, fmt: str) -> bytes:
    """``diagnosis`` as the ``number``-th of the scan's output, in ``fmt`` (json or text)."""
    if fmt == "json":
        return jsonl.render(diagnosis)
    return text.render(diagnosis, number).encode()
