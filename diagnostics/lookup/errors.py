"""The one error table: every botocore error an AWS lookup meets, as a kind.

Both clients (STS decode and iam-toolbox) classify through ``classify``, so a
throttling code or an expired-credentials code means the same to both.  The
client turns an ``AwsError`` into its own wording (``LookupClient.explain``).
"""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.errors import DecodeError

# Error kinds: the keys of ``LookupStats.errors``.
NO_CREDENTIALS = "no_credentials"
ACCESS_DENIED = "access_denied"
ROLE_DENIED = "role_denied"
NOT_FOUND = "not_found"
INVALID = "invalid"
THROTTLED = "throttled"
UNREACHABLE = "unreachable"
SERVICE_ERROR = "service_error"
EXPIRED_CREDENTIALS = "expired_credentials"
NOT_ALLOWED = "not_allowed"
OTHER = "other"

#: Throttling codes of STS, IAM and the rest-json services (botocore's retry handler list).
THROTTLING = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)
#: Assumed-role credentials that lapsed: a fresh AssumeRole fixes them.
EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId"})
DENIED = frozenset({"AccessDenied", "AccessDeniedException"})
MISSING = frozenset({"ResourceNotFoundException"})
INVALID_INPUT = frozenset(
    {"InvalidAuthorizationMessageException", "ValidationError", "ValidationException"}
)
#: Kinds that say nothing about the blob or ID: worth a later retry in ``watch``.
TRANSIENT = frozenset({THROTTLED, UNREACHABLE, SERVICE_ERROR})


@dataclass(frozen=True, slots=True)
class AwsError:
    """One classified failure of an AWS call."""

    kind: str
    #: The AWS error code, or the botocore exception's class name.
    code: str = ""
    message: str = ""
    #: HTTP attempts botocore made (retries included).
    attempts: int = 1
    status: int = 0
    #: Extra words from the core (the missing profile, the role-denied text).
    detail: str = ""
    #: The API operation that failed (``""``: making the client or assuming the role).
    operation: str = ""


class AwsFailure(Exception):
    """Raised inside the core with an already classified ``AwsError``."""

    def __init__(self, error: AwsError) -> None:
        super().__init__(error.kind)
        self.error = error


class LookupFailed(DecodeError):
    """A lookup that failed; ``str(e)`` is the user's text, ``kind`` its category."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind


def classify(exc: BaseException) -> AwsError:
    """The kind of a botocore exception (or an ``AwsFailure``'s own error)."""
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        HTTPClientError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    if isinstance(exc, AwsFailure):
        return exc.error
    name = type(exc).__name__
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return AwsError(NO_CREDENTIALS, name)
    if isinstance(exc, (ConnectionError, HTTPClientError)):
        # Connect and read timeouts and dropped connections, after botocore's retries.
        return AwsError(UNREACHABLE, name)
    if not isinstance(exc, ClientError):
        return AwsError(OTHER, name, str(exc))
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "ClientError"))
    message = str(error.get("Message", ""))
    meta = exc.response.get("ResponseMetadata", {})
    attempts = int(meta.get("RetryAttempts", 0)) + 1
    status = int(meta.get("HTTPStatusCode", 0))
    kind = OTHER
    if code in THROTTLING or status == 429:
        kind = THROTTLED
    elif code in EXPIRED:
        kind = EXPIRED_CREDENTIALS
    elif code in DENIED:
        kind = ACCESS_DENIED
    elif code in MISSING:
        kind = NOT_FOUND
    elif code in INVALID_INPUT:
        kind = INVALID
    elif status >= 500:
        kind = SERVICE_ERROR
    return AwsError(kind, code, message, attempts, status)
