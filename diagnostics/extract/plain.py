"""Parse plain authorization-failure sentences.

``User: <principal> is not authorized to perform: <svc:Action> [on resource:
<resource>] [because no <type> policy allows the <svc:Action> action | with an
explicit deny in a <type> policy[: <policy-arn>]]`` in every wording AWS uses
(see DESIGN.md), plus the older forms without a reason or a resource.

The sentence is located with ``str.find`` on its fixed middle ("not authorized
to perform"); the principal is the token before it, found by scanning back to
a blank; everything after is matched with anchored regexes.  No regex scans
unbounded input or nests quantifiers.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from diagnostics.context import account_of, region_of

_MIDDLE = "not authorized to perform"
#: Route 53 and a few others name no action: "... is not authorized to access this resource".
_ACCESS_MIDDLE = "not authorized to access this resource"
_STS_MIDDLE = "Not authorized to perform"
_MAX_TOKEN = 2048
_MAX_RESOURCE = 2048

# Linear: every quantifier is bounded (blanks to 16), so even an unanchored
# search does constant work per start position; the classes around the literal
# colon are disjoint from it.
_ACTION = re.compile(
    r":?[ \t]{0,16}[*`_(]{0,2}(?P<svc>[A-Za-z0-9][A-Za-z0-9-]{0,63})"
    r":(?P<name>[A-Za-z0-9*][A-Za-z0-9_*-]{0,127})"
)
# Linear: bounded blanks, then literals.
_ON_THIS = re.compile(r"[ \t]{1,16}on this resource\b")
_ON_RESOURCE = re.compile(r"[ \t]{1,16}on resources?:?[ \t]{0,16}")
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
    r"[ \t,]{0,16}(?:with|due to) an explicit deny(?![ \t]{1,16}in\b)(?=$|[\s.,;:)\"'`(\\])",
    re.IGNORECASE,
)
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

#: Where an unquoted resource ends.
_RESOURCE_ENDS = (
    " because ",
    " with an explicit deny",
    " due to an explicit deny",
    ". ",
    "\n",
    "\t",
    '"',
    " (Service",
    " (",
    ", status code",
    " status code",
)
_TRAILING_PUNCT = ".,;)'\""
#: What Markdown and prose leave after an unquoted resource ARN (``ZONEID```, ``name]``, ``:``).
_RESOURCE_TRAILING = _TRAILING_PUNCT + "`]:"
_SERVICE_PRINCIPAL = re.compile(
    r"^[a-z0-9][a-z0-9.-]{0,100}\.amazonaws\.com(?:\.cn)?$"
)  # linear: anchored classes


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
    #: Slots left empty and why, one short sentence each.
    notes: tuple[str, ...] = ()


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


#: A clean principal ARN: partition, service, an empty region, a 12-digit account.
# Linear: anchored; disjoint bounded classes separated by literal colons.
_CLEAN_ARN = re.compile(
    r"^arn:aws[a-z-]{0,16}:[a-z0-9-]{1,64}:[a-z0-9-]{0,32}:\d{12}:[^\s<>\[\]{}*]{1,2000}$"
)
# Linear: anchored; one bounded class.
_BARE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+=,-]{0,127}$")
#: Labels AWS puts before the principal, longest first.
_LABELS = ("Principal:", "User:", "user:", "User ")
#: How far before ``is not authorized`` a label may be for a non-ARN principal.
_LABEL_REACH = 300


def is_clean_arn(arn: str) -> bool:
    """A whole principal ARN: 12-digit account, a named user/role, a session for assumed-role."""
    if not _CLEAN_ARN.match(arn):
        return False
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


def _principal_before(text: str, middle: int) -> Principal | None:
    """The principal before ``is not authorized``, and where the sentence starts.

    A clean ARN (or a service principal, or ``anonymous``) is the principal.
    Anything else written after a ``User:`` label (redacted, empty, a
    placeholder, a bare name, an ARN with a space in it) is kept as text; so
    is an empty slot after any ``Word:`` label (``AccessDenied:  is not ...``,
    ``Reason: is not ...``) or at a line's start (a pasted fragment).
    """
    is_at = middle - 3
    if is_at < 0 or text[is_at:middle] != "is ":
        return None
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
    start = end
    floor = max(0, end - _MAX_TOKEN)
    while start > floor and not text[start - 1].isspace() and text[start - 1] not in "\"'(`[":
        start -= 1
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
    if len(words) == 1 and at_line_start and _BARE_NAME.match(word):
        # "PostConfirmation is not authorized ...": a paste cut before "User:".
        return Principal(None, word, text.rfind(word, line_start, is_at))
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
        if at > best:
            best, which = at, label
    if which is None:
        return -1, None
    between = window[best + len(which) :]
    if "\n" in between or "not authorized" in between or _full_stop(between.rstrip()):
        return -1, None
    return lo + best, which


def _resource_after(text: str, pos: int) -> tuple[str | None, int]:
    """Parse ``on resource: X`` at ``pos``; returns (resource, new position)."""
    m = _ON_THIS.match(text, pos)
    if m:
        return None, m.end()
    m = _ON_RESOURCE.match(text, pos)
    if not m:
        return None, pos
    pos = m.end()
    quote = text[pos : pos + 1]
    if quote == '"' or (quote in ("`", "'") and text.startswith("arn:", pos + 1)):
        # S3 quotes its resource; Markdown users backtick theirs.
        close = text.find(quote, pos + 1, pos + 1 + _MAX_RESOURCE)
        if close == -1:
            return None, pos
        return text[pos + 1 : close] or None, close + 1
    window = text[pos : pos + _MAX_RESOURCE]
    end = len(window)
    quoted = _QUOTED_ACCOUNT.match(window)
    if quoted:
        # 'arn:aws:iam::"another account number":role/x': a placeholder someone quoted.
        return quoted.group(0), pos + quoted.end()
    if window.startswith("arn:"):
        # An ARN never holds a space; only IAM's plain descriptions ("policy
        # path /") do, and those end at the reason clause below.
        space = _space_outside_placeholders(window)
        if space != -1:
            end = space
    for stop in _RESOURCE_ENDS:
        i = window.find(stop)
        while stop == ". " and 0 < i < end and window[i - 1] == ".":
            i = window.find(stop, i + 1)  # an elision ("+358.... because"), not a full stop
        if i != -1 and i < end:
            end = i
    value = window[:end].rstrip()
    while value and value[-1] in _RESOURCE_TRAILING and not value.endswith(":..."):
        value = value[:-1]  # (an elided ARN tail, "us-east-1:...", is kept as written)
    return (value or None), pos + len(window[:end].rstrip())


def _space_outside_placeholders(window: str) -> int:
    """The first blank of ``window`` not inside a ``<account id>`` placeholder, or -1."""
    pos = 0
    for _ in range(8):
        space = window.find(" ", pos)
        if space == -1:
            return -1
        if window.startswith((" ... :", " …:", " ... /"), space):
            pos = space + 5  # "arn:aws:sts:: ... :assumed-role/...": a redaction with blanks
            continue
        opened = window.rfind("<", pos, space)
        if opened == -1 or window.find(">", opened, space) != -1:
            return space
        close = window.find(">", space, space + 64)
        if close == -1:
            return space
        pos = close
    return -1


# Linear: anchored; bounded classes separated by literals.
_QUOTED_ACCOUNT = re.compile(r'arn:[a-z0-9:-]{1,64}::"[^"\n]{1,64}":[^\s"<]{1,1024}')
#: IAM's descriptions of what it refused on when it gives no ARN ("policy path /", "user bob").
_IAM_DESCRIPTIONS = ("policy path ", "user ", "role ", "group ", "policy ", "instance-profile ")


def _resource_note(resource: str | None) -> tuple[str | None, str | None]:
    """(resource, note): a value that is neither an ARN, ``*`` nor an IAM description is dropped."""
    if resource is None or resource == "*" or resource.startswith("arn:"):
        return resource, None
    _kind, _, rest = resource.partition(" ")
    if rest.startswith("arn:") and " " not in rest:
        return rest, None  # IAM's "policy arn:aws:iam::...:policy/x": the ARN is the resource
    if resource.startswith(_IAM_DESCRIPTIONS):
        return resource, None
    if resource.startswith("aws:") and resource.count(":") >= 4:
        return resource, None  # an ARN that lost its "arn:" (kept as written)
    return None, "the resource is not an ARN (a name, number or placeholder); resource left null"


def find_plain(text: str) -> list[PlainHit]:
    """Every plain authorization-failure sentence in ``text``, in order."""
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
            policy_arn = p.group("arn").rstrip(_TRAILING_PUNCT)
            pos = p.start("arn") + len(policy_arn)
        return policy_type, policy_arn, explicit, pos, complete
    bare = _BARE_DENY.match(text, pos)
    if bare:
        # "... with an explicit deny" and nothing after: a Deny matched, in no named policy.
        return None, None, True, bare.end(), True
    return policy_type, policy_arn, explicit, pos, complete


def _hit(
    text: str,
    start: int,
    principal: Principal | None,
    action: str | None,
    *,
    pos: int,
    notes: tuple[str, ...] = (),
) -> PlainHit:
    """The rest of the sentence after its action: resource, reason, policy."""
    resource, pos = _resource_after(text, pos)
    resource, note = _resource_note(resource)
    if note:
        notes = (*notes, note)
    policy_type, policy_arn, explicit, pos, complete = _tail(text, pos)
    principal_arn = principal.arn if principal else None
    principal_text = principal.text if principal else None
    if principal is not None and principal.arn is None:
        notes = (*notes, _principal_note(principal_text or ""))
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
        notes=notes,
    )


def _principal_note(written: str) -> str:
    if not written:
        return "the message names no principal (empty after 'User:'); principal_arn left null"
    return "the principal is not a clean ARN (redacted or a bare name); principal_arn left null"


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
    principal = _principal_before(text, middle)
    if principal is None:
        return None
    got = _action_at(text, middle + len(_MIDDLE)) or _bare_operation(text, middle + len(_MIDDLE))
    if got is None:
        return None
    action, pos, notes = got
    return _hit(text, principal.start, principal, action, pos=pos, notes=notes)


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
    principal = _principal_before(text, middle)
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
    if middle > 0 and not (text[middle - 1].isspace() or text[middle - 1] in ":(\"'"):
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
