"""A loopback HTTP double of AWS STS for tests, rule authors and benchmarks.

It speaks the STS Query protocol (form-encoded POST, XML answers in the
``https://sts.amazonaws.com/doc/2011-06-15/`` namespace), so a real boto3
client pointed at ``endpoint_url`` runs its whole path: signing, retries and
error parsing.  moto does not implement DecodeAuthorizationMessage, hence
this double.

    with StsDouble(messages={blob: decoded}) as sts:
        client = boto3.client("sts", endpoint_url=sts.endpoint_url, ...)
        sts.fail_next("throttle", 2)      # the next two calls get Throttling
        ...
        assert sts.call_count() == 3

Actions answered: ``DecodeAuthorizationMessage``, ``AssumeRole`` (credentials
whose access key id the double remembers, so a later decode knows which
account signed it) and ``GetCallerIdentity``.  Everything is thread-safe.
Error codes, HTTP statuses and XML shapes follow the STS API reference
(https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from xml.sax.saxutils import escape

# Re-exported: tests and benchmarks import the samples with the double.
from diagnostics.testing.loopback import Fault, FaultQueue, LoopbackServer
from diagnostics.testing.sts_samples import decoded_message, fake_blob

__all__ = ["DECODE", "StsCall", "StsDouble", "decoded_message", "fake_blob"]

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
DECODE = "DecodeAuthorizationMessage"
ASSUME_ROLE = "AssumeRole"
GET_CALLER_IDENTITY = "GetCallerIdentity"

#: Kinds of scripted faults; see ``StsDouble.fail_next``.
FaultKind = Literal[
    "throttle",
    "access_denied",
    "invalid",
    "expired",
    "expired_token",
    "internal_error",
    "unavailable",
    "hang",
]

#: kind -> (HTTP status, error type, code, message)
_FAULTS: dict[str, tuple[int, str, str, str]] = {
    "throttle": (400, "Sender", "Throttling", "Rate exceeded"),
    "access_denied": (403, "Sender", "AccessDenied", ""),  # message built per call
    "invalid": (
        400,
        "Sender",
        "InvalidAuthorizationMessageException",
        "The encoded authorization message is invalid.",
    ),
    # STS gives no separate code for expired messages: they are "invalid" too.
    "expired": (
        400,
        "Sender",
        "InvalidAuthorizationMessageException",
        "The encoded authorization message is invalid or has expired.",
    ),
    # The signing credentials expired (not the message): clients should renew them.
    "expired_token": (
        400,
        "Sender",
        "ExpiredToken",
        "The security token included in the request is expired",
    ),
    "internal_error": (500, "Receiver", "InternalFailure", "An internal error occurred."),
    "unavailable": (503, "Receiver", "ServiceUnavailable", "Service is unavailable."),
}

# Linear: literal prefix, one class.
_CREDENTIAL = re.compile(r"Credential=([A-Za-z0-9]+)/")
# Linear: anchored; (?:.*/)? backs off once to the last "/", and the name class has none.
_ROLE_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:.*/)?([\w+=,.@-]+)$")

#: Decoded-message answer: the DecodedMessage as JSON text or as an object.
Answer = str | Mapping[str, Any]
#: Called for a blob with no programmed answer; ``None`` means "invalid".
DefaultAnswer = Callable[[str, "StsCall"], Answer | None]


@dataclass(frozen=True, slots=True)
class StsCall:
    """One request the double received, in arrival order."""

    action: str
    access_key_id: str | None
    #: The account the signing key belongs to, when the double issued the key
    #: (AssumeRole) or was told with ``register_key``.
    account: str | None
    encoded_message: str | None
    role_arn: str | None
    params: Mapping[str, str]
    #: ``time.monotonic()`` when the request arrived (before injected latency).
    received_at: float
    status: int = 0
    error_code: str | None = None


class StsDouble(LoopbackServer):
    """A programmable STS endpoint on ``127.0.0.1`` (a free port).

    ``messages`` maps an encoded blob to its DecodedMessage; ``default`` answers
    blobs not in it (return ``None`` for "invalid").  Blobs with neither get
    ``InvalidAuthorizationMessageException``, as STS answers unknown text.
    ``latency`` seconds are added to every response (benchmarks).
    ``key_resolver`` maps an access key id the double did not issue (moto's
    AssumeRole, say) to its account, for per-account answers.
    """

    def __init__(
        self,
        messages: Mapping[str, Answer] | None = None,
        *,
        default: DefaultAnswer | None = None,
        latency: float = 0.0,
        hang_seconds: float = 30.0,
        base_identity: str = "arn:aws:iam::123456789012:user/authz-diag",
        credential_lifetime: timedelta = timedelta(hours=1),
        key_resolver: Callable[[str], str | None] | None = None,
    ) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._messages: dict[str, tuple[Answer, str | None]] = {
            blob: (answer, None) for blob, answer in (messages or {}).items()
        }
        self._default = default
        self.latency = latency
        self.hang_seconds = hang_seconds
        self.base_identity = base_identity
        self.credential_lifetime = credential_lifetime
        self._key_resolver = key_resolver
        self._faults = FaultQueue()
        self._calls: list[StsCall] = []
        self._key_accounts: dict[str, str] = {}
        self._key_arns: dict[str, str] = {}
        self._denied_roles: set[str] = set()
        self._key_counter = itertools.count(1)

    NAME = "sts-double"

    # -- programming ---------------------------------------------------------

    def add_message(self, blob: str, decoded: Answer, *, account: str | None = None) -> None:
        """Answer ``blob`` with ``decoded``; with ``account``, only for that account's keys.

        Real STS decodes a message only with credentials of the account that
        received the failure; other callers get "invalid".
        """
        with self._lock:
            self._messages[blob] = (decoded, account)

    def register_key(self, access_key_id: str, account: str, arn: str | None = None) -> None:
        """Tell the double which account (and identity) an access key id belongs to."""
        with self._lock:
            self._key_accounts[access_key_id] = account
            if arn is not None:
                self._key_arns[access_key_id] = arn

    def account_of(self, access_key_id: str) -> str | None:
        """The account an access key id belongs to (issued by AssumeRole or registered)."""
        with self._lock:
            return self._key_accounts.get(access_key_id)

    def deny_role(self, role_arn: str) -> None:
        """AssumeRole on ``role_arn`` answers AccessDenied (a missing or untrusting role)."""
        with self._lock:
            self._denied_roles.add(role_arn)

    def fail_next(
        self,
        kind: FaultKind,
        count: int | None = 1,
        *,
        action: str | None = DECODE,
        account: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching calls with a fault (``None``: until cleared).

        ``action`` limits the fault to one STS action (``None``: any);
        ``account`` to calls signed by that account's keys.  ``hang`` holds the
        request open for ``hang_seconds`` (or until ``stop``) and closes the
        connection without an answer, so the client times out.  Faults queue
        in the order given; each call consumes at most one.
        """
        if kind != "hang" and kind not in _FAULTS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {sorted(_FAULTS)} or 'hang'")
        self._faults.add(Fault(kind, count, action, account, message))

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- observing -----------------------------------------------------------

    @property
    def calls(self) -> list[StsCall]:
        """A copy of the call log, in arrival order."""
        with self._lock:
            return list(self._calls)

    def call_count(self, action: str | None = DECODE) -> int:
        """Calls received for ``action`` (``None``: all actions), faults included."""
        with self._lock:
            return sum(1 for c in self._calls if action is None or c.action == action)

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    # -- request handling (called from server threads) ------------------------

    def _record(self, call: StsCall) -> None:
        with self._lock:
            self._calls.append(call)

    def _identity(self, key: str | None) -> str:
        with self._lock:
            return self._key_arns.get(key or "", self.base_identity)

    def handle(self, params: Mapping[str, str], authorization: str) -> tuple[int, str] | None:
        """Answer one request: ``(status, xml)``, or ``None`` to drop the connection."""
        received = time.monotonic()
        m = _CREDENTIAL.search(authorization)
        key = m.group(1) if m else None
        with self._lock:
            account = self._key_accounts.get(key or "")
        if account is None and key is not None and self._key_resolver is not None:
            account = self._key_resolver(key)
        action = params.get("Action", "")
        base = StsCall(
            action=action,
            access_key_id=key,
            account=account,
            encoded_message=params.get("EncodedMessage"),
            role_arn=params.get("RoleArn"),
            params=dict(params),
            received_at=received,
        )
        if self.latency > 0:
            self._stopping.wait(self.latency)
        fault = self._faults.take(action, account)
        if fault is not None and fault.kind == "hang":
            self._record(_replace(base, status=0, error_code="hang"))
            self._stopping.wait(self.hang_seconds)
            return None
        if fault is not None:
            status, etype, code, text = _FAULTS[fault.kind]
            if fault.kind == "access_denied" and not text:
                text = _denied_text(self._identity(key), action, params.get("RoleArn"))
            return self._error(base, status, etype, code, fault.message or text)
        if key is None:
            return self._error(
                base, 403, "Sender", "MissingAuthenticationToken", "Request is missing credentials."
            )
        if action == DECODE:
            return self._decode(base)
        if action == ASSUME_ROLE:
            return self._assume_role(base)
        if action == GET_CALLER_IDENTITY:
            return self._ok(base, action, _caller_identity_xml(self._identity(key), account))
        return self._error(
            base, 400, "Sender", "InvalidAction", f"Could not find operation {action} for version"
        )

    def _ok(self, call: StsCall, action: str, inner: str) -> tuple[int, str]:
        self._record(_replace(call, status=200))
        body = (
            f'<{action}Response xmlns="{NAMESPACE}"><{action}Result>{inner}</{action}Result>'
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            f"</{action}Response>"
        )
        return 200, body

    def _error(
        self, call: StsCall, status: int, etype: str, code: str, message: str
    ) -> tuple[int, str]:
        self._record(_replace(call, status=status, error_code=code))
        body = (
            f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{etype}</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        )
        return status, body

    def _decode(self, call: StsCall) -> tuple[int, str]:
        blob = call.encoded_message
        if not blob:
            return self._error(
                call, 400, "Sender", "MissingParameter", "The request must contain EncodedMessage"
            )
        if len(blob) > 10240:
            return self._error(
                call,
                400,
                "Sender",
                "ValidationError",
                "1 validation error detected: Value at 'encodedMessage' failed to satisfy "
                "constraint: Member must have length less than or equal to 10240",
            )
        with self._lock:
            programmed = self._messages.get(blob)
        answer: Answer | None = None
        if programmed is not None:
            decoded, only_account = programmed
            if only_account is None or only_account == call.account:
                answer = decoded
        elif self._default is not None:
            answer = self._default(blob, call)
        if answer is None:
            status, etype, code, text = _FAULTS["invalid"]
            return self._error(call, status, etype, code, text)
        text = answer if isinstance(answer, str) else json.dumps(answer)
        return self._ok(call, DECODE, f"<DecodedMessage>{escape(text)}</DecodedMessage>")

    def _assume_role(self, call: StsCall) -> tuple[int, str]:
        role_arn = call.role_arn or ""
        session = call.params.get("RoleSessionName", "")
        m = _ROLE_ACCOUNT.match(role_arn)
        if not m or not session:
            return self._error(
                call, 400, "Sender", "ValidationError", "RoleArn and RoleSessionName are required"
            )
        with self._lock:
            denied = role_arn in self._denied_roles
        if denied:
            text = _denied_text(self._identity(call.access_key_id), ASSUME_ROLE, role_arn)
            return self._error(call, 403, "Sender", "AccessDenied", text)
        account, role_name = m.group(1), m.group(2)
        n = next(self._key_counter)
        digest = hashlib.sha256(f"{role_arn}:{n}".encode()).hexdigest().upper()
        key = "ASIA" + digest[:16]
        session_arn = f"arn:aws:sts::{account}:assumed-role/{role_name}/{session}"
        self.register_key(key, account, session_arn)
        expires = datetime.now(UTC) + self.credential_lifetime
        inner = (
            f"<Credentials><AccessKeyId>{key}</AccessKeyId>"
            f"<SecretAccessKey>{digest[16:56]}</SecretAccessKey>"
            f"<SessionToken>FQoGZXIvYXdzE{digest}</SessionToken>"
            f"<Expiration>{expires.strftime('%Y-%m-%dT%H:%M:%SZ')}</Expiration></Credentials>"
            f"<AssumedRoleUser><AssumedRoleId>AROA{digest[:17]}:{escape(session)}</AssumedRoleId>"
            f"<Arn>{escape(session_arn)}</Arn></AssumedRoleUser>"
        )
        return self._ok(call, ASSUME_ROLE, inner)


def _replace(call: StsCall, **changes: Any) -> StsCall:
    return dataclasses.replace(call, **changes)


def _denied_text(identity: str, action: str, role_arn: str | None) -> str:
    if action == ASSUME_ROLE:
        return (
            f"User: {identity} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        )
    return (
        f"User: {identity} is not authorized to perform: sts:{action} "
        "because no identity-based policy allows the sts:{action} action".replace(
            "{action}", action
        )
    )


def _caller_identity_xml(arn: str, account: str | None) -> str:
    acct = account or arn.split(":")[4]
    return f"<Arn>{escape(arn)}</Arn><UserId>AIDAEXAMPLE</UserId><Account>{acct}</Account>"
