"""IAM Access Troubleshooter authorization IDs in denial messages.

Since November 2026 denials of supported services end with

    Go to https://us-east-1.console.aws.amazon.com/iam/home?region=us-east-1#/authorization-details/ID
    for complete details, or call the GetRequestAuthorizationDetails API with the
    following authorization id: ID

on one line or wrapped.  The ID appears twice (console URL, API sentence);
either alone is enough.  IDs are ``[0-9a-z]{1,256}`` (botocore's iam-toolbox
model, shape ``AuthorizationId``).  An ID that runs into an ellipsis or the
end of a cut input (CloudTrail cuts ``errorMessage`` after 1,023 characters
and appends ``...``) is cut off: it is never sent to AWS, and the failure
says why in its ``parse_notes``.

Everything here is linear in the text: fixed literals found with ``str.find``
and regexes whose quantifiers are all bounded.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

#: Markers a line must hold for the ID parser to look at it (markers.py has "uthoriz").
URL_MARK = "authorization-details"
API_MARK = "authorization id:"
#: The API sentence's fixed middle: unambiguous AWS wording.
API_SENTENCE = "GetRequestAuthorizationDetails API"

MAX_ID = 256
#: The ID suffix starts this close after the sentence it belongs to.
MAX_GAP = 400
#: The URL and the API sentence of one suffix are this close.
_PAIR_SPAN = 400

# Linear: a literal, a bounded alternation of fixed separators ("/", JSON's "\/",
# URL-encoded "%2F"), one bounded class run.
_URL_ID = re.compile(
    r"authorization-details(?:\\{0,3}/|%2[Ff])(?P<id>[0-9a-z]{1,256})(?P<after>[0-9A-Za-z]?)"
)
# Linear: a literal, bounded blanks and quotes, one bounded class run.
_API_ID = re.compile(
    r"[Aa]uthorization [Ii][Dd]:[ \t\r\n\"'`]{0,16}(?P<id>[0-9a-z]{1,256})(?P<after>[0-9A-Za-z]?)"
)
#: Cheap pre-checks before the API regex ("authorization id", "Authorization ID").
_API_MARKS = ("uthorization i", "uthorization I")
_ELLIPSES = ("...", "…", "[...]", "[truncated]", "(truncated)")

#: What ``parse_notes`` says about a cut ID; the resolver and the no-decode path
#: recognise it by this prefix.
CUT_NOTE = (
    "authorization ID cut off (CloudTrail keeps 1,023 characters of errorMessage, "
    "or the input ended inside it), so it is not sent to AWS"
)

#: How an authorization-ID suffix may go on: see ``suffix_mode``.
SuffixMode = Literal["suffix", "suffix-open"]


def cut_error_text() -> str:
    """The ``authorization_error`` of a failure whose ID was cut off."""
    return (
        "the authorization ID was cut off (CloudTrail keeps only the first 1,023 characters "
        "of errorMessage), so GetRequestAuthorizationDetails was not called; find the "
        "complete message in the client's own output, or open the denial in the IAM "
        "console's Access Troubleshooter within 24 hours"
    )


@dataclass(frozen=True, slots=True)
class IdHit:
    """One authorization-ID suffix (URL and/or API sentence) in a text."""

    start: int
    end: int
    #: The complete ID, or None when every copy was cut off.
    authorization_id: str | None
    cut: bool
    #: The API sentence was present (enough to stand for a failure on its own).
    api_sentence: bool


@dataclass(frozen=True, slots=True)
class _One:
    start: int
    end: int
    value: str
    cut: bool
    api: bool
    #: The whole "call the GetRequestAuthorizationDetails API ..." precedes it (a
    #: wrapped message read from its middle has only the tail).
    whole_sentence: bool = False


def _is_cut(text: str, end: int, after: str, cut_at_end: bool) -> bool:
    if after:
        return True  # an upper-case letter glued on: not an ID we can trust whole
    if text.startswith(_ELLIPSES, end):
        return True
    return cut_at_end and not text[end:].strip(" \t\r\n\"'`")


def _whole_sentence(text: str, lead: str, at: int) -> bool:
    """The API sentence is whole here: not the tail of a suffix whose URL was on
    an earlier line ("for complete details, or call the ..." with no URL before)."""
    lead = " ".join(lead.split())
    if "call the " + API_SENTENCE not in lead:
        return False
    return "for complete details" not in lead or URL_MARK in text[:at]


def _singles(text: str, cut_at_end: bool) -> list[_One]:
    out: list[_One] = []
    if URL_MARK in text:
        for m in _URL_ID.finditer(text):
            out.append(
                _One(
                    m.start(),
                    m.end("id"),
                    m.group("id"),
                    _is_cut(text, m.end("id"), m.group("after"), cut_at_end),
                    False,
                )
            )
    if _API_MARKS[0] in text or _API_MARKS[1] in text:
        for m in _API_ID.finditer(text):
            lead = text[max(0, m.start() - 120) : m.start()]
            out.append(
                _One(
                    m.start(),
                    m.end("id"),
                    m.group("id"),
                    _is_cut(text, m.end("id"), m.group("after"), cut_at_end),
                    True,
                    _whole_sentence(text, lead, m.start()),
                )
            )
    if cut_at_end:
        # Cut right after the label, before any character of the ID.
        tail = text[-40:]
        if tail.rstrip(" \t\r\n\"'`.…").endswith(API_MARK):
            out.append(
                _One(len(text) - len(tail) + tail.rfind(API_MARK), len(text), "", True, True)
            )
    out.sort(key=lambda o: o.start)
    return out


def find_authorization_ids(text: str, *, cut_at_end: bool = False) -> list[IdHit]:
    """Every authorization-ID suffix in ``text``, in order.

    The console URL and the API sentence that follow one denial are one hit;
    a complete copy wins over a cut one.
    """
    if URL_MARK not in text and _API_MARKS[0] not in text and _API_MARKS[1] not in text:
        return []
    singles = _singles(text, cut_at_end)
    hits: list[IdHit] = []
    group: list[_One] = []
    for one in singles:
        if group and (one.start - group[0].start > _PAIR_SPAN or _starts_new(group, one)):
            hits.append(_merge(group))
            group = []
        group.append(one)
    if group:
        hits.append(_merge(group))
    return hits


def _starts_new(group: list[_One], one: _One) -> bool:
    """A second URL, or a second API sentence, starts the next denial's suffix."""
    return any(o.api == one.api for o in group)


