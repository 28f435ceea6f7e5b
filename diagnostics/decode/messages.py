"""The ``decode_error`` texts: each says what happened and what to do next.

Kept in one place so the wording, and the policy statements inside it, stay
consistent between the decoder, the docs and the tests.  No text here ever
contains credentials or a whole encoded blob.
"""

from __future__ import annotations

import re
from typing import Any

from diagnostics.iam.arns import principal_for_policy
from diagnostics.lookup.errors import (
    ACCESS_DENIED,
    INVALID,
    NO_CREDENTIALS,
    OTHER,
    ROLE_DENIED,
    SERVICE_ERROR,
    THROTTLED,
    UNREACHABLE,
)
from diagnostics.lookup.errors import LookupFailed as DecodeFailed
from diagnostics.lookup.messages import ServiceWords, pretty

#: DecodeAuthorizationMessage supports no resource-level permissions, so the
#: statement must use "*" (Service Authorization Reference, AWS STS actions).
DECODE_STATEMENT: dict[str, Any] = {
    "Sid": "AllowDecodeAuthorizationMessage",
    "Effect": "Allow",
    "Action": "sts:DecodeAuthorizationMessage",
    "Resource": "*",
}

MAX_BLOB_CHARS = 10_240  # STS EncodedMessage length limit (API reference)
# Linear: one character class.
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")

# Error kinds, the keys of the decoder's ``stats.errors``: the core's table, and two of
# the decoder's own for blobs never sent.
TRUNCATED = "truncated"
MALFORMED = "malformed"


def local_problem(blob: str) -> tuple[str, str] | None:
    """``(kind, text)`` when the blob cannot be sent to STS at all, else ``None``."""
    if len(blob) > MAX_BLOB_CHARS:
        return MALFORMED, (
            f"the encoded message is {len(blob):,} characters, longer than the "
            f"{MAX_BLOB_CHARS:,} STS accepts, so it was not sent; it was probably joined with "
            "neighbouring text: check the input around it, or decode it yourself with "
            "`aws sts decode-authorization-message --encoded-message ...`"
        )
    if not _BASE64URL.fullmatch(blob):
        return MALFORMED, (
            "the encoded message holds characters outside base64url (A-Z a-z 0-9 - _), so STS "
            "would reject it and it was not sent; the input probably wrapped or escaped it: "
            "copy the blob exactly as AWS printed it and run `authz-diag decode -`"
        )
    return None


def truncated_text() -> str:
    return (
        "the encoded message was cut off (by CloudTrail or the end of input), so STS cannot "
        "decode it and it was not sent; find the full message in the failing tool's original "
        "output and run `authz-diag decode -` on it"
    )


#: How the one-shot texts point at switching decoding off; ``decode`` has no such switch.
_OFF_SWITCHES = (
    "; or skip decoding with --no-decode",
    ", or run with --no-decode",
    "; or turn resolving off with --no-decode",  # the authorization ID resolver's
)


def without_off_switch(text: str) -> str:
    """``text`` without the advice to pass ``--no-decode`` (for ``authz-diag decode``)."""
    for phrase in _OFF_SWITCHES:
        text = text.replace(phrase, "")
    return text


def no_credentials_text(detail: str = "") -> str:
    extra = f" ({detail})" if detail else ""
    return (
        f"no AWS credentials were found to call STS DecodeAuthorizationMessage{extra}; "
        "configure them with `aws configure`, set AWS_PROFILE or pass --profile, or run on a "
        "host with an instance or task role; or skip decoding with --no-decode"
    )


def access_denied_text(caller: str | None, role_arn: str | None = None) -> str:
    who = role_arn or (principal_for_policy(caller) if caller else None)
    target = f"the identity policy of {who}" if who else "the identity policy of the caller"
    return (
        f"STS denied sts:DecodeAuthorizationMessage to {who or 'the credentials in use'}; "
        f"add this statement to {target} (the action has no resource-level permissions, "
        f'so Resource must be "*"), or run with --no-decode:\n{pretty(DECODE_STATEMENT)}'
    )


def invalid_text() -> str:
    return (
        "STS says the encoded message is invalid or expired; messages can only be decoded "
        "for a limited time, re-run the failing command to get a fresh one. If it is fresh, "
        "decode it with credentials of the account that received the failure (see "
        "--decode-role-arn), and check the blob was copied whole"
    )


#: The core's texts for throttling, an unreachable endpoint and a 5xx, in this client's words.
WORDS = ServiceWords(
    service="STS",
    throttled="STS kept throttling DecodeAuthorizationMessage",
    rate="decode rate",
    then="other tools sharing this account's STS quota may be busy",
    endpoint="the STS endpoint",
    network="STS (proxy, VPC endpoint, firewall)",
)


def other_error_text(code: str, message: str) -> str:
    # STS messages name ARNs and actions, never credentials; cap them anyway.
    return f"STS answered {code}: {message[:300]}; the message was not decoded"


__all__ = [
    "WORDS",
    "ACCESS_DENIED",
    "DECODE_STATEMENT",
    "INVALID",
    "MALFORMED",
    "NO_CREDENTIALS",
    "OTHER",
    "ROLE_DENIED",
    "SERVICE_ERROR",
    "THROTTLED",
    "TRUNCATED",
    "UNREACHABLE",
    "DecodeFailed",
    "access_denied_text",
    "invalid_text",
    "local_problem",
    "no_credentials_text",
    "other_error_text",
    "truncated_text",
    "without_off_switch",
]
