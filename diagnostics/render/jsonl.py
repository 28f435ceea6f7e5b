"""JSON lines: one diagnosis object per line, fields as the output contract (README) fixes them."""

from __future__ import annotations

import orjson

from diagnostics.model import Diagnosis
from diagnostics.text.safe import json_bytes


def render(diagnosis: Diagnosis) -> bytes:
    """One line, newline included; C1 and bidi characters as ``\\uNNNN`` escapes."""
    return json_bytes(orjson.dumps(diagnosis.to_json(), option=orjson.OPT_APPEND_NEWLINE))
