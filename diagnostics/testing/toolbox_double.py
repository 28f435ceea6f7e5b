"""A loopback HTTP double of IAM Access Troubleshooter (botocore service ``iam-toolbox``).

It speaks the service's rest-json protocol as botocore's model describes it:

- ``GET /authorization-details/{authorizationId}[?nextToken=...]`` answers
  ``GetRequestAuthorizationDetails`` (``requestContext``, ``evaluations``,
  ``policies``, ``nextToken`` while more evaluations remain);
- ``GET /authorization-details/{authorizationId}/policy?policyUri=...``
  answers ``GetRequestAuthorizationPolicy`` (``policyDocument``);
- errors carry ``x-amzn-ErrorType`` and ``{"message": ...}``: the modelled
  ``AccessDeniedException`` 403, ``ResourceNotFoundException`` 404,
  ``ValidationException`` 400, ``InternalServerException`` 500, and
  ``ThrottlingException`` 429 (which botocore retries).

So a real boto3 ``iam-toolbox`` client pointed at ``endpoint_url`` runs its
whole path: SigV4 signing (signing name ``iam``), retries, error parsing,
pagination.  Answers are checked against the model when added.

    with ToolboxDouble(page_size=1) as tb:
        tb.add_details(ID, scp_deny_details(evaluations=3), SCP_DOCUMENTS, account=ACCOUNT)
        tb.fail_next("throttle", 2)
        ...

Like the real service, details are kept for ``retention`` seconds (24 hours)
and answered only to callers of the recorded organization, or of the
recorded account when no organization was recorded: other callers get
``ResourceNotFoundException``.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from diagnostics.testing.loopback import Fault, FaultQueue, LoopbackServer
from diagnostics.testing.toolbox_samples import check_shape

DETAILS = "GetRequestAuthorizationDetails"
POLICY = "GetRequestAuthorizationPolicy"

FaultKind = Literal[
    "throttle", "access_denied", "not_found", "validation", "internal_error", "hang"
]
#: kind -> (HTTP status, error type); messages are built per call.
_FAULTS: dict[str, tuple[int, str]] = {
    "throttle": (429, "ThrottlingException"),
    "access_denied": (403, "AccessDeniedException"),
    "not_found": (404, "ResourceNotFoundException"),
    "validation": (400, "ValidationException"),
    "internal_error": (500, "InternalServerException"),
}

# Linear: literal prefix, one class run, a literal.
_CREDENTIAL = re.compile(r"Credential=([A-Za-z0-9]+)/[0-9]{8}/([a-z0-9-]{1,32})/([a-z0-9-]{1,64})/")
# Linear: anchored literals around bounded classes without "/".
_PATH = re.compile(r"^/authorization-details/([^/]{0,1024})(/policy)?$")
# Linear: anchored class (botocore's AuthorizationId pattern).
_ID = re.compile(r"^[0-9a-z]{1,256}$")

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolboxCall:
    """One request the double received, in arrival order."""

    operation: str
    authorization_id: str
    policy_uri: str | None
    next_token: str | None
    access_key_id: str | None
    account: str | None
    #: SigV4 credential scope: the region and the signing name (``iam``).
    region: str | None
    signing_name: str | None
    received_at: float
    status: int = 0
    error_code: str | None = None


@dataclass(slots=True)
class _Entry:
    answer: JSON
    documents: dict[str, Any]
    account: str | None
    organization: str | None
    created_at: float


class ToolboxDouble(LoopbackServer):
    """A programmable iam-toolbox endpoint on ``127.0.0.1`` (a free port).

    ``page_size`` evaluations go in each details page (``None``: one page).
    ``latency`` seconds are added to every answer.  ``key_resolver`` maps an
    access key id to ``(account, organization)`` for the membership rule;
    callers it does not know are treated as members.
    """

    NAME = "toolbox-double"

    def __init__(
        self,
        *,
        page_size: int | None = None,
        latency: float = 0.0,
        hang_seconds: float = 30.0,
        retention: float = 24 * 3600.0,
        caller_arn: str = "arn:aws:iam::123456789012:user/authz-diag",
        clock: Callable[[], float] = time.time,
        key_resolver: Callable[[str], tuple[str, str | None] | None] | None = None,
    ) -> None:
        super().__init__()
        if page_size is not None and page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.page_size = page_size
        self.latency = latency
        self.hang_seconds = hang_seconds
        self.retention = retention
        self.caller_arn = caller_arn
        self._clock = clock
        self.key_resolver = key_resolver
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._keys: dict[str, tuple[str, str | None]] = {}
        self._faults = FaultQueue()
        self._calls: list[ToolboxCall] = []

    # -- programming ---------------------------------------------------------

    def add_details(
        self,
        authorization_id: str,
        answer: Mapping[str, Any],
        documents: Mapping[str, Any] | None = None,
        *,
        account: str | None = None,
        organization: str | None = None,
        created_at: float | None = None,
    ) -> None:
        """Serve ``answer`` (one whole details answer) and the policy ``documents`` by URI."""
        body = {k: v for k, v in answer.items() if k != "nextToken"}
        check_shape(body, "GetRequestAuthorizationDetailsOutput")
        for doc in (documents or {}).values():
            check_shape({"policyDocument": doc}, "GetRequestAuthorizationPolicyOutput")
        with self._lock:
            self._entries[authorization_id] = _Entry(
                dict(body),
                dict(documents or {}),
                account,
                organization,
                self._clock() if created_at is None else created_at,
            )

    def register_key(
        self, access_key_id: str, account: str, organization: str | None = None
    ) -> None:
        """Tell the double which account (and organization) an access key id belongs to."""
        with self._lock:
            self._keys[access_key_id] = (account, organization)

    def fail_next(
        self,
        kind: FaultKind,
        count: int | None = 1,
        *,
        operation: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``count`` calls (of ``operation``; ``None``: any) with a fault.

        ``count=None`` keeps the fault until ``clear_faults``.  ``hang`` holds
        the request for ``hang_seconds`` (or until stop) and drops it.
        """
        if kind != "hang" and kind not in _FAULTS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {sorted(_FAULTS)} or 'hang'")
        self._faults.add(Fault(kind, count, operation, message=message))

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- observing -----------------------------------------------------------

    @property
    def calls(self) -> list[ToolboxCall]:
        with self._lock:
            return list(self._calls)

    def call_count(self, operation: str | None = DETAILS) -> int:
        with self._lock:
            return sum(1 for c in self._calls if operation is None or c.operation == operation)

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    # -- request handling (server threads) -------------------------------------

    def handle_get(
        self, path: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, Mapping[str, str], bytes] | None:
        received = time.monotonic()
        m = _PATH.match(path)
        if m is None:
            return _json(404, {"message": f"no route for {path}"}, "UnknownOperationException")
        cred = _CREDENTIAL.search(headers.get("authorization", ""))
        key = cred.group(1) if cred else None
        member = self._member(key)
        call = ToolboxCall(
            operation=POLICY if m.group(2) else DETAILS,
            authorization_id=m.group(1),
            policy_uri=query.get("policyUri"),
            next_token=query.get("nextToken"),
            access_key_id=key,
            account=member[0] if member else None,
            region=cred.group(2) if cred else None,
            signing_name=cred.group(3) if cred else None,
            received_at=received,
        )
        if self.latency > 0:
            self._stopping.wait(self.latency)
        fault = self._faults.take(call.operation)
        if fault is not None and fault.kind == "hang":
            self._record(call, 0, "hang")
            self._stopping.wait(self.hang_seconds)
            return None
        if fault is not None:
            return self._error(
                call, fault.kind, fault.message or self._fault_text(fault.kind, call)
            )
        if key is None or call.signing_name != "iam":
            return self._error(
                call,
                "access_denied",
                "Request is missing a SigV4 signature for service 'iam'.",
            )
        if not _ID.match(call.authorization_id):
            return self._error(
                call,
                "validation",
                "1 validation error detected: Value at 'authorizationId' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: [0-9a-z]+",
            )
        entry = self._visible(call.authorization_id, member)
        if entry is None:
            return self._error(call, "not_found", self._fault_text("not_found", call))
        if call.operation == POLICY:
            return self._policy(call, entry)
        return self._page(call, entry)

    def _member(self, key: str | None) -> tuple[str, str | None] | None:
        if key is None:
            return None
        with self._lock:
            known = self._keys.get(key)
        if known is None and self.key_resolver is not None:
            known = self.key_resolver(key)
        return known

    def _visible(
        self, authorization_id: str, member: tuple[str, str | None] | None
    ) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(authorization_id)
        if entry is None or self._clock() - entry.created_at > self.retention:
            return None
        if member is None:
            return entry  # a caller the double was not told about counts as a member
        account, organization = member
        if entry.organization is not None:
            return entry if organization == entry.organization else None
        return entry if entry.account in (None, account) else None

    def _page(self, call: ToolboxCall, entry: _Entry) -> tuple[int, Mapping[str, str], bytes]:
        evaluations = entry.answer["evaluations"]
        start: int | None = 0
        if call.next_token is not None:
            start = _token_offset(call.next_token, call.authorization_id)
        if start is None or start > len(evaluations):
            return self._error(call, "validation", "The nextToken is not valid.")
        size = self.page_size or max(1, len(evaluations))
        body = dict(entry.answer)
        body["evaluations"] = evaluations[start : start + size]
        if start + size < len(evaluations):
            body["nextToken"] = f"{call.authorization_id}.{start + size}"
        self._record(call, 200, None)
        return _json(200, body)

    def _policy(self, call: ToolboxCall, entry: _Entry) -> tuple[int, Mapping[str, str], bytes]:
        if not call.policy_uri:
            return self._error(call, "validation", "policyUri is required.")
        if call.policy_uri not in entry.documents:
            return self._error(
                call, "not_found", f"No policy {call.policy_uri} was evaluated for this request."
            )
        self._record(call, 200, None)
        return _json(200, {"policyDocument": entry.documents[call.policy_uri]})

    def _fault_text(self, kind: str, call: ToolboxCall) -> str:
        if kind == "access_denied":
            return (
                f"User: {self.caller_arn} is not authorized to perform: iam:{call.operation} "
                "because no identity-based policy allows the "
                f"iam:{call.operation} action"
            )
        if kind == "not_found":
            return f"Authorization details for {call.authorization_id} were not found."
        if kind == "throttle":
            return "Rate exceeded"
        if kind == "validation":
            return "The request is not valid."
        return "An internal error occurred."

    def _record(self, call: ToolboxCall, status: int, code: str | None) -> None:
        with self._lock:
            self._calls.append(dataclasses.replace(call, status=status, error_code=code))

    def _error(
        self, call: ToolboxCall, kind: str, message: str
    ) -> tuple[int, Mapping[str, str], bytes]:
        status, code = _FAULTS[kind]
        self._record(call, status, code)
        return _json(status, {"message": message}, code)


def _token_offset(token: str, authorization_id: str) -> int | None:
    prefix, _, offset = token.rpartition(".")
    if prefix != authorization_id or not offset.isdigit():
        return None
    return int(offset)


def _json(
    status: int, body: Mapping[str, Any], error_type: str | None = None
) -> tuple[int, Mapping[str, str], bytes]:
    headers = {"Content-Type": "application/json"}
    if error_type is not None:
        headers["x-amzn-ErrorType"] = f"{error_type}:http://internal.amazon.com/coral/"
    return status, headers, orjson.dumps(body)
