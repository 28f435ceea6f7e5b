"""The cheap path: one anchored expression for the shape most denial lines take.

On a failure-dense log nearly every hit is a whole ``User: <ARN> is not
authorized to perform: <action> [on resource: <ARN>] <reason>`` sentence on a
line of its own, bare, behind the CLI's ``An error occurred (X) when calling
the Y operation:`` frame, or as a JSON log line's ``"err":"AccessDeniedException:
..."`` value.  For those the tolerant reader's back and forward context, its
phrase joins and its full text analysis all come to the same one failure; this
module reads it with one compiled expression instead.

It declines (returns None, and the tolerant reader runs unchanged) whenever
anything could make the tolerant reader read the line differently: another
shape, anything left over on the line, an unclean principal, a reason clause
that is not whole, a next line that could continue the text (lower-case or
indented or punctuation start, a status-code or ``Go to`` suffix line, a row
exactly as wide as this one: a terminal's hard wrap), invalid UTF-8, an
over-long or unterminated line.  ``tests/test_cheap_path.py`` checks that
every fixture, real-corpus text and generated line gives exactly the
tolerant reader's failures.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from diagnostics.extract.assembly.code_above import with_code_above, with_code_below
from diagnostics.extract.assembly.found import Found
from diagnostics.extract.assembly.joins import KEY_PHRASES, unescaped
from diagnostics.extract.assembly.normalize import normalize_line, strip_known_prefix
from diagnostics.extract.assembly.provenance import mark_embedded
from diagnostics.extract.assembly.templates import is_template
from diagnostics.extract.assembly.text import excerpt_of
from diagnostics.extract.parsers.plain import normalise_action
from diagnostics.extract.parsers.principals import is_clean_arn
from diagnostics.extract.parsers.resource_slot import resource_note
from diagnostics.model import Failure, SourceRef
from diagnostics.request.context import account_of, region_of

#: The reason clause's policy words and the ``policy_type`` each gives (plain.py's table).
POLICY_TYPES = {
    "identity-based": "identity",
    "resource-based": "resource",
    "session": "session",
    "permissions boundary": "permissions_boundary",
    "vpc endpoint": "vpc_endpoint",
    "service control": "scp",
    "resource control": "rcp",
    "role trust": "trust",
}
_TYPES = "identity-based|resource-based|session|permissions boundary|vpc endpoint|" + (
    "service control|resource control|role trust"
)
# Linear: matched at one position; literals between single bounded classes, and
# each ARN is one bounded class then one single character (no nested repetition).
_SENTENCE = re.compile(
    r"User: (?P<arn>arn:aws[a-z-]{0,12}:(?:iam|sts)::[0-9]{12}:"
    r"[A-Za-z0-9+=,.@_/-]{0,511}[A-Za-z0-9_])"
    r" is not authorized to perform: (?P<svc>[A-Za-z0-9-]{1,64}):(?P<name>[A-Za-z0-9]{1,128})"
    r'(?: on resource: (?P<q>"?)(?P<res>arn:aws[a-z-]{0,12}:[a-z0-9-]{1,64}:[a-z0-9-]{0,32}:'
    r"[0-9]{0,12}:[A-Za-z0-9+=,.@_/:-]{0,1023}[A-Za-z0-9_/])(?P=q))?"
    r"(?: because no (?P<t1>" + _TYPES + r")(?: policy)? allows the (?P<allowed>[A-Za-z0-9-]{1,64}:"
    r"[A-Za-z0-9]{1,128}) action"
    r"| with an explicit deny in an? (?P<t2>" + _TYPES + r")(?: policy)?"
    r"(?:: (?P<parn>arn:aws[a-z-]{0,12}:[A-Za-z0-9+=,.@_/:-]{0,1023}[A-Za-z0-9_]))?)"
    r'(?P<after>"\}|)'
)
# Linear: anchored; one bounded class per group between literals.
_CLI_FRAME = re.compile(
    r"An error occurred \((?P<code>[A-Za-z0-9_.]{1,100})\) when calling the "
    r"(?P<op>[A-Za-z0-9_]{1,100}) operation: "
)
# Linear: anchored; a bounded repetition of one key/value pair whose classes
# exclude the quote that ends each of them.
_JSON_HEAD = re.compile(
    r'\{(?:"(?P<key>[a-z_]{1,32})":(?:"[A-Za-z0-9 ._-]{0,64}"|[0-9.]{1,32}),){0,16}'
    r'"(?:err|error)":"(?P<exc>AccessDeniedException|AuthorizationError): '
)
# Linear: anchored; literal alternatives.
_EXCEPTION = re.compile(r"(?P<exc>AccessDeniedException|AuthorizationError): ")
_CLIENT_ERROR = "botocore.exceptions.ClientError: "
#: Frames only one service answers (frames.py names that service; left to the tolerant reader).
SERVICE_OPS = frozenset({"HeadObject", "HeadBucket", "GetSessionToken", "GetFederationToken"})
#: A JSON head's keys that other readers take as a code or status (left to the tolerant reader).
_CODE_KEYS = ("code", "status", "type", "message")


def cheap_line(
    path: str,
    raw: bytes,
    *,
    line_no: int,
    offset: int,
    next_line: Callable[[], bytes | None],
    lines_above: Callable[[], list[str]],
    lines_below: Callable[[], list[str]],
) -> list[Failure] | None:
    """The failure on this one line read by the cheap path, or None to decline.

    ``next_line`` gives the following line (None when nothing follows or it is
    over-long; it may raise ``NeedMore`` just as the tolerant reader would).
    """
    if b"User: " not in raw:
        return None
    line, bad = normalize_line(raw)
    if bad or line.endswith("\\"):
        return None
    text = unescaped(strip_known_prefix(line.rstrip(" \t")))
    at = text.find("User: ")
    m = _SENTENCE.match(text, at)
    if m is None or m.end() != len(text) or not is_clean_arn(m.group("arn")):
        return None
    head = text[:at]
    code = op = None
    start = at
    if m.group("after"):
        j = _JSON_HEAD.fullmatch(head)
        if j is None or any(k in head for k in _CODE_KEYS):
            return None
        code = j.group("exc")
        start = at - len(code) - 2
    elif head:
        e = _EXCEPTION.fullmatch(head)
        if e is not None:
            code, start = e.group("exc"), 0
        else:
            # botocore's traceback names the exception class before the CLI's frame.
            start = len(_CLIENT_ERROR) if head.startswith(_CLIENT_ERROR) else 0
            c = _CLI_FRAME.fullmatch(head, start)
            if c is None or c.group("op") in SERVICE_OPS:
                return None
            code, op = c.group("code"), c.group("op")
    if not _next_stays_apart(next_line, line, text):
        return None
    allowed = m.group("allowed")
    action = normalise_action(m.group("svc"), m.group("name"))
    if allowed is not None and allowed != f"{m.group('svc')}:{m.group('name')}":
        return None
    resource, resource_text, note = resource_note(m.group("res"))
    if resource_text is not None or note:
        return None
    end = m.end() - len(m.group("after"))
    arn = m.group("arn")
    explicit = m.group("t2") is not None
    found = Found(
        "plain",
        start,
        end,
        principal_arn=arn,
        account_id=account_of(arn),
        action=action,
        resource=resource,
        policy_type=POLICY_TYPES[m.group("t2") or m.group("t1")],
        policy_arn=m.group("parn"),
        explicit_deny=explicit,
        region=region_of(resource),
        operation=op,
        error_code=code,
    )
    if is_template(text, start, end, None):
        return None
    founds = with_code_below(with_code_above([found], line, lines_above), [line], lines_below)
    out: list[Failure] = []
    for f in founds:
        failure = f.to_failure(SourceRef(path, line_no, offset), excerpt_of(text, f.start, f.end))
        out.append(mark_embedded(failure, line, text[f.start : f.end]))
    return out


def _next_stays_apart(next_line: Callable[[], bytes | None], line: str, text: str) -> bool:
    """The following line can never be joined to this one by the tolerant reader.

    After a whole sentence the tolerant reader joins only a status-code line,
    an authorization-ID suffix, the rest of a key phrase the text ends with, or
    a row exactly as wide (a terminal's hard wrap); each is declined here.
    """
    raw = next_line()
    if raw is None:
        return True
    ntext, _bad = normalize_line(raw)
    if len(line) >= 60 and len(ntext) == len(line):
        return False
    body = strip_known_prefix(ntext).strip(" \t")
    if not body:
        return True
    if body.startswith(("Go", "or call")) or body[:12].lower() == "status code:":
        return False
    for cut, rest in _phrase_rests(text[-1:]):
        if text.endswith(cut) and (body.startswith(rest) or (" " + body).startswith(rest)):
            return False
    return True


@functools.cache
def _phrase_rests(last: str) -> tuple[tuple[str, str], ...]:
    """Each key phrase cut in two (start, rest) where the start ends in ``last``."""
    return tuple(
        (phrase[:k], phrase[k:])
        for phrase in KEY_PHRASES
        for k in range(1, len(phrase))
        if phrase[k - 1] == last
    )
