"""The ``authorization_error`` texts: what went wrong resolving an ID, and what to do.

No text here holds credentials or the details themselves (they are
privileged); an authorization ID is fine: it names a request, not a secret.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from diagnostics.iam.arns import principal_for_policy
from diagnostics.lookup.errors import (
    ACCESS_DENIED,
    INVALID,
    NO_CREDENTIALS,
    NOT_FOUND,
    OTHER,
    ROLE_DENIED,
    SERVICE_ERROR,
    THROTTLED,
    UNREACHABLE,
)
from diagnostics.lookup.messages import ServiceWords
from diagnostics.lookup.messages import pretty as _pretty

#: The two actions resolving needs; neither is in the IAM dataset yet
#: (preview), so no resource-level permissions are known: Resource "*".
TOOLBOX_STATEMENT: dict[str, Any] = {
    "Sid": "AllowAccessTroubleshooter",
    "Effect": "Allow",
    "Action": ["iam:GetRequestAuthorizationDetails", "iam:GetRequestAuthorizationPolicy"],
    "Resource": "*",
}
#: Details are kept at least this long (GetRequestAuthorizationDetails reference).
RETENTION_HOURS = 24
#: The first botocore release whose iam-toolbox model has GetRequestAuthorizationPolicy
#: and ``checks`` (bisected with `pip download --no-deps botocore==X`: 1.43.80 to
#: 1.44.3 ship an earlier, details-only model; see docs/decoding.md).
MIN_BOTOCORE = "1.44.4"

# Error kinds, the keys of the resolver's ``stats.errors``: the core's table, and the
# resolver's own.
NO_MODEL = "no_model"
DEFERRED = "deferred"


def no_credentials_text() -> str:
    return (
        "no AWS credentials were found to call GetRequestAuthorizationDetails; configure "
        "them with `aws configure`, set AWS_PROFILE or pass --profile, or run on a host with "
        "an instance or task role; or turn resolving off with --no-decode"
    )


def no_model_text(version: str) -> str:
    return (
        f"this botocore ({version}) has no iam-toolbox service model, so the authorization ID "
        f"was not resolved; upgrade to botocore >= {MIN_BOTOCORE} (`pip install -U boto3 "
        "botocore`), or open the ID in the IAM console's Access Troubleshooter"
    )


def access_denied_text(operation: str, caller: str | None, role_arn: str | None) -> str:
    who = role_arn or (principal_for_policy(caller) if caller else None)
    target = f"the identity policy of {who}" if who else "the identity policy of the caller"
    return (
        f"IAM denied iam:{operation} to {who or 'the credentials in use'}; add this statement "
        f"to {target} (both actions are needed: the details, then each policy document), or "
        f"run with --no-decode:\n{_pretty(TOOLBOX_STATEMENT)}"
    )


def role_denied_text(detail: str) -> str:
    return f"the authorization ID was not resolved: {detail}"


def _age_hours(event_time: str | None, now: float) -> float | None:
    if not event_time:
        return None
    try:
        when = datetime.fromisoformat(event_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (now - when.timestamp()) / 3600.0


def not_found_text(
    authorization_id: str,
    *,
    failure_account: str | None,
    caller_account: str | None,
    event_time: str | None,
    now: float,
) -> str:
    """Say which of the two causes (too old, another account/organization) is likely."""
    head = (
        f"GetRequestAuthorizationDetails found no details for authorization ID {authorization_id}"
    )
    age = _age_hours(event_time, now)
    if age is not None and age > RETENTION_HOURS - 1:
        return (
            f"{head}: the denial is {age:.0f} hours old and details are kept for about "
            f"{RETENTION_HOURS} hours, so they have most likely expired; resolve IDs as they "
            "arrive (`authz-diag watch`), or reproduce the request for a fresh ID"
        )
    if failure_account and caller_account and failure_account != caller_account:
        return (
            f"{head}: the denial was in account {failure_account} and these credentials belong "
            f"to {caller_account}; details are only shown to the denied principal's "
            "organization (or its account when it is in none): resolve with credentials of "
            f"that organization or account, e.g. --decode-role-arn "
            "arn:aws:iam::{account}:role/AuthzDiagnosticsDecoder"
        )
    return (
        f"{head}: either the denial is older than about {RETENTION_HOURS} hours (details "
        "expire), or it was recorded for another organization or account than these "
        "credentials' (details are shown only to the denied principal's organization, or "
        "its account when it is in none); resolve with credentials of that account"
    )


def invalid_text(message: str) -> str:
    return (
        f"IAM rejected the authorization ID as invalid ({message[:200]}); IDs are lower-case "
        "letters and digits, at most 256: check it was copied whole from the message"
    )


#: The core's texts for throttling, an unreachable endpoint and a 5xx, in this client's words.
WORDS = ServiceWords(
    service="iam-toolbox",
    throttled="IAM kept throttling GetRequestAuthorizationDetails",
    rate="rate",
    then="the details stay available for about 24 hours",
    endpoint="the iam-toolbox endpoint",
    network="iam-toolbox.<region>.amazonaws.com (proxy, firewall)",
    note=" (the service is in preview)",
)


def other_text(code: str, message: str) -> str:
    return f"resolving the authorization ID failed: {code}: {message[:300]}"


def documents_text(missing: int, reason: str) -> str:
    return (
        f"the details were resolved but {missing} policy document(s) could not be fetched "
        f"with GetRequestAuthorizationPolicy ({reason}); the diagnosis uses the details alone"
    )


def deferred_text(deadline: float) -> str:
    return (
        "resolving deferred: iam-toolbox is slow, unreachable or throttling (no answer within "
        f"{deadline:g}s, [decode] batch_deadline); the ID is retried in the background and "
        "the failure is alerted again with its details once they arrive"
    )


def not_ready_text(window: float) -> str:
    return (
        "authorization details not ready yet: iam-toolbox has none for this ID so far, and "
        "it creates them a few seconds to minutes after the denial; the ID is retried with "
        f"backoff for {window / 60:g} minutes after the denial ([troubleshooter] "
        "not_found_window) and the failure is alerted again with its details once they exist"
    )


def age_seconds(event_time: str | None, now: float) -> float | None:
    """Seconds since ``event_time`` (ISO 8601), or ``None`` when it is missing or unreadable."""
    hours = _age_hours(event_time, now)
    return None if hours is None else hours * 3600.0


def disabled_text() -> str:
    return (
        "resolving is off (--no-decode or decode.enabled = false); run without it, with "
        "credentials of the denied principal's organization, to see which policy denied"
    )


__all__ = [
    "WORDS",
    "ACCESS_DENIED",
    "DEFERRED",
    "INVALID",
    "MIN_BOTOCORE",
    "NOT_FOUND",
    "NO_CREDENTIALS",
    "NO_MODEL",
    "OTHER",
    "RETENTION_HOURS",
    "ROLE_DENIED",
    "SERVICE_ERROR",
    "THROTTLED",
    "TOOLBOX_STATEMENT",
    "UNREACHABLE",
]
