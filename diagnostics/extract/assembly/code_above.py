"""An error code printed on the line above its message: XML and pretty-printed JSON bodies.

``<Error>`` / ``<Code>AccessDenied</Code>`` / ``<Message>Access Denied</Message>``
(curl, boto2, a browser) and the AWS CLI's ``--cli-error-format json``
(``"Code": "AccessDenied",`` then ``"Message": "..."``) put the code on its own
line.  The record assembler reads the message line; this finds the code in
the lines just above it, within the same body (it stops at a blank line or
the body's opening brace or tag).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from diagnostics.extract.assembly.found import Found
from diagnostics.extract.parsers.exception_frames import ruby_class
from diagnostics.iam.error_codes import is_authz_error_code

# Linear: anchored after optional blanks; literal keys, one bounded class per branch.
_CODE_LINE = re.compile(
    r"""[ \t>]{0,40}(?:<Code>(?P<xml>[A-Za-z0-9_.]{1,100})</Code>"""
    r"""|["']?(?:Code|code|__type|errorCode|ErrorCode)["']?[ \t]{0,4}:[ \t]{0,4}"""
    r"""["'](?P<json>[A-Za-z0-9_.#:]{1,160})["'],?"""
    # The exception class alone on its line (an IDE's or SDK's title line).
    r"""|(?P<word>[A-Z][A-Za-z0-9.]{2,100}):?)"""
    r"""[ \t]{0,8}$"""
)
_BODY_ENDS = ("}", "</Error>", "</Errors>", "</Response>", "</ErrorResponse>")
# Linear: anchored after optional blanks; literal keys and tags, one bounded class.
_BARE_MESSAGE = re.compile(
    r"""[ \t>]{0,40}(?:<Message>(?:Access Denied|Forbidden)</Message>"""
    r"""|["']?(?:Message|message)["']?[ \t]{0,4}:[ \t]{0,4}["'](?:Access Denied|Forbidden)["'],?)"""
    r"""[ \t]{0,8}$"""
)
# Linear: anchored; bounded blank and emphasis classes around a literal alternation.
_PLAIN_BARE = re.compile(r"[ \t>*_`]{0,8}(?:Access Denied|Forbidden)[ \t*_`.]{0,8}$")
_BODY_STARTS = ("{", "<Error>", "<Errors>", "<Response>", "<ErrorResponse>")


def _unboxed(line: str) -> str:
    """The line without a box's side borders (Terraform, k9s)."""
    line = line.strip(" \t")
    if line.startswith("│"):
        line = line[1:]
    if line.endswith("│"):
        line = line[:-1]
    return line


def code_above(lines: list[str]) -> str | None:
    """The refusal code on one of ``lines`` (the nearest last), within one error body."""
    for line in map(_unboxed, reversed(lines)):
        stripped = line.strip(" \t>")
        if not stripped or (stripped.startswith(_BODY_STARTS) and "Code" not in stripped):
            return None
        code = _code_on(line)
        if code is not None:
            return code or None
    return None


def _code_on(line: str) -> str | None:
    """The refusal code a code line holds; "" for another code; None: no code line."""
    m = _CODE_LINE.match(line)
    if not m:
        return None
    code = (m["xml"] or m["json"] or m["word"] or "").split("#")[-1].split(":")[0]
    return code if is_authz_error_code(code) else ""


def code_below(lines: list[str]) -> str | None:
    """The refusal code on one of ``lines`` (the nearest first), within one error body.

    JS SDK v2 error objects and API Gateway bodies print ``"message"`` before
    ``"code"``; the record assembler reads only the message line.
    """
    for line in map(_unboxed, lines):
        stripped = line.strip(" \t>")
        if not stripped or stripped.startswith(_BODY_ENDS):
            return None
        code = _code_on(line)
        if code is not None:
            return code or None
    return None


def bare_message(line: str) -> bool:
    """``line`` is only a body's message field holding S3's bare refusal."""
    return _BARE_MESSAGE.match(_unboxed(line)) is not None


def with_code_above(
    found: list[Found], first_line: str, above: Callable[[], list[str]]
) -> list[Found]:
    """``found`` with the code above filled in where no frame gave one.

    A record that is only a body's bare message (``"Message": "Access Denied"``)
    becomes a failure when the line above holds a refusal code.  ``above``
    gives the previous lines; it is called only when needed.
    """
    if found and all(f.error_code is not None for f in found):
        return found
    if not found and _PLAIN_BARE.match(first_line):
        return _under_ruby_title(first_line, above())
    if not found and not bare_message(first_line):
        return found
    code = code_above(above())
    if code is None:
        return found
    if not found:
        note = "the error code is on the line above; the message names no principal or resource"
        return [Found("plain", 0, len(first_line), error_code=code, parse_notes=(note,))]
    return [f if f.error_code is not None else replace(f, error_code=code) for f in found]


def _under_ruby_title(line: str, lines: list[str]) -> list[Found]:
    """The bare message under the Ruby SDK's class as an error tracker's title
    (Bugsnag, Sentry: ``Aws::S3::Errors::AccessDenied in Controller#action``, then
    the message on the next line)."""
    title = ruby_class(lines[-1]) if lines else None
    if title is None:
        return []
    note = "the error class is on the line above; the message names no principal or resource"
    return [
        Found(
            "plain", 0, len(line), error_code=title[0], event_source=title[1], parse_notes=(note,)
        )
    ]


# Linear: anchored after optional blanks; literal keys.
_MESSAGE_KEY = re.compile(
    r"""[ \t>]{0,40}(?:["']?(?:message|Message|errorMessage)["']?[ \t]{0,4}:|<Message>)"""
)


def with_code_below(
    found: list[Found], heads: list[str], below: Callable[[], list[str]]
) -> list[Found]:
    """``found`` with the code printed below its message field filled in where none was.

    ``heads`` are the lines the record may open with (its first line, and the
    line a wrapped message began on); one must be the message field, which
    may sit in a Terraform box.  A record that is only a body's bare message
    becomes a failure when a refusal code follows it, as ``with_code_above``
    does for a code above.
    """
    if found and all(f.error_code is not None for f in found):
        return found
    opened = [h for h in map(_unboxed, heads) if _MESSAGE_KEY.match(h)]
    if not opened or (not found and not bare_message(opened[0])):
        return found
    head = opened[0]
    code = code_below(below())
    if code is None:
        return found
    if not found:
        note = "the error code is on the line below; the message names no principal or resource"
        return [Found("plain", 0, len(head), error_code=code, parse_notes=(note,))]
    return [f if f.error_code is not None else replace(f, error_code=code) for f in found]


def bodies_in_text(text: str) -> list[Found]:
    """Bare-message bodies inside one record's text, its lines joined with ``\\n``.

    A JSON log line that carries the CLI's ``--cli-error-format json`` output in a
    string field escapes its line breaks: unescaped, the body's lines are lines of
    the record's text, and the code above the message is read the same way.
    """
    out: list[Found] = []
    lines = text.split("\n")
    pos = 0
    for i, line in enumerate(lines):
        if bare_message(line):
            code = code_above(lines[:i]) or code_below(lines[i + 1 :])
            if code is not None:
                note = "the error code is beside the message; it names no principal or resource"
                out.append(
                    Found("plain", pos, pos + len(line), error_code=code, parse_notes=(note,))
                )
        pos += len(line) + 1
    return out
