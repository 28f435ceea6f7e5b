"""Undo what terminals, CI systems and loggers do to a message before parsing it.

Every function here takes one line (or one logical text) and is linear in its
length; nothing here is called on lines that hold no marker.
"""

from __future__ import annotations

import re

#: Terraform draws its diagnostics in a box: ``╷`` opens, ``│ `` prefixes, ``╵`` closes.
BOX_BAR = "│"

# Linear: a fixed introducer, one bounded class run, one final byte; no nesting.
_ANSI_CSI = re.compile(r"\x1b\[[0-9;:?<=>]{0,64}[ -/]{0,4}[@-~]")
# Linear: OSC sequences end at BEL or ST; the body is one negated class run.
_ANSI_OSC = re.compile(r"\x1b\][^\x07\x1b]{0,512}(?:\x07|\x1b\\)")
# Linear: one escape per match, alternatives of fixed length.
_JSON_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|([\"\\/bfnrt]))")

_SIMPLE_ESCAPES = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}


def strip_ansi(text: str) -> str:
    """Remove colour and cursor escape sequences (raw ESC or stray ``[0m`` left by loggers)."""
    if "\x1b" not in text:
        return text
    text = _ANSI_OSC.sub("", text)
    text = _ANSI_CSI.sub("", text)
    return text.replace("\x1b", "")


def _unescape_one(match: re.Match[str]) -> str:
    if match.group(1) is not None:
        return chr(int(match.group(1), 16))
    return _SIMPLE_ESCAPES[match.group(2)]


def unescape_json(text: str, passes: int = 2) -> str:
    """Undo JSON string escapes, twice when a message was JSON-encoded inside JSON."""
    for _ in range(passes):
        if "\\" not in text:
            break
        text = _JSON_ESCAPE.sub(_unescape_one, text)
    return text


def strip_box(line: str) -> tuple[str, bool]:
    """Drop a Terraform ``│ `` prefix; return the rest and whether it was a box line."""
    stripped = line.lstrip()
    if stripped.startswith(BOX_BAR):
        rest = stripped[1:]
        return (rest[1:] if rest.startswith(" ") else rest), True
    return line, False


def clean_line(raw: str) -> str:
    """A physical line without ANSI codes and without its line ending."""
    return strip_ansi(raw.rstrip("\r\n"))


def excerpt(text: str, start: int, end: int, limit: int = 500) -> str:
    """At most ``limit`` characters of ``text`` around ``[start, end)``, on one line."""
    text = text.replace("\r", "").replace("\n", " ")
    if len(text) <= limit:
        return text
    if end - start >= limit:
        return text[start : start + limit - 1] + "…"
    lead = min(start, (limit - (end - start)) // 3)
    lo = start - lead
    hi = min(len(text), lo + limit - 2)
    return ("…" if lo > 0 else "") + text[lo:hi] + ("…" if hi < len(text) else "")


# Linear: anchored; fixed-width digit groups and optional bounded fraction/zone.
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?[ \t]{1,8}"
)
# Linear: anchored; an optional literal arrow, one bounded name class, a literal colon.
_PACKER = re.compile(
    r"(?:==> |--> |[ \t]{2,8})(?P<name>[a-z][a-z0-9_-]{0,63}(?:\.[A-Za-z0-9_-]{1,63})?): "
)


def normalize_line(raw: bytes) -> tuple[str, bool]:
    """Decode one physical line; return its text and whether it held invalid UTF-8.

    The line ending and ANSI escapes are removed; invalid bytes become U+FFFD so
    the rest of the line is still searched.
    """
    try:
        text = raw.decode("utf-8")
        bad = False
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        bad = True
    if "\x00" in text:
        text = text.replace("\x00", "")  # a copytruncate hole before the line's text
    return clean_line(text), bad


def has_json_escapes(text: str) -> bool:
    """True when ``text`` holds JSON string escapes worth undoing.

    ``\\/`` counts: JSON encoders that escape slashes turn every ARN and URL
    into ``arn:aws:iam::1:policy\\/Name``.
    """
    return (
        '\\"' in text
        or "\\n" in text
        or "\\u" in text
        or "\\t" in text
        or "\\\\" in text
        or "\\/" in text
    )


def strip_known_prefix(line: str) -> str:
    """Drop what a tool prints before each physical line: Terraform's ``│``, CI timestamps,
    Markdown's ``> `` quote; and a TUI's right-hand ``│`` border.

    Leading blanks after them are kept: indentation is the caller's business.
    """
    if line.endswith(BOX_BAR):
        line = line[:-1].rstrip(" \t")
    else:
        # Most lines start with none of what a prefix starts with (a blank, a
        # border, a quote, a timestamp's digit): this runs on every joined line.
        first = line[:1]
        if first and not (first.isspace() or first.isdigit() or first in ">" + BOX_BAR):
            return line
    for _ in range(3):  # a timestamp inside a box, a box inside a timestamped log
        rest, boxed = strip_box(line)
        if not boxed:
            rest, boxed = _strip_quote(rest)
        m = _TIMESTAMP.match(rest)
        if m:
            rest = rest[m.end() :]
        if not boxed and not m:
            return line
        line = rest
    return line


def _strip_quote(line: str) -> tuple[str, bool]:
    """Drop a Markdown/e-mail quote prefix (``> ``, ``>> ``); the rest and whether it was one."""
    stripped = line.lstrip(" ")
    if not stripped.startswith(">") or stripped.startswith(">>>>"):
        return line, False  # ">>>>>> Message:" is a tool's banner, kept as text
    rest = stripped.lstrip(">")
    if rest and not rest.startswith((" ", "\t")):
        return line, False  # "->x" or ">foo": not a quote
    return rest[1:] if rest else rest, True


#: The HTML entities web pages leave in pasted error texts.
_ENTITIES = {
    "&quot;": '"',
    "&#34;": '"',
    "&#39;": "'",
    "&#x27;": "'",
    "&apos;": "'",
    "&gt;": ">",
    "&lt;": "<",
    "&nbsp;": " ",
    "&amp;": "&",  # last: "&amp;quot;" is one level of escaping, undone once
}
# Linear: literal delimiters around one bounded negated class; lookarounds are single chars.
_BOLD = re.compile(r"(?<!\*)\*\*([^\s*][^*\n]{0,300}?)\*\*(?!\*)")


def strip_markup(text: str) -> str:
    """Undo a web page's HTML entities and Markdown bold (``**ec2:RunInstances**``).

    Stars that are not a bold pair (``***REDACTED**``, ``s3:*``) are kept.
    """
    if "&" in text and ";" in text:
        for entity, char in _ENTITIES.items():
            if entity in text:
                text = text.replace(entity, char)
    if "**" in text:
        text = _BOLD.sub(r"\1", text)
    return text


def packer_prefix(line: str) -> str | None:
    """Packer's per-builder prefix (``==> amazon-ebs: ``, ``    amazon-ebs.x: ``), if any.

    Builder names hold a ``-`` or a ``.``; that tells them from ``Error: `` or ``User: ``.
    """
    m = _PACKER.match(strip_known_prefix(line))
    if m is None:
        return None
    name = m.group("name")
    if "-" not in name and "." not in name:
        return None
    return m.group(0)


def common_prefix(a: str, b: str) -> str:
    """The longest shared start of ``a`` and ``b`` that ends after a blank.

    Ending at a blank keeps a wrapped blob whole: a piece that starts with the
    same letters as the first line shares no *word* with it.
    """
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    while i > 0 and not a[i - 1].isspace():
        i -= 1
    return a[:i]
