"""Log values made inert for GitHub-flavoured Markdown: no HTML, link or mention of the writer's.

``--format markdown`` is pasted into job summaries and PR comments, whose
renderer keeps raw HTML (``<img>``, ``<a>``, ``<details>``), turns bare URLs,
``www.`` and e-mail addresses into links (GFM's autolink extension) and
``@user``/``@org/team`` into mentions (after rendering, outside code).  Every
value first goes through ``safe.line`` (terminal safety, one line), then
through one of these, by where it lands:

- ``code``: a code span, for ARNs, actions, file names.  Nothing inside a
  code span is markup, a link or a mention, so the value reads and copies
  exactly as ``safe.line`` wrote it.  The fence is longer than any backtick
  run inside; in a table cell each ``|`` is written ``\\|`` (GFM splits cells
  before it parses code spans, and removes that backslash).
- ``html_code``: the same inside a raw HTML block (the ``<summary>`` line),
  where backslash escapes do not apply: ``&``, ``<``, ``>``, ``"`` become
  entities inside a ``<code>`` element the tool writes itself.
- ``prose``: sentences that quote values (explanations, reasons).  Each
  character CommonMark or GFM gives an inline meaning to is backslash-escaped
  (so nothing is emphasis, code, HTML, an entity, a link, a table cell
  border or math), as is a block marker at the start (``#``, ``-``, ``+``,
  ``=``, ``1.``); the rest of the punctuation stays as it is so the raw file
  still reads like the sentence; ``://`` is shown as ``[:]//``
  and ``www.`` as ``www[.]`` (as the Slack sink does), so no autolink fires;
  and a zero-width joiner (U+200D) follows each ``@``, so no mention or
  e-mail link fires.  That joiner is the one raw format character Markdown
  output holds: the tool writes it, right after ``@``; a joiner in the log
  itself is still shown as ``\\u200d`` by ``safe.line``.
"""

from __future__ import annotations

import re

from diagnostics.text.safe import LINE_LIMIT, line

# Inline markup: emphasis, code, HTML and entities, links and images (an
# escaped "[" leaves "!", "(" and ")" inert), GFM tables and strikethrough,
# GitHub's math.  One character class: linear.
_INLINE = re.compile(r"([\\`*_\[\]<>&|~$])")
# What opens a block at the start of a line: a heading, a list item, a
# thematic break or setext underline, an ordered list item (">" and "*" are
# escaped as inline markup already).
# Linear: anchored, one bounded alternative.
_BLOCK_START = re.compile(r"^(?:([#+=-])|(\d{1,9})([.)]))")
# Linear: one repeated literal.
_BACKTICKS = re.compile(r"`+")
# GFM's extended autolinks start at a scheme's "://" or at "www." (any case).
# Linear: literals only.
_SCHEME = re.compile(r"://")
# Linear: literals only.
_WWW = re.compile(r"(www)\.", re.I)

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
# Linear: one character class.
_HTML_SPECIAL = re.compile(r'[&<>"]')

#: Joined after "@" in prose: GitHub's mentions and GFM's e-mail links need a
#: letter or digit right after it.
ZWJ = "\u200d"


def code(value: object, *, limit: int = LINE_LIMIT, in_table: bool = False) -> str:
    """``value`` as a code span that shows it exactly (after ``safe.line``)."""
    text = line(value, limit)
    if not text:
        return "(empty)"
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    ticks = "`" * (longest + 1)
    # A span that starts or ends with a backtick needs a space to part it from
    # the fence; CommonMark strips one space from each end, so a value that
    # starts or ends with a space keeps it.  All-space text is never stripped.
    if text.strip(" ") and (text[0] in "` " or text[-1] in "` "):
        text = f" {text} "
    if in_table:
        text = text.replace("|", "\\|")
    return f"{ticks}{text}{ticks}"


def html_code(value: object, *, limit: int = LINE_LIMIT) -> str:
    """``value`` as a ``<code>`` element for a raw HTML line, every special character an entity."""
    text = _HTML_SPECIAL.sub(lambda m: _ENTITIES[m.group()], line(value, limit))
    return f"<code>{text}</code>"


def prose(value: object, *, limit: int = LINE_LIMIT) -> str:
    """``value`` as inline text that renders as itself, with no link or mention."""
    # Leading spaces would make an indented code block at the start of a line.
    text = line(value, limit).strip(" ")
    text = _WWW.sub(r"\1[.]", _SCHEME.sub("[:]//", text))
    text = _BLOCK_START.sub(_escape_start, _INLINE.sub(r"\\\1", text))
    return text.replace("@", "@" + ZWJ)


def _escape_start(m: re.Match[str]) -> str:
    if m.group(1):
        return "\\" + m.group(1)
    return f"{m.group(2)}\\{m.group(3)}"