def _merge(group: list[_One]) -> IdHit:
    whole = [o.value for o in group if not o.cut and o.value]
    return IdHit(
        start=group[0].start,
        end=max(o.end for o in group),
        authorization_id=whole[0] if whole else None,
        cut=not whole,
        api_sentence=any(o.whole_sentence for o in group),
    )


_SUFFIX_STARTS = ("Go to ", "go to ", "or call the ", "call the ")


def suffix_start(text: str, hit: IdHit) -> int:
    """Where the suffix's sentence starts ("Go to https://...", "or call the ...")."""
    lo = max(0, hit.start - 200)
    window = text[lo : hit.start]
    for lead in _SUFFIX_STARTS:
        i = window.rfind(lead)
        if i != -1:
            return lo + i
    return hit.start


class _FoundLike(Protocol):
    """What ``attach_ids`` reads of a found failure (``text.Found``, frozen)."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def encoded_message(self) -> str | None: ...
    @property
    def authorization_id(self) -> str | None: ...
    @property
    def parse_notes(self) -> tuple[str, ...]: ...


F = TypeVar("F", bound=_FoundLike)


def attach_ids(
    text: str,
    found: list[F],
    *,
    cut_at_end: bool,
    standalone: Callable[[int, int], F] | None = None,
) -> list[F]:
    """Give each suffix's ID to the failure it follows (``found`` is in text order).

    A suffix belongs to the nearest failure that starts before it and ends at
    most ``MAX_GAP`` characters before it.  A suffix with the API sentence
    and no such failure becomes one of its own (``standalone``): the wording
    is AWS's and says a request was denied.
    """
    hits = find_authorization_ids(text, cut_at_end=cut_at_end)
    if not hits:
        return found
    out = list(found)
    for hit in hits:
        owner = None
        for i, f in enumerate(out):
            if f.start > hit.start:
                break
            if hit.start - f.end <= MAX_GAP and f.authorization_id is None and not _noted(f):
                owner = i
        if owner is None:
            start = suffix_start(text, hit)
            if standalone is None or not _stands_alone(text, hit, start):
                continue
            out.append(standalone(start, hit.end))
            out.sort(key=lambda f: f.start)
            owner = next(i for i, f in enumerate(out) if f.start == start)
        out[owner] = _with_id(out[owner], hit)
    return out


def _stands_alone(text: str, hit: IdHit, start: int) -> bool:
    """A whole suffix with no denial before it in this record, not the tail of a
    wrapped message whose sentence the reader could not join (an ARN or a policy
    type before it says so)."""
    if not hit.api_sentence or not text.startswith(_SUFFIX_STARTS, start):
        return False
    before = text[:start]
    return "arn:" not in before and "polic" not in before.lower()


def _noted(f: _FoundLike) -> bool:
    return any(n.startswith(CUT_NOTE) for n in f.parse_notes)


def _with_id(f: F, hit: IdHit) -> F:
    changes: dict[str, Any] = {"end": max(f.end, hit.end)}
    if hit.authorization_id is not None:
        changes["authorization_id"] = hit.authorization_id
    else:
        changes["parse_notes"] = (*f.parse_notes, CUT_NOTE)
        if f.encoded_message is None:
            changes["truncated"] = True  # nothing intact left to send
    return dataclasses.replace(f, **changes)  # type: ignore[type-var,unused-ignore]


# -- joining wrapped suffixes (hooks for joins.py) ------------------------------

#: The fixed words of the suffix after the URL, whitespace-normalised.
_SUFFIX_WORDS = (
    "for complete details, or call the GetRequestAuthorizationDetails API with the "
    "following authorization id:"
)
# Linear: anchored literal, one bounded class run, a literal.
_ID_TAIL = re.compile(r" ?[0-9a-z]{0,256}")


def _suffix_from(text: str) -> str | None:
    """The whitespace-normalised suffix the text ends in, from "Go to" or "or call"."""
    tail = text[-1200:]
    at = tail.rfind("Go to https://")
    if at == -1 or URL_MARK not in tail[at:]:
        at = tail.rfind("or call the GetRequestAuthorizationDetails")
        if at == -1:
            return None
    return " ".join(tail[at:].split())


def _consistent(suffix: str, *, finished: bool) -> bool:
    """``suffix`` is a start of the AWS wording (``finished``: and holds the whole ID)."""
    if suffix.startswith("Go to "):
        parts = suffix.split(" ", 3)  # "Go", "to", URL, words
        if len(parts) < 3 or URL_MARK not in parts[2]:
            return False
        words = parts[3] if len(parts) == 4 else ""
    else:
        words = suffix[suffix.find("or call the") :]
        template = _SUFFIX_WORDS[_SUFFIX_WORDS.find("or call the") :]
        return _matches(words, template, finished=finished)
    return _matches(words, _SUFFIX_WORDS, finished=finished)


def _matches(words: str, template: str, *, finished: bool) -> bool:
    if not words:
        return not finished
    if not words.startswith(template):
        return not finished and template.startswith(words)
    rest = words[len(template) :]
    m = _ID_TAIL.fullmatch(rest)
    if m is None:
        return False
    return len(rest.strip()) > 0 if finished else True


def open_suffix(text: str) -> bool:
    """The text ends inside a suffix whose ``authorization id: ID`` has not arrived."""
    suffix = _suffix_from(text)
    return (
        suffix is not None
        and _consistent(suffix, finished=False)
        and not _consistent(suffix, finished=True)
    )


def suffix_mode(text: str, sentence_ended: bool) -> SuffixMode | None:
    """Whether the next line may carry (the rest of) an authorization-ID suffix.

    ``"suffix-open"``: the text ends inside a suffix (its ID has not arrived),
    so a terminal's fixed-width rows may continue it too.  ``"suffix"``: the
    text ends with a finished denial sentence (``sentence_ended``, which the
    caller knows how to tell), so only a line that starts a suffix joins it.
    """
    if URL_MARK in text[-1200:] or "GetRequestAuthorizationDetails" in text[-1200:]:
        return "suffix-open" if open_suffix(text) else None
    if _go_to_at_end(text):
        return "suffix-open"
    return "suffix" if sentence_ended else None


_GO_TO_ENDS = (". Go to", ".\nGo to", ". Go", ".\nGo")


def _go_to_at_end(text: str) -> bool:
    """A narrow terminal wrapped inside "Go to <URL>", before the URL."""
    return text.rstrip().endswith(_GO_TO_ENDS) and "uthoriz" in text[-2200:]


def continues_suffix(text: str, body: str) -> bool:
    """``body`` (the next line, prefix removed) goes on with the suffix ``text`` ends in."""
    if _suffix_from(text) is None:  # a fresh suffix right after the sentence
        if _go_to_at_end(text):
            if body == "to" and text.rstrip().endswith("Go"):
                return True
            rest = body if text.rstrip().endswith("to") else body.removeprefix("to ")
            return rest.startswith("https://") and URL_MARK in rest.split(" ", 1)[0]
        if body == "Go to":
            return True
        if body.startswith("Go to https://"):
            url = body.split(" ", 3)[2] if body.count(" ") >= 2 else body
            return URL_MARK in url
        return body.startswith("or call the GetRequestAuthorizationDetails")
    if not open_suffix(text):
        return False
    joined = _suffix_from(text + " " + body)
    return joined is not None and _consistent(joined, finished=False)
