"""The ``decode_error`` texts: each says what happened and what to do next.

Kept in one place so the wording, and the policy statements inside it, stay
consistent between the decoder, the docs and the tests.  No text here ever
contains credentials or a whole encoded blob.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from diagnostics.errors import DecodeError
from diagnostics.iam.arns import principal_for_policy

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

# Error kinds, used as keys of DecodeStats.errors.
NO_CREDENTIALS = "no_credentials"
ACCESS_DENIED = "access_denied"
ROLE_DENIED = "role_denied"
INVALID = "invalid"
THROTTLED = "throttled"
UNREACHABLE = "unreachable"
SERVICE_ERROR = "service_error"
TRUNCATED = "truncated"
MALFORMED = "malformed"
OTHER = "other"


def pretty(obj: object) -> str:
    return json.dumps(obj, indent=2)


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


def missing_profile_detail(exc: Exception) -> str:
    """Which profile botocore looked for, and in which config file."""
    kwargs = getattr(exc, "kwargs", {})
    profile = kwargs.get("profile") if isinstance(kwargs, dict) else None
    config = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    return f"the profile {profile or '(unnamed)'!r} is not in {config}"


#: How the one-shot texts point at switching decoding off; ``decode`` has no such switch.
_OFF_SWITCHES = ("; or skip decoding with --no-decode", ", or run with --no-decode")


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


def throttled_text(attempts: int, max_per_second: float) -> str:
    return (
        f"STS kept throttling DecodeAuthorizationMessage after {attempts} attempts; lower "
        f"the decode rate (max_per_second, now {max_per_second:g}) or the concurrency, or "
        "retry later; other tools sharing this account's STS quota may be busy"
    )


def unreachable_text(endpoint: str | None, detail: str, timeout: float) -> str:
    where = endpoint or "the STS endpoint"
    return (
        f"could not reach {where} or got no answer within {timeout:g} s ({detail}); check "
        "network access to STS (proxy, VPC endpoint, firewall) and the region, or run with "
        "--no-decode"
    )


def service_error_text(code: str, attempts: int) -> str:
    return f"STS failed with {code} after {attempts} attempts; this is on the AWS side, retry later"


def other_error_text(code: str, message: str) -> str:
    # STS messages name ARNs and actions, never credentials; cap them anyway.
    return f"STS answered {code}: {message[:300]}; the message was not decoded"


def trust_statement(principal_arn: str | None, external_id: str | None) -> dict[str, Any]:
    """The decoder role's trust-policy statement that lets this daemon assume it."""
    statement: dict[str, Any] = {
        "Sid": "AllowAuthzDiagnosticsToDecode",
        "Effect": "Allow",
        "Principal": {
            "AWS": principal_for_policy(principal_arn)
            if principal_arn
            else "<ARN of the role or user the daemon runs as>"
        },
        "Action": "sts:AssumeRole",
    }
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return statement


def assume_statement(role_template: str) -> dict[str, Any]:
    """The daemon's own identity-policy statement allowing it to assume decoder roles."""
    return {
        "Sid": "AllowAssumeDecoderRoles",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": role_template.replace("{account}", "*"),
    }


def role_denied_text(
    *,
    role_arn: str,
    account: str,
    code: str,
    caller: str | None,
    external_id: str | None,
    role_template: str,
) -> str:
    return (
        f"could not assume the decoder role {role_arn} in account {account} ({code}): the "
        "role is missing, or its trust policy does not trust this daemon, or the daemon may "
        "not call sts:AssumeRole on it. Create the role in that account with "
        "sts:DecodeAuthorizationMessage allowed, put this statement in its trust policy:\n"
        f"{pretty(trust_statement(caller, external_id))}\n"
        "and allow the daemon to assume it in its own identity policy:\n"
        f"{pretty(assume_statement(role_template))}"
    )


class DecodeFailed(DecodeError):
    """A decode that failed; ``str(e)`` is the decode_error, ``kind`` its category."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind
