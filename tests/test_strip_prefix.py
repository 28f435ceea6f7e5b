"""Stripping what tools print before a line (``extract.normalize.strip_known_prefix``) is unchanged.

It runs several times on every line the reader joins, so it returns at once
when the line's first character cannot start a prefix; this test holds it to
the full walk (box border, quote, timestamp, three times) on lines that start
with every kind of character, Unicode blanks and digits included.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.extract.assembly import normalize
from diagnostics.extract.assembly.normalize import strip_known_prefix


def _full_walk(line: str) -> str:
    """The definition: drop a right-hand border, then up to three rounds of prefixes."""
    if line.endswith(normalize.BOX_BAR):
        line = line[:-1].rstrip(" \t")
    for _ in range(3):
        rest, boxed = normalize.strip_box(line)
        if not boxed:
            rest, boxed = normalize._strip_quote(rest)
        m = normalize._TIMESTAMP.match(rest)
        if m:
            rest = rest[m.end() :]
        if not boxed and not m:
            return line
        line = rest
    return line


_HEADS = st.sampled_from(
    [
        "",
        " ",
        "\t",
        "\u00a0",
        "\u2003",
        "\x0b",
        "\x1c",
        "\u0085",
        ">",
        "> ",
        ">>>>",
        "│",
        "│ ",
        "2026-01-02T03:04:05Z ",
        "2026-01-02 03:04:05,123 ",
        "\u0662\u0660\u0662\u0666-01-02T03:04:05Z ",
        "\u00b2",
        "x",
        "A",
        "{",
        "-",
        "é",
    ]
)


@settings(max_examples=600, deadline=None)
@given(st.lists(_HEADS, max_size=4), st.text(alphabet="ab │>:-0 \t", max_size=20))
def test_strip_known_prefix_agrees_with_the_full_walk(heads: list[str], body: str) -> None:
    """Any mix of borders, quotes, timestamps and other first characters strips as before."""
    line = "".join(heads) + body
    assert strip_known_prefix(line) == _full_walk(line)
