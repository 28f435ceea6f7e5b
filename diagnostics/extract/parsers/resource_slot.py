"""The resource slot of a plain sentence: ``on resource: <resource>``.

An ARN ends at the first blank (except inside ``<account id>`` placeholders or
``" ... "`` redactions), a quoted resource at its quote; IAM's descriptions
(``policy path /``, ``user bob``) are kept as AWS wrote them, ``policy
arn:...`` becomes the bare ARN, and anything else that is no ARN (a phone
number, a name, ``<resource-arn>``) is dropped with a note.
"""

from __future__ import annotations

import itertools
import re

from diagnostics.iam.arn_templates import is_regional, names_follow

_MAX_RESOURCE = 2048
# Linear: bounded blanks, then literals.
# Athena says "on the resource." and KMS "on the resource associated with this
# ciphertext": no ARN either way (KMS's words are kept as the resource as written).
_ON_THIS = re.compile(r"[ \t]{1,16}on (?:this|the) resource\b(?![ \t]{0,4}:)")
# Linear: bounded blanks, then literals.
_ON_CIPHERTEXT = re.compile(r"[ \t]{1,16}on (?P<what>the resource associated with this ciphertext)")
_ON_RESOURCE = re.compile(r"[ \t]{1,16}on resources?:?[ \t]{0,16}")
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
    # A Python repr of the error body (boto2 prints {u'Message': u'... on resource: *',
    # u'__type': ...}): the string's closing quote.
    "', ",
)
TRAILING_PUNCT = ".,;)'\""
#: What Markdown and prose leave after an unquoted resource ARN (``ZONEID```, ``name]``, ``:``).
_RESOURCE_TRAILING = TRAILING_PUNCT + "`]:"


def resource_after(text: str, pos: int) -> tuple[str | None, int]:
    """Parse ``on resource: X`` at ``pos``; returns (resource, new position)."""
    m = _ON_CIPHERTEXT.match(text, pos)
    if m:
        return m.group("what"), m.end()
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
        if value[-1] == ":" and _empty_name_field(value):
            break  # "...:log-stream:": AWS's own ARN with an empty name, colon included
        value = value[:-1]  # (an elided ARN tail, "us-east-1:...", is kept as written)
    return (value or None), pos + len(window[:end].rstrip())


def _empty_name_field(value: str) -> bool:
    """``value`` ends with a type word of its service's ARN format and an empty name.

    CloudWatch Logs prints ``arn:aws:logs:R:A:log-group:NAME:log-stream:`` for a
    call on a group: the format's ``log-stream:${LogStreamName}`` left empty.
    """
    parts = value.split(":")
    return len(parts) >= 8 and parts[0] == "arn" and names_follow(parts[2], parts[-2])


#: The brackets authors write placeholders in: ``<account id>``, ``{user id}``,
#: ``[child account number]``.
_PLACEHOLDER_BRACKETS = (("<", ">"), ("{", "}"), ("[", "]"))


def _space_outside_placeholders(window: str) -> int:
    """The first blank of ``window`` not inside a bracketed placeholder, or -1."""
    pos = 0
    for _ in range(8):
        space = window.find(" ", pos)
        if space == -1:
            return -1
        if window.startswith((" ... :", " …:", " ... /"), space):
            pos = space + 5  # "arn:aws:sts:: ... :assumed-role/...": a redaction with blanks
            continue
        close = _placeholder_close(window, pos, space)
        if close == -1:
            return space
        pos = close
    return -1


def _placeholder_close(window: str, pos: int, space: int) -> int:
    """Where the placeholder bracket open at ``space`` closes (within 64), or -1."""
    for opener, closer in _PLACEHOLDER_BRACKETS:
        opened = window.rfind(opener, pos, space)
        if opened == -1 or window.find(closer, opened, space) != -1:
            continue
        close = window.find(closer, space, space + 64)
        if close != -1:
            return close
    return -1


