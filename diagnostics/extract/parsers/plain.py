"""Parse plain authorization-failure sentences.

``User: <principal> is not authorized to perform: <svc:Action> [on resource:
<resource>] [because no <type> policy allows the <svc:Action> action | with an
explicit deny in a <type> policy[: <policy-arn>]]`` in every wording AWS uses
(see DESIGN.md), plus the older forms without a reason or a resource.

The sentence is located with ``str.find`` on its fixed middle ("not authorized
to perform"); the principal slot before it is read in ``principals.py``, the
resource slot in ``resource_slot.py``; everything else is matched with
anchored regexes.  No regex scans
unbounded input or nests quantifiers.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from diagnostics.extract.parsers.principals import Principal, principal_before, principal_note
from diagnostics.extract.parsers.resource_slot import TRAILING_PUNCT, resource_after, resource_note
from diagnostics.request.context import account_of, region_of

_MIDDLE = "not authorized to perform"
#: Route 53 and a few others name no action: "... is not authorized to access this resource".
_ACCESS_MIDDLE = "not authorized to access this resource"
_STS_MIDDLE = "Not authorized to perform"

# Linear: every quantifier is bounded (blanks to 16), so even an unanchored
# search does constant work per start position; the classes around the literal
# colon are disjoint from it.
_ACTION = re.compile(
    r":?[ \t]{0,16}[*`_(]{0,2}(?P<svc>[A-Za-z0-9][A-Za-z0-9-]{0,63})"
    r":(?P<name>[A-Za-z0-9*][A-Za-z0-9_*-]{0,127})"
)
# Linear: bounded blanks around literal alternations (no quantified groups).
_REASON = re.compile(
    r"[ \t,]{0,16}(?P<how>because no|because the|with an explicit deny in(?: an?| the)?|"
    r"due to an explicit deny in(?: an?| the)?)[ \t]{1,16}"
    r"(?P<type>identity-based|resource-based|sessions?|permissions boundary|vpc endpoint|"
    r"service control|resource control|role trust)(?:[ \t]{1,16}polic(?:y|ies))?",
    re.IGNORECASE,
)
# Linear: bounded blanks, literal words, then a single-character lookahead.
_BARE_DENY = re.compile(
    r"[ \t,]{0,16}(?:with|due to) an explicit deny(?![ \t]{1,16}in\b)(?=$|[\s.,;:)\"'`(\\”’」])",
    re.IGNORECASE,
)
# Linear: bounded blanks, a literal alternation, one bounded class; matched at one place.
_CUT_REASON = re.compile(
    r"[ \t,]{0,16}(?P<how>because no|with an explicit deny in(?: an?| the)?)"
    r"(?:[ \t]{1,16}(?P<part>[A-Za-z][A-Za-z -]{0,23}))?",
    re.IGNORECASE,
)
#: What may follow a reason the paste cut: nothing, or the string's closing quote.
_CUT_END = "\"'` \t\r\n\\"
# Linear: bounded blanks, literal words, one bounded action class.
_ALLOWS = re.compile(r"[ \t]{1,16}allows the [A-Za-z0-9:*_-]{1,200} action", re.IGNORECASE)
# Linear: bounded blanks then a literal.
_TRANSITIVE = re.compile(
    r"[ \t]{1,16}transitively through an? service control polic(?:y|ies)", re.IGNORECASE
)
# Linear: bounded blanks, then one bounded run of non-blank, non-quote characters.
_POLICY_ARN = re.compile(r":[ \t]{0,16}(?P<arn>arn:[^\s\"'<>]{1,1024})")

_POLICY_TYPES = {
    "identity-based": "identity",
    "resource-based": "resource",
    "session": "session",
    "sessions": "session",
    "permissions boundary": "permissions_boundary",
    "vpc endpoint": "vpc_endpoint",
    "service control": "scp",
    "resource control": "rcp",
    "role trust": "trust",
}


@dataclass(frozen=True, slots=True)
class PlainHit:
    """One plain sentence found in a text; ``start``/``end`` delimit it."""

    start: int
    end: int
    principal_arn: str | None
    action: str | None
    resource: str | None
    policy_type: str | None
    policy_arn: str | None
    explicit_deny: bool | None
    account_id: str | None
    region: str | None
    #: The reason clause was read to its end ("... allows the X action").
    complete: bool = True
    #: The principal as written when it is not a clean ARN (``[REDACTED]``, ``""``).
    principal_text: str | None = None
    #: The resource as written when it is not a clean ARN (``role x``, ``<account>``).
    resource_text: str | None = None
    #: Slots left empty and why, one short sentence each.
    notes: tuple[str, ...] = ()
    #: The sentence is visibly cut (nothing after "on resource").
    cut: bool = False


@functools.lru_cache(maxsize=4096)
def normalise_action(svc: str, name: str) -> str:
    """``SNS:Publish`` -> ``sns:Publish``, ``dynamodb:query`` -> ``dynamodb:Query``.

    IAM service prefixes are lower case; a name the IAM dataset knows takes its
    canonical spelling (SQS sometimes writes ``sqs:sendmessage``), so one
    action never yields two statements.  Unknown names are kept as written.
    Cached per distinct spelling: a log repeats the same few actions.
    """
    from diagnostics.iam import get_action

    action = f"{svc.lower()}:{name}"
    info = get_action(action)
    return info.name if info is not None else action


#: Texts up to this long have their hits remembered (a few recent ones only).
_MEMO_TEXT = 8192
_MEMO_ENTRIES = 32
_memo: dict[str, tuple[PlainHit, ...]] = {}


def find_plain(text: str) -> list[PlainHit]:
    """Every plain authorization-failure sentence in ``text``, in order.

    The record assembler asks about the same line up to three times (does it
    start its own sentence, is a sentence left open, what does it hold), so
    the hits of the last few short texts are remembered.  Bounded in entries
    and text length, so memory stays flat; hits are frozen, so sharing is safe.
    """
    if len(text) > _MEMO_TEXT:
        return _find_plain(text)
    found = _memo.get(text)
    if found is None:
        if len(_memo) >= _MEMO_ENTRIES:
            _memo.clear()
        found = _memo[text] = tuple(_find_plain(text))
    return list(found)


def _find_plain(text: str) -> list[PlainHit]:
    hits: list[PlainHit] = []
    for middle_text, parse in (
        (_MIDDLE, _parse_at),
        (_STS_MIDDLE, _parse_sts),
        (_ACCESS_MIDDLE, _parse_access),
    ):
        i = text.find(middle_text)
        while i != -1:
            hit = parse(text, i)
            if hit is not None:
                hits.append(hit)
                i = text.find(middle_text, max(hit.end, i + 1))
            else:
                i = text.find(middle_text, i + 1)
    hits.sort(key=lambda h: h.start)
    return hits


def _tail(text: str, pos: int) -> tuple[str | None, str | None, bool | None, int, bool]:
    """Parse the optional reason clause and policy ARN at ``pos``."""
    policy_type: str | None = None
    explicit: bool | None = None
    policy_arn: str | None = None
    complete = False
    r = _REASON.match(text, pos)
    if r:
        complete = True
        how = r.group("how").lower()
        policy_type = _POLICY_TYPES[r.group("type").lower()]
        explicit = "explicit deny" in how
        pos = r.end()
        if how.startswith("because"):
            a = _ALLOWS.match(text, pos)
            if a:
                pos = a.end()
            else:
                complete = False
        t = _TRANSITIVE.match(text, pos)
        if t:
            policy_type = "scp"
            pos = t.end()
        p = _POLICY_ARN.match(text, pos)
        if p:
            policy_arn = p.group("arn").rstrip(TRAILING_PUNCT)
            pos = p.start("arn") + len(policy_arn)
        return policy_type, policy_arn, explicit, pos, complete
    bare = _BARE_DENY.match(text, pos)
    if bare:
        # "... with an explicit deny" and nothing after: a Deny matched, in no named policy.
        return None, None, True, bare.end(), True
    cut = _cut_reason(text, pos)
    if cut is not None:
        return cut
    return policy_type, policy_arn, explicit, pos, complete


def _cut_reason(
    text: str, pos: int
) -> tuple[str | None, str | None, bool | None, int, bool] | None:
    """A reason the paste cut mid-way ("because no identity-b" and the text ends).

    IAM's reason reads "because no TYPE policy allows ..." or "with an explicit deny
    in a TYPE policy": its first words already say implicit or explicit, and a cut
    word that starts only one TYPE names it.  Nothing is guessed past that.
    """
    m = _CUT_REASON.match(text, pos)
    if m is None or text[m.end() :].strip(_CUT_END):
        return None
    explicit = "explicit" in m["how"].lower()
    part = (m["part"] or "").lower().rstrip(" -")
    types = {v for k, v in _POLICY_TYPES.items() if part and k.startswith(part)}
    policy_type = types.pop() if len(types) == 1 else None
    return policy_type, None, explicit, m.end(), False


def _hit(
    text: str,
    start: int,
    principal: Principal | None,
    action: str | None,
    *,
    pos: int,
    notes: tuple[str, ...] = (),
    cut: bool = False,
) -> PlainHit:
    """The rest of the sentence after its action: resource, reason, policy."""
    action_end = pos
    resource, pos = resource_after(text, pos)
    # "... on resource" and the text ends: the paste was cut before the resource.
    cut_at_resource = (
        resource is None and pos > action_end and not text[pos:].lstrip(" \t:")[:1].strip()
    )
    cut = cut or cut_at_resource
    if cut_at_resource:
        notes = (*notes, "the message is cut after 'on resource'; resource left null")
    resource, resource_text, note = resource_note(resource)
    if note:
        notes = (*notes, note)
    policy_type, policy_arn, explicit, pos, complete = _tail(text, pos)
    if not complete and explicit is not None and not text[pos:].strip(_CUT_END):
        # The reason began and the text stops inside it: the paste was cut.
        cut = True
        notes = (*notes, "the message is cut inside its reason")
    principal_arn = principal.arn if principal else None
    principal_text = principal.text if principal else None
    if principal is not None and principal.arn is None:
        notes = (*notes, principal_note(principal_text or ""))
    return PlainHit(
        start=start,
        end=pos,
        principal_arn=principal_arn,
        action=action,
        resource=resource,
        policy_type=policy_type,
        policy_arn=policy_arn,
        explicit_deny=explicit,
        account_id=account_of(principal_arn or principal_text),
        region=region_of(resource),
        complete=complete,
        principal_text=principal_text,
        resource_text=resource_text,
        notes=notes,
        cut=cut,
    )


# Linear: bounded blanks, then a literal word.
_NULL_ACTION = re.compile(r":?[ \t]{0,16}(?:null|None|undefined)\b")


def _action_at(text: str, pos: int) -> tuple[str | None, int, tuple[str, ...]] | None:
    """The action after ``perform``: (action, end, notes), or None for no sentence."""
    m = _ACTION.match(text, pos)
    if m and not _bad_action_end(text, m.end()):
        name, end = m.group("name"), m.end()
        if name.endswith("**"):  # Markdown bold closing around the action
            name = name.rstrip("*")
            end = m.start("name") + len(name)
        while text.startswith(("`", "*", ")"), end) and end - m.end() < 3:
            end += 1  # the closing backtick or bold of `s3:PutObject`
        return normalise_action(m.group("svc"), name), end, ()
    n = _NULL_ACTION.match(text, pos)
    if n:
        return None, n.end(), ("the message names no action ('perform: null'); action left null",)
    return None


def _parse_at(text: str, middle: int) -> PlainHit | None:
    principal = principal_before(text, middle)
    if principal is None:
        return None
    after = middle + len(_MIDDLE)
    got = _action_at(text, after) or _bare_operation(text, after)
    cut = False
    if got is None:
        got = _cut_action(text, after)
        cut = got is not None
    if got is None:
        return None
    action, pos, notes = got
    return _hit(text, principal.start, principal, action, pos=pos, notes=notes, cut=cut)


#: What a paste or a log shipper writes where it cut a message.
_CUT_MARKS = ("(truncated", "[truncated", "...", "…")


def _cut_action(text: str, pos: int) -> tuple[str | None, int, tuple[str, ...]] | None:
    """``perform: sts (truncated...)``: the message cut inside its action (kept, action null)."""
    rest = text[pos : pos + 100]
    body = rest.lstrip(" \t:")
    if not rest.startswith((": ", ":")):
        return None
    n = 0
    while n < len(body) and n <= 64 and (body[n].isalnum() or body[n] == "-"):
        n += 1
    if n == 0 or n > 64:
        return None
    tail = body[n:].lstrip(" \t")
    if not (tail.startswith(_CUT_MARKS) or (not tail and pos + len(rest) == len(text))):
        return None
    note = "the message is cut inside its action; action left null"
    return None, pos + len(rest) - len(body) + n, (note,)


# Linear: bounded blanks, one bounded class, a literal.
_BARE_OP = re.compile(r":?[ \t]{0,16}(?P<name>[A-Z][A-Za-z0-9]{2,127}) on resource: ?arn:")


def _bare_operation(text: str, pos: int) -> tuple[str | None, int, tuple[str, ...]] | None:
    """``perform: GetHostedZone on resource: arn:aws:route53:::...`` (Route 53 drops the prefix)."""
    m = _BARE_OP.match(text, pos)
    if m is None:
        return None
    arn_at = m.end() - len("arn:")
    parts = text[arn_at : arn_at + 200].split(":", 3)
    if len(parts) < 3 or not parts[2]:
        return None
    action = normalise_action(parts[2], m.group("name"))
    note = "the message names the action without its service; the service is the resource's"
    return action, m.end("name"), (note,)


def _parse_access(text: str, middle: int) -> PlainHit | None:
    """``User: X is not authorized to access this resource`` (no action named)."""
    principal = principal_before(text, middle)
    if principal is None:
        return None
    note = "the message names no action ('not authorized to access this resource')"
    return _hit(
        text, principal.start, principal, None, pos=middle + len(_ACCESS_MIDDLE), notes=(note,)
    )


def _parse_sts(text: str, middle: int) -> PlainHit | None:
    """STS's ``Not authorized to perform sts:AssumeRoleWithWebIdentity`` (no principal).

    Only the capitalised sentence start counts: prose says "is not authorized".
    """
    if middle > 0 and not (text[middle - 1].isspace() or text[middle - 1] in ":(\"'`"):
        return None
    got = _action_at(text, middle + len(_STS_MIDDLE))
    if got is None or got[0] is None:
        return None
    return _hit(text, middle, None, got[0], pos=got[1])


def _bad_action_end(text: str, end: int) -> bool:
    """An action must end at a word boundary (not cut by a line wrap into ``ec2:Ru``)."""
    if end >= len(text):
        return False
    return text[end] in ":/"
