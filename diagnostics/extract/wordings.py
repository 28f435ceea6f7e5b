"""Refusals that AWS services word without ``is not authorized to perform``.

- SQS's query API: ``Access to the resource https://sqs.us-east-2.amazonaws.com/
  is denied.`` (error code ``AccessDenied``; the URL is the queue endpoint, not
  an ARN, and no principal or action is named);
- STS: ``Cannot call GetSessionToken with session credentials`` (and
  GetFederationToken): temporary credentials may never make these calls;
- Secrets Manager: ``Access to KMS is not allowed`` (``AccessDeniedException``
  when the caller may not use the secret's KMS key);
- Lambda: ``The provided execution role does not have permissions to call
  CreateNetworkInterface on EC2``; Auto Scaling plans: ``User is missing the
  following permissions: [ecs:UpdateService]``;
- JS SDK v2 / CDK traces: ``Call failed: getBucketLocation({...}) => Access
  Denied (code=AccessDenied)``.

Each is found with ``str.find`` on its fixed text and read with an anchored,
bounded regex.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Linear: anchored at the found literal; one bounded non-blank run, bounded junk class.
_SQS = re.compile(r"Access to the resource (?P<url>\S{1,512}) is [`'\"*_ >]{0,4}denied")
# Linear: anchored at the found literal; a literal alternation.
_STS = re.compile(
    r"Cannot call (?P<op>GetSessionToken|GetFederationToken) with session credentials"
)
# Linear: anchored at the found literal; bounded classes between literals, no nesting.
_CALL_FAILED = re.compile(
    r"Call failed: (?P<op>[a-z][A-Za-z0-9]{1,100})\([^\n]{0,2000}?\) => "
    r"(?P<msg>[^\n(]{1,200})\(code=(?P<code>[A-Za-z0-9_.]{1,100})\)"
)
_KMS = "Access to KMS is not allowed"
# Linear: anchored at the found literal; bounded classes between literals.
_LAMBDA_ROLE = re.compile(
    r"The provided execution role does not have permissions to call (?P<op>[A-Z][A-Za-z0-9]{1,100})"
    r" on (?P<svc>[A-Za-z0-9]{2,40})"
)
# Linear: anchored at the found literal; one bounded action class.
_MISSING = re.compile(
    r"missing the following permissions: ?\[?(?P<svc>[a-z0-9-]{1,64}):(?P<name>[A-Za-z0-9*]{1,128})"
)
#: How far from a wording an error code may be printed and still be its own.
_CODE_REACH = 300


@dataclass(frozen=True, slots=True)
class WordingHit:
    start: int
    end: int
    error_code: str | None
    operation: str | None
    service: str | None
    region: str | None = None
    action: str | None = None


def find_wordings(text: str) -> list[WordingHit]:
    """Every refusal in ``text`` worded in one of the forms above, in order."""
    hits: list[WordingHit] = []
    for m in _iter(text, "Access to the resource ", _SQS):
        url = m.group("url")
        code = "AccessDenied" if _near(text, m.start(), m.end(), "AccessDenied") else None
        hits.append(WordingHit(m.start(), m.end(), code, None, "sqs", _sqs_region(url)))
    for m in _iter(text, "Cannot call ", _STS):
        code = "AccessDenied" if _near(text, m.start(), m.end(), "AccessDenied") else None
        hits.append(WordingHit(m.start(), m.end(), code, m.group("op"), "sts"))
    i = text.find(_KMS)
    while i != -1:
        hits.append(WordingHit(i, i + len(_KMS), None, None, "secretsmanager"))
        i = text.find(_KMS, i + len(_KMS))
    for m in _iter(text, "The provided execution role ", _LAMBDA_ROLE):
        # Lambda checks its execution role's EC2 rights itself ("... call CreateNetworkInterface
        # on EC2"): the refused call is the operation, EC2 the service.
        hits.append(WordingHit(m.start(), m.end(), None, m.group("op"), m.group("svc").lower()))
    for m in _iter(text, "missing the following permissions:", _MISSING):
        from diagnostics.extract.plain import normalise_action

        action = normalise_action(m.group("svc"), m.group("name"))
        hits.append(WordingHit(m.start(), m.end(), None, None, None, action=action))
    for m in _iter(text, "Call failed: ", _CALL_FAILED):
        from diagnostics.extract.codes import is_authz_error_code

        if is_authz_error_code(m.group("code")):
            op = m.group("op")
            hits.append(
                WordingHit(m.start(), m.end(), m.group("code"), op[0].upper() + op[1:], None)
            )
    hits.sort(key=lambda h: h.start)
    return hits


def _iter(text: str, literal: str, rx: re.Pattern[str]) -> list[re.Match[str]]:
    out: list[re.Match[str]] = []
    i = text.find(literal)
    while i != -1 and len(out) < 256:
        m = rx.match(text, i)
        if m:
            out.append(m)
        i = text.find(literal, i + len(literal))
    return out


def _near(text: str, start: int, end: int, word: str) -> bool:
    return text.find(word, max(0, start - _CODE_REACH), end + _CODE_REACH) != -1


def _sqs_region(url: str) -> str | None:
    """``https://sqs.us-east-2.amazonaws.com/...`` -> ``us-east-2``."""
    host = url.split("://", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    if len(parts) >= 3 and parts[0] == "sqs" and parts[1].count("-") >= 2:
        return parts[1]
    return None
