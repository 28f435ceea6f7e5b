"""The principal slot of a plain sentence: a clean ARN, or the text as written.

``User: <principal> is not authorized ...``: AWS puts a principal ARN there,
but what people paste holds redactions (``[REDACTED]``, ``xxxx``,
``<account id>``), a bare name (``PostConfirmation``), nothing at all, or an
ARN glued to ``is``.  A clean ARN becomes ``principal_arn``; anything else the
text says is kept as ``principal_text`` so the failure survives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MAX_TOKEN = 2048
_SERVICE_PRINCIPAL = re.compile(
    r"^[a-z0-9][a-z0-9.-]{0,100}\.amazonaws\.com(?:\.cn)?$"
)  # linear: anchored classes
#: A clean principal ARN: partition, service, an empty region, a 12-digit account.
# Linear: anchored; disjoint bounded classes separated by literal colons.
_CLEAN_ARN = re.compile(
    r"^arn:aws[a-z-]{0,16}:[a-z0-9-]{1,64}:[a-z0-9-]{0,32}:\d{12}:[^\s<>\[\]{}*]{1,2000}$"
)
# Linear: anchored; one bounded class.
_BARE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+=,-]{0,127}$")
# Linear: one class, no repetition.  ``\s`` is exactly ``str.isspace``.
_TOKEN_BREAK = re.compile(r"[\s\"'(`\[]")
#: Labels AWS puts before the principal, longest first.
_LABELS = ("Principal:", "User:", "user:", "User ")
#: What people write for a principal they left out of a paste.
_ELISIONS = frozenset({"...", "…", "[...]", "(...)", "<...>"})
#: How far before ``is not authorized`` a label may be for a non-ARN principal.
_LABEL_REACH = 300


def is_clean_arn(arn: str) -> bool:
    """A whole principal ARN: 12-digit account, a named user/role, a session for assumed-role."""
    if not _CLEAN_ARN.match(arn) or "..." in arn or "…" in arn:
        return False  # an elided name ("assumed-role/x/...", "role/ab...yz") is no real one
    resource = arn.split(":", 5)[5]
    kind, _, rest = resource.partition("/")
    if kind == "assumed-role":
        role, _, session = rest.partition("/")
        return bool(role and session)  # "assumed-role/x" alone lost its session name
    if kind in ("user", "role", "federated-user", "group"):
        return bool(rest) and not rest.endswith("/")
    return True


@dataclass(frozen=True, slots=True)
class Principal:
    """The principal slot of a sentence: a clean ARN, or the text as written."""

    arn: str | None
    text: str | None
    start: int  # where the sentence starts (its label, if any)


def principal_before(text: str, middle: int) -> Principal | None:
    """The principal before ``is not authorized``, and where the sentence starts.

    A clean ARN (or a service principal, or ``anonymous``) is the principal.
    Anything else written after a ``User:`` label (redacted, empty, a
    placeholder, a bare name, an ARN with a space in it) is kept as text; so
    is an empty slot after any ``Word:`` label (``AccessDenied:  is not ...``,
    ``Reason: is not ...``) or at a line's start (a pasted fragment).
    """
    is_at = middle - 3
    if text.startswith("You are ", middle - 8) and middle >= 8:
        # "You are not authorized to perform: athena:X" (Athena): the caller, unnamed.
        return Principal(None, None, middle - 8)
    if is_at < 0 or text[is_at:middle] not in ("is ", "Is "):
        return _left_out(text, middle)
    if text[is_at] == "I" and not (is_at == 0 or text[is_at - 1] == "\n"):
        return None  # "Is" starts a sentence: only a title line's own start
    end = is_at
    while end > 0 and text[end - 1].isspace():
        end -= 1
    label_at, label = _label_before(text, is_at)
    if end == is_at and (is_at == 0 or text[is_at - 1] == "\n"):
        return Principal(None, None, is_at)  # a fragment that starts at "is not authorized"
    if end == is_at:
        return _glued(text, is_at, label_at, label)
    while end > 0 and text[end - 1] in "`'\"":
        end -= 1  # the closing quote of `arn:...`: the token is inside it
    floor = max(0, end - _MAX_TOKEN)
    # The token runs back to the last blank, quote or bracket (a blank, mostly).
    start = max(floor, text.rfind(" ", floor, end) + 1)
    for brk in _TOKEN_BREAK.finditer(text, start, end):
        start = brk.end()
    candidate = text[start:end].strip("\"'`,")
    sentence_start = start
    if label and label_at + len(label) <= start:
        gap = text[label_at + len(label) : start]
        if not gap.strip(" \t\"'`*"):
            sentence_start = label_at
    if candidate and (
        is_clean_arn(candidate)
        or _SERVICE_PRINCIPAL.match(candidate)
        or (candidate == "anonymous" and sentence_start < start)
    ):
        return Principal(candidate, None, sentence_start)
    if label:
        written = text[label_at + len(label) : is_at].strip().strip("\"'`").strip()
        if not written and label == "User ":
            # "User is not authorized to perform: X" (a heading, prose): "User" is the
            # sentence's subject, not a label with its principal deleted ("User: is").
            return Principal(None, None, label_at)
        return Principal(None, written, label_at)
    # Bounded: only the last words before "is" matter (a hostile line repeats the phrase).
    line_start = text.rfind("\n", max(0, is_at - _LABEL_REACH), is_at) + 1
    at_line_start = line_start > 0 or is_at <= _LABEL_REACH
    if not at_line_start:
        line_start = is_at - _LABEL_REACH
    lead = text[line_start:is_at].strip(" \t\"'`>*-")
    if not lead:
        return (
            Principal(None, None, is_at) if at_line_start else None
        )  # a fragment that starts at "is not authorized"
    words = lead.split()
    word = words[-1]
    if word.endswith(":") and len(word) > 1:
        # "AccessDenied:  is not authorized": the principal was deleted.
        return Principal(None, "", text.rfind(word, line_start, is_at))
    # The lead lost a placeholder's closing ">" to the strip above: read it as written.
    written = text[line_start:is_at].rsplit(maxsplit=1)[-1]
    if len(words) >= 2 and words[-2].endswith(":") and _elided(written):
        # "AccessDenied: ... is not authorized" or "AccessDeniedException: <Username> is
        # not authorized": the principal was elided or left as a placeholder.
        return Principal(None, written, text.rfind(words[-2], line_start, is_at))
    if len(words) == 1 and at_line_start and _elided(written.lstrip("\"'`")):
        # '"<role> is not authorized' (a pasted errorMessage): "User: " dropped, the
        # principal left as a placeholder.
        return Principal(None, written.lstrip("\"'`"), text.rfind(written, line_start, is_at))
    if len(words) == 1 and at_line_start and _BARE_NAME.match(word):
        # "PostConfirmation is not authorized ...": a paste cut before "User:".
        return Principal(None, word, text.rfind(word, line_start, is_at))
    return None


def _elided(word: str) -> bool:
    """``word`` stands for a principal someone left out: an ellipsis or a ``<Name>``."""
    if word in _ELISIONS:
        return True
    inner = word[1:-1]
    return word[:1] == "<" and word[-1:] == ">" and 0 < len(inner) <= 64 and "<" not in inner


def _left_out(text: str, middle: int) -> Principal | None:
    """``AccessDeniedException: not authorized to perform: ...``: a sentence with no principal.

    Some services (Bedrock, and SDK frames that drop the ``User: ... is`` part)
    start the sentence right after a label's colon, or at a line's start.
    """
    j = middle
    while j > 0 and text[j - 1] in " \t":
        j -= 1
    if j == 0 or text[j - 1] == "\n" or (j < middle and text[j - 1] == ":"):
        return Principal(None, None, middle)
    if j < middle and text[max(0, j - 3) : j] in ("...", "…"):
        return Principal(None, None, middle)  # "Could not assume role... not authorized ..."
    return None


def _glued(text: str, is_at: int, label_at: int, label: str | None) -> Principal | None:
    """``User: arn:...:assumed-role/r/sessionis not authorized`` (a lost blank)."""
    if label is None:
        return None
    written = text[label_at + len(label) : is_at].strip().strip("\"'`")
    if written.startswith("arn:") and " " not in written:
        if is_clean_arn(written):
            return Principal(written, None, label_at)
        return Principal(None, written, label_at)
    return None


def _full_stop(text: str) -> bool:
    """``text`` holds a sentence's full stop (". "), not just an elision ("... ")."""
    i = text.find(". ")
    while i != -1:
        if i == 0 or text[i - 1] != ".":
            return True
        i = text.find(". ", i + 2)
    return False


def _label_before(text: str, is_at: int) -> tuple[int, str | None]:
    """The nearest ``User:`` label before ``is_at`` on the same line, if any."""
    lo = max(0, is_at - _LABEL_REACH)
    window = text[lo:is_at]
    best, which = -1, None
    for label in _LABELS:
        at = window.rfind(label)
        # The colon-less label starts a word: "myUser is not" holds no "User " label
        # (with a colon it may be glued to a code: XML's "AccessDeniedUser: arn:...").
        while label == "User " and at > 0 and window[at - 1].isalnum():
            at = window.rfind(label, 0, at)
        if at > best:
            best, which = at, label
    if which is None:
        return -1, None
    between = window[best + len(which) :]
    if "\n" in between or "not authorized" in between or _full_stop(between.rstrip()):
        return -1, None
    return lo + best, which


def principal_note(written: str) -> str:
    if not written:
        return "the message names no principal; principal_arn left null"
    return "the principal is not a clean ARN (redacted or a bare name); principal_arn left null"