# Linear: anchored; bounded classes separated by literals.
_QUOTED_ACCOUNT = re.compile(r'arn:[a-z0-9:-]{1,64}::"[^"\n]{1,64}":[^\s"<]{1,1024}')
#: IAM's descriptions of what it refused on when it gives no ARN ("policy path /", "user bob").
_IAM_DESCRIPTIONS = ("policy path ", "user ", "role ", "group ", "policy ", "instance-profile ")
# Linear: anchored; literals and bounded classes, one fully matched run.
_CLEAN_ARN = re.compile(
    r"arn:aws(?:-[a-z]{1,10}){0,3}:[a-z0-9-]{1,64}:(?:[a-z]{2}(?:-[a-z]{1,10}){1,3}-[0-9])?:"
    r"(?:[0-9]{12}|aws)?:[^\n<>{}\[\]]{1,1900}"  # S3 keys may hold blanks
)
# Linear: anchored; a literal alternation, a literal, one bounded class.
_IAM_PATH = re.compile(
    r"(?:user|role|group|policy|instance-profile|server-certificate|mfa) path /[^\s]{0,512}"
)
#: A person's elision inside an otherwise ARN-shaped value (a name or key may
#: hold anything else, so only the account and region fields are checked by shape).
_ELISIONS = ("...", "…")


#: Where an ARN's resource part splits into names and IDs (``hostedzone/ID``, ``sg-ID``).
_ID_SEPARATORS = str.maketrans("/-", "::")
#: How people name an ID they left out (``ZONEID``, ``HOSTED_ZONE_ID``, ``BUCKET_NAME``).
_PLACEHOLDER_TAILS = ("ID", "NAME", "ARN")


def _masked_arn(arn: str) -> bool:
    """A person's mask in an ARN AWS printed whole: a deleted region, an ID as ``XXXX``.

    AWS fills every field its ARN format has, so a regional service's ARN with
    no region (``arn:aws:sns:::topic``) lost it to a redaction.  AWS's IDs are
    random letters and digits, never a run of one letter (``XXXXXXX``, ``xxx``,
    ``XXXXYYYYZZZ``) nor a word for the field (``ZONEID``).
    """
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return False
    if not parts[3] and is_regional(parts[2]):
        return True
    # S3 keys and bucket names are the user's own words (an "ORDERID" folder is real).
    named = parts[2] == "s3"
    pieces = parts[5].translate(_ID_SEPARATORS).split(":")
    return any(_masked_id(piece, named) for piece in pieces)


def _masked_id(piece: str, named: bool) -> bool:
    if len(piece) >= 3 and not piece.strip("xX"):
        return True
    if named:
        return False
    word = piece.replace("_", "")
    if not word.isalpha() or not word.isascii():
        return False
    if len(piece) >= 6 and min(len(list(run)) for _, run in itertools.groupby(piece)) >= 3:
        return True  # "XXXXYYYYZZZ": runs of one letter each
    return 4 <= len(piece) <= 40 and word.isupper() and piece.endswith(_PLACEHOLDER_TAILS)


def resource_note(resource: str | None) -> tuple[str | None, str | None, str | None]:
    """(resource, resource_text, note) for the value a sentence gives as its resource.

    A clean ARN (its account 12 digits, or none) and ``*`` are the resource.
    Anything else AWS or a person wrote there (a placeholder account, an
    elision, IAM's ``role NAME`` or ``policy path /``, a bare name) is kept as
    written in ``resource_text``: a fix must never name it as a resource.
    """
    if resource is None or resource == "*":
        return resource, None, None
    written = resource
    kind, _, rest = resource.partition(" ")
    if kind in ("policy", "role", "user", "group") and rest.startswith("arn:") and " " not in rest:
        resource = rest  # IAM's "policy arn:aws:iam::...:policy/x": the ARN is the resource
    elif resource.startswith("aws:") and resource.count(":") >= 4:
        resource = "arn:" + resource  # an ARN that lost its "arn:"
    if (
        _CLEAN_ARN.fullmatch(resource)
        and not any(e in resource for e in _ELISIONS)
        and not _masked_arn(resource)
    ):
        return resource, None, None
    if _IAM_PATH.fullmatch(resource):
        # IAM's "policy path /": AWS's own wording for every policy under a path;
        # the rules turn it into that ARN pattern (diagnostics/rules/resources.py).
        return resource, None, None
    if resource.startswith(_IAM_DESCRIPTIONS) or resource.startswith("instance profile "):
        note = "the resource is IAM's description, not an ARN; kept in resource_text"
    elif resource.startswith("arn:"):
        note = "the resource ARN is redacted or elided; kept in resource_text, resource left null"
    else:
        note = "the resource is not an ARN (a name, number or placeholder); resource left null"
    return None, written, note
