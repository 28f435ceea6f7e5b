"""The one output-safety layer: log-originated text made inert for people and parsers.

Log lines are attacker-controlled.  An ESC or C1 CSI (U+009B) sequence
inside a resource name could rewrite the user's terminal; a bidi override
(U+202E) or an invisible character (U+200B, U+FEFF) could make ``allow``
read as ``wolla`` or hide part of an ARN; a newline inside a file name could
print a fake ``Why:`` line that looks like the tool's own.  Every
human-facing path (``scan`` text and policy output, stderr warnings, the
watch text sinks) prints log values through ``line`` (one line, everything
unsafe escaped) or ``block`` (deliberate multi-line text, each line escaped
and indented under its label).  ``json_bytes`` does the same for JSON
output, which stays faithful: only characters a JSON encoder may leave raw
are written as ``\\uNNNN`` escapes, so the decoded value is unchanged.
"""

from __future__ import annotations

import re

# Every character of Unicode general categories Cc (C0, DEL, C1), Cf
# (format: bidi embeddings, overrides, isolates and marks, zero-width
# characters, BOM, Arabic/Syriac format marks, interlinear annotations, tag
# characters) and Zl/Zp (line and paragraph separators), as listed by
# Unicode 15.1's UnicodeData.txt; tests/test_output_safety.py checks the
# class against the running Python's ``unicodedata``.  A single character
# class, no nesting: linear in the input length.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    "\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)

# In JSON text every C0 control is already escaped by the encoder; these are
# the characters orjson writes raw that a terminal or an editor still acts on.
# One character class: linear.
_JSON_UNSAFE = re.compile(
    "[\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    "\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

#: Longest value ``line`` prints before saying how much it left out.
LINE_LIMIT = 4000


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    named = _NAMED.get(ch)
    if named:
        return named
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def line(value: object, limit: int = LINE_LIMIT) -> str:
    """``value`` as one printable line: newlines, controls and format characters escaped."""
    text = str(value)
    if len(text) > limit:
        text = text[:limit] + f"… ({len(text) - limit} more characters)"
    return _UNSAFE.sub(_escape, text)


def block(text: object, indent: str, limit: int = LINE_LIMIT) -> list[str]:
    """Multi-line ``text`` as lines, each escaped like ``line`` and prefixed with ``indent``.

    Only ``\\n`` breaks a line; a carriage return or a Unicode separator is
    shown escaped.  The caller's indent is deeper than its field labels, so
    no line of ``text`` can pass for one of them.
    """
    return [indent + line(part, limit) for part in str(text).split("\n")]


def _json_escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    if code > 0xFFFF:  # JSON spells astral characters as a UTF-16 surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


#: Every ASCII byte, for ``bytes.translate`` to delete.
_ASCII = bytes(range(0x80))


def json_bytes(data: bytes) -> bytes:
    """orjson output with DEL, C1 and format characters written as ``\\uNNNN`` escapes.

    The JSON still decodes to the same values.  Pure ASCII output (nearly
    all of it) costs one ``isascii`` scan and a DEL check.  Otherwise the
    regex only reads the non-ASCII bytes (``translate`` drops the rest at C
    speed: a multi-byte UTF-8 sequence has no ASCII byte in it), and each
    unsafe character found is replaced with ``str.replace``; a regex pass
    over whole lines was 15 times slower (bench/json_escape.py).
    """
    if b"\x7f" in data:  # DEL is ASCII: the only unsafe character below U+0080
        data = data.replace(b"\x7f", b"\\u007f")
    if data.isascii():
        return data
    found = set(_JSON_UNSAFE.findall(data.translate(None, _ASCII).decode("utf-8")))
    if not found:
        return data
    text = data.decode("utf-8")
    for ch in found:
        text = text.replace(ch, _JSON_UNSAFE.sub(_json_escape, ch))
    return text.encode("utf-8")
