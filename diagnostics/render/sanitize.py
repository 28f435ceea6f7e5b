"""Make log-originated text safe to print on a terminal.

Log lines are attacker-controlled: an ESC sequence inside a denied resource
name could rewrite the user's terminal, and a bidirectional override
(U+202E) could make ``allow`` read as ``wolla`` on screen.  Every value
printed by the text renderer goes through ``safe``.
"""

from __future__ import annotations

import re

# C0/C1 controls (tab and newline kept), bidi embeddings, overrides and
# isolates (Unicode TR9), and the line/paragraph separators.  One character
# class, no nesting: linear in the input length.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)


def safe(value: object, limit: int = 4000) -> str:
    """``value`` as text with control characters shown as ``\\xNN`` and bounded length."""
    text = str(value)
    if len(text) > limit:
        text = text[:limit] + f"… ({len(text) - limit} more characters)"
    return _CONTROL.sub(_escape, text)


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
