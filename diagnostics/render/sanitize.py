"""Make log-originated text safe to print on a terminal.

Log lines are attacker-controlled: an ESC sequence inside a denied resource
name could rewrite the user's terminal.  Every value printed by the text
renderer goes through ``safe``.
"""

from __future__ import annotations

import re

# One character class, no nesting: linear in the input length.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(value: object, limit: int = 4000) -> str:
    """``value`` as text with control characters shown as ``\\xNN`` and bounded length."""
    text = str(value)
    if len(text) > limit:
        text = text[:limit] + f"… ({len(text) - limit} more characters)"
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
