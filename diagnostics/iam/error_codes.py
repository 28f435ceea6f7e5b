"""Which AWS error codes are authorization failures.

One table, one source per row.  CIS AWS Foundations (the "unauthorized API
calls" metric filter) fixes the core: ``*UnauthorizedOperation`` and
``AccessDenied*``.  The other rows are codes AWS services return for an
authorization refusal, seen in service API references and real logs.

Authentication failures (bad or expired credentials: ``InvalidClientTokenId``,
``ExpiredToken``, ``UnrecognizedClientException``, ``SignatureDoesNotMatch``)
are deliberately absent: no policy change fixes them.

A code is only ever letters, digits and ``. _ : -`` (``Client.UnauthorizedOperation``,
``AccessDeniedException``): a "code" with any other character (a space, a
newline, ESC, a bidi override) was written by someone else, not by AWS, and
is not an authorization failure.  ``scan`` prints the code as a block
heading, so this also keeps forged headings out of its output.
"""

from __future__ import annotations

import functools
import re
from typing import Literal

# Linear: one character class, anchored by fullmatch.
_CODE = re.compile(r"[A-Za-z0-9._:-]+")

MatchHow = Literal["exact", "prefix", "suffix", "contains"]

#: (how, text, source).  Matching is case-sensitive, as AWS spells codes, after
#: removing EC2's ``Client.``/``Server.`` prefix.
AUTHZ_CODE_TABLE: tuple[tuple[MatchHow, str, str], ...] = (
    ("suffix", "UnauthorizedOperation", "CIS AWS Foundations 3.1/4.1 metric filter; EC2 API"),
    ("prefix", "AccessDenied", "CIS AWS Foundations 3.1/4.1 metric filter; S3, STS, IAM"),
    ("contains", "AccessDenied", "KMSAccessDeniedException (Lambda), EFSAccessDeniedException"),
    ("prefix", "AuthorizationError", "SNS API reference (AuthorizationError, HTTP 403)"),
    (
        "contains",
        "NotAuthorized",
        "NotAuthorizedException (Cognito, IoT); CIS-style *NotAuthorized*",
    ),
    ("exact", "Forbidden", "API Gateway, OpenSearch HTTP 403"),
    ("suffix", "ForbiddenException", "ForbiddenException (Amplify, Lightsail, MediaStore)"),
    ("exact", "AuthFailure", "EC2 API common errors (AuthFailure)"),
    (
        "prefix",
        "UnauthorizedAccess",
        "UnauthorizedAccess (Glacier, CodeCommit), UnauthorizedAccessException",
    ),
    ("exact", "UnauthorizedException", "AppSync, IoT, Chime (UnauthorizedException, HTTP 401/403)"),
)


#: Every authorization code holds one of these (each row's text, less rows that
#: hold another row's): text without any cannot hold such a code.
CODE_WORDS: tuple[str, ...] = tuple(
    sorted(
        {
            text
            for _how, text, _source in AUTHZ_CODE_TABLE
            if not any(o != text and o in text for _h, o, _s in AUTHZ_CODE_TABLE)
        }
    )
)


def code_word_starts(text: str) -> list[int]:
    """Sorted positions of every ``CODE_WORDS`` occurrence in ``text``."""
    out: list[int] = []
    for word in CODE_WORDS:
        i = text.find(word)
        while i != -1:
            out.append(i)
            i = text.find(word, i + 1)
    out.sort()
    return out


def _strip_ec2_prefix(code: str) -> str:
    for prefix in ("Client.", "Server."):
        if code.startswith(prefix):
            return code[len(prefix) :]
    return code


def is_authz_error_code(code: object) -> bool:
    """True when ``code`` (a CloudTrail errorCode or an SDK error code) is an authz refusal."""
    if not isinstance(code, str) or not code or len(code) > 128 or not _CODE.fullmatch(code):
        return False
    return _is_authz(code)


# The frame finders ask about every "Word: " in a line, and words repeat: memoised.
@functools.lru_cache(maxsize=4096)
def _is_authz(code: str) -> bool:
    bare = _strip_ec2_prefix(code)
    for how, text, _source in AUTHZ_CODE_TABLE:
        if (
            (how == "exact" and bare == text)
            or (how == "prefix" and bare.startswith(text))
            or (how == "suffix" and bare.endswith(text))
            or (how == "contains" and text in bare)
        ):
            return True
    return False
