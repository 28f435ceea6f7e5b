"""JSON lines: one diagnosis object per line, fields as the output contract (README) fixes them."""

from __future__ import annotations

import orjson

from diagnostics.model import Diagnosis


def render(diagnosis: Diagnosis) -> bytes:
    """One line, newline included."""
    return orjson.dumps(diagnosis.to_json(), option=orjson.OPT_APPEND_NEWLINE)
