"""EC2's own refusal sentences, wherever a tool printed them.

EC2 answers ``UnauthorizedOperation`` with ``You are not authorized to
perform this operation.`` (older replies and Describe* calls stop there; newer
ones add the plain ``User: ... is not authorized ...`` sentence and an
encoded blob).  Tools print it far from botocore's wrapper: Go SDK v1
(``UnauthorizedOperation: You are not ...`` then ``status code: 403``),
Terraform (``reading EC2 Instance Type (t3.micro): UnauthorizedOperation:
...``), CloudFormation events (``API: ec2:CreateVpc You are not authorized to
perform this operation.``), Karpenter and the EBS CSI driver.  Launch
templates have their own wording: ``You are not authorized to use launch
template: lt-...``.

The sentence alone is not enough: product documentation and other vendors say
"you are not authorized" too.  A hit counts only with evidence beside it: an
authorization error code just before, CloudFormation's ``API: svc:Action``
prefix, a tool's own words for the EC2 call it made (Packer's ``Error
launching source instance:``), or an HTTP 403 / encoded blob just after.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from diagnostics.extract.parsers.tool_operations import tool_operation
from diagnostics.iam.error_codes import is_authz_error_code

_SENTENCES = (
    "You are not authorized to perform this operation",
    "You are not authorized to use launch template",
)
#: How far before the sentence an error code or CloudFormation prefix may be.
_BEFORE = 160
#: How far after it a status line or blob may be.
_AFTER = 400
#: How much of a console row before the sentence is read for its columns.
_ROW = 600
#: At most this many per text: a hostile line repeating the sentence stays linear.
MAX_HITS = 256

# Linear: anchored at a found "API:"; disjoint bounded classes around literals.
_CFN_API = re.compile(
    r"API: ?(?P<svc>[a-z0-9-]{1,64}):(?P<name>[A-Za-z0-9]{1,128})[ \t]{0,8}[:,.]?[ \t]{0,8}$"
)
_CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.")
# Linear: anchored literal plus bounded digits.
_STATUS_403 = re.compile(r"[Ss]tatus ?[Cc]ode:? ?403\b|\(403\)|403 Forbidden")
# Linear: anchored; optional colon, bounded blanks, one bounded id class.
_TEMPLATE = re.compile(r"[ \t]{0,4}:?[ \t]{0,4}(?P<id>lt-[0-9a-f]{1,32}|[A-Za-z0-9_.-]{1,128})")


@dataclass(frozen=True, slots=True)
class Ec2Hit:
    """One EC2 refusal sentence with evidence that it is a real refusal."""

    start: int
    end: int
    #: ``ec2:CreateVpc`` from a CloudFormation ``API:`` prefix, else None.
    action: str | None
    #: The error code printed right before it (Go SDK v1, Terraform), else None.
    error_code: str | None
    #: The launch template named by the launch-template wording.
    launch_template: str | None = None
    #: From a CloudTrail console row (``<arn>  <id>  ec2.amazonaws.com  <Op>  <code>  ...``).
    operation: str | None = None
    event_source: str | None = None
    principal: str | None = None


def find_ec2(text: str, context: str = "") -> list[Ec2Hit]:
    """Every EC2 refusal sentence in ``text`` that something beside it confirms.

    ``context`` is the few lines before the record: a tool's banner there
    (``Creating EC2 Instance..``) confirms a sentence the record holds alone.
    """
    hits: list[Ec2Hit] = []
    for sentence in _SENTENCES:
        i = text.find(sentence)
        while i != -1 and len(hits) < MAX_HITS:
            hit = _hit_at(text, i, sentence, context)
            if hit is not None:
                hits.append(hit)
            i = text.find(sentence, i + len(sentence))
    hits.sort(key=lambda h: h.start)
    return hits


def _hit_at(text: str, i: int, sentence: str, context: str) -> Ec2Hit | None:
    end = i + len(sentence)
    template: str | None = None
    if sentence.endswith("launch template"):
        m = _TEMPLATE.match(text, end)
        if m:
            template = m.group("id").rstrip(".")
            end = m.start("id") + len(template)
    if text.startswith(".", end):
        end += 1
    before = text[max(0, i - _BEFORE) : i]
    action: str | None = None
    start = i
    at = before.rfind("API:")
    api = _CFN_API.match(before, at) if at != -1 else None
    if api:
        from diagnostics.extract.parsers.plain import normalise_action

        action = normalise_action(api.group("svc"), api.group("name"))
        start = i - len(before) + api.start()
    word = _last_word(before)
    code = word if is_authz_error_code(word) else None
    after = text[end : end + _AFTER]
    confirmed = (
        action is not None
        or code is not None
        # Another spelling of the code nearby (XML <Code>, "EC2 Error Code: X."), or
        # EC2 named as the service ("AWS::EC2::VPC", "in EC2:", "AmazonEC2Exception").
        or "UnauthorizedOperation" in before
        or "UnauthorizedOperation" in after[:160]
        or "EC2" in before
        or (i < _BEFORE and ("EC2" in context or "UnauthorizedOperation" in context))
        or _STATUS_403.search(after) is not None
        or "ncoded authorization failure message" in after
        or "(Service: " in after
        # The tool's own words name the EC2 call it made (Packer's "Error launching
        # source instance: You are not authorized ...").
        or _tool_names_ec2(text, i, end)
    )
    if not confirmed:
        return None
    row_start = max(text.rfind("\n", max(0, i - _ROW), i) + 1, i - _ROW)
    row = _console_row(text[row_start:i])
    if row is not None:
        principal, source, operation, code = row
        return Ec2Hit(row_start, end, action, code, template, operation, source, principal)
    return Ec2Hit(start, end, action, code, template)


def _tool_names_ec2(text: str, start: int, end: int) -> bool:
    named = tool_operation(text, start, end)
    return named is not None and named[0] == "ec2"


def _console_row(before: str) -> tuple[str | None, str, str, str] | None:
    """(principal, event source, operation, code) when ``before`` ends a CloudTrail console
    row copied as columns: ``<user ARN>  <event id>  ec2.amazonaws.com  <Op>  <code>``."""
    words = before.rsplit("\n", 1)[-1].split()
    if len(words) < 3 or not is_authz_error_code(words[-1]):
        return None
    source, operation = words[-3], words[-2]
    if not source.endswith(".amazonaws.com") or not operation[:1].isupper():
        return None
    principal = next((w for w in words[:-3] if w.startswith("arn:")), None)
    return principal, source, operation, words[-1]


def _last_word(before: str) -> str:
    """The error-code-like word ending ``before`` (``UnauthorizedOperation: ``)."""
    end = len(before.rstrip(" \t:,-)]\"'"))
    start = end
    while start > 0 and end - start < 100 and before[start - 1] in _CODE_CHARS:
        start -= 1
    return before[start:end]
