"""A loopback HTTP double of CloudTrail ``LookupEvents`` for tests and benchmarks.

It speaks CloudTrail's JSON 1.1 protocol (POST ``/`` with ``X-Amz-Target:
com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`` and
``Content-Type: application/x-amz-json-1.1``; errors are HTTP 400 with
``{"__type": ..., "message": ...}``), so a real boto3 ``cloudtrail`` client
pointed at ``endpoint_url`` runs its whole path: SigV4 signing, paginating
with ``NextToken``, parsing errors and retrying throttling.  moto does not
implement LookupEvents, hence this double.

    with LookupEventsDouble(page_size=2) as ct:
        ct.add_record(lookup_record("RunInstances", "ec2.amazonaws.com", when, ...))
        ct.fail_next("throttle", 2)
        ...
        ct.calls   # every request, with its arrival time and region

Like the API (CloudTrail API reference, LookupEvents): events are answered
newest first, per region (the region of the request's SigV4 scope), within
``StartTime``..``EndTime``, filtered by at most one lookup attribute, at most
50 per page; a caller faster than 2 calls per second per region gets
``ThrottlingException``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from diagnostics.testing.lookup_events_samples import lookup_record
from diagnostics.testing.loopback import Fault, FaultQueue, LoopbackServer

__all__ = ["LookupCall", "LookupEventsDouble", "lookup_record"]

TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
OPERATION = "LookupEvents"

FaultKind = Literal["throttle", "access_denied", "internal_error", "hang"]
#: kind -> (HTTP status, ``__type``); messages are built per call.
_FAULTS: dict[str, tuple[int, str]] = {
    "throttle": (400, "ThrottlingException"),
    "access_denied": (400, "AccessDeniedException"),
    "internal_error": (500, "InternalFailure"),
}
#: LookupAttribute keys and how each reads an event (CloudTrail API reference).
ATTRIBUTE_KEYS = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)

# Linear: literal prefix, bounded classes separated by literals.
_CREDENTIAL = re.compile(r"Credential=([A-Za-z0-9]{1,128})/[0-9]{8}/([a-z0-9-]{1,32})/")


@dataclass(frozen=True, slots=True)
class LookupCall:
    """One request the double received, in arrival order."""

    region: str
    access_key_id: str | None
    #: ``time.monotonic()`` when the request arrived.
    received_at: float
    start_time: float | None
    end_time: float | None
    next_token: str | None
    attributes: tuple[tuple[str, str], ...]
    status: int
    error_code: str | None
    #: Events in the answer (0 for an error).
    returned: int = 0


@dataclass(frozen=True, slots=True)
class _Stored:
    region: str
    time: float
    fields: Mapping[str, Any]
    text: str


class LookupEventsDouble(LoopbackServer):
    """A programmable CloudTrail LookupEvents endpoint on ``127.0.0.1``.

    ``rate`` calls per second per region are answered; a call arriving when
    ``rate`` others were answered in the last second (less ``tolerance``, for
    loopback scheduling jitter) gets ``ThrottlingException``.
    """

    NAME = "lookup-events-double"

    def __init__(
        self,
        *,
        page_size: int = 50,
        rate: float = 2.0,
        tolerance: float = 0.05,
        caller_arn: str = "arn:aws:sts::123456789012:assumed-role/authz-diag/cli",
    ) -> None:
        super().__init__()
        self.page_size = page_size
        self.rate = rate
        self.tolerance = tolerance
        self.caller_arn = caller_arn
        self._lock = threading.Lock()
        self._events: list[_Stored] = []
        self._calls: list[LookupCall] = []
        self._answered: dict[str, list[float]] = {}
        self._faults = FaultQueue()

    # -- programming ---------------------------------------------------------

    def add_record(self, record: Mapping[str, Any], *, raw: str | None = None) -> None:
        """Serve ``record`` in its ``awsRegion``; ``raw`` replaces its CloudTrailEvent text."""
        when = datetime.strptime(str(record["eventTime"]), "%Y-%m-%dT%H:%M:%SZ")
        identity = record.get("userIdentity") or {}
        issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
        fields = {
            "EventId": record["eventID"],
            "EventName": record["eventName"],
            "ReadOnly": str(record.get("readOnly", False)).lower(),
            "AccessKeyId": identity.get("accessKeyId", ""),
            "EventTime": when.replace(tzinfo=UTC).timestamp(),
            "EventSource": record["eventSource"],
            "Username": identity.get("userName") or issuer.get("userName") or "",
            "Resources": [],
        }
        text = raw if raw is not None else orjson.dumps(record).decode()
        stored = _Stored(str(record["awsRegion"]), float(fields["EventTime"]), fields, text)
        with self._lock:
            self._events.append(stored)

    def fail_next(self, kind: FaultKind, count: int | None = 1) -> None:
        """Answer the next ``count`` calls with a fault (``None``: until cleared)."""
        if kind != "hang" and kind not in _FAULTS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {sorted(_FAULTS)} or 'hang'")
        self._faults.add(Fault(kind, count, OPERATION))

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- observing -----------------------------------------------------------

    @property
    def calls(self) -> list[LookupCall]:
        """A copy of the call log, in arrival order."""
        with self._lock:
            return list(self._calls)

    def call_count(self) -> int:
        with self._lock:
            return len(self._calls)

    # -- request handling (server threads) -----------------------------------

    def handle_json(
        self, target: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, bytes] | None:
        received = time.monotonic()
        m = _CREDENTIAL.search(headers.get("authorization", ""))
        key, region = (m.group(1), m.group(2)) if m else (None, "")
        try:
            params = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError:
            params = None
        base: dict[str, Any] = {
            "region": region,
            "access_key_id": key,
            "received_at": received,
            "start_time": None,
            "end_time": None,
            "next_token": None,
            "attributes": (),
        }
        if not isinstance(params, dict):
            return self._error(base, 400, "SerializationException", "body is not a JSON object")
        base["start_time"] = _number(params.get("StartTime"))
        base["end_time"] = _number(params.get("EndTime"))
        base["next_token"] = params.get("NextToken")
        attrs = params.get("LookupAttributes") or []
        base["attributes"] = tuple(
            (str(a.get("AttributeKey")), str(a.get("AttributeValue")))
            for a in attrs
            if isinstance(a, dict)
        )
        if target != TARGET:
            return self._error(base, 400, "UnknownOperationException", f"unknown target {target}")
        if key is None:
            return self._error(
                base, 400, "MissingAuthenticationTokenException", "Missing Authentication Token"
            )
        fault = self._faults.take(OPERATION)
        if fault is not None and fault.kind == "hang":
            self._record(base, 0, "hang")
            self._stopping.wait(30.0)
            return None
        if fault is not None:
            status, code = _FAULTS[fault.kind]
            return self._error(base, status, code, self._fault_text(fault.kind))
        if self._too_fast(region, received):
            return self._error(base, 400, "ThrottlingException", "Rate exceeded")
        return self._lookup(base, params)

    def _fault_text(self, kind: str) -> str:
        if kind == "access_denied":
            return (
                f"User: {self.caller_arn} is not authorized to perform: cloudtrail:LookupEvents "
                "because no identity-based policy allows the cloudtrail:LookupEvents action"
            )
        return "Rate exceeded" if kind == "throttle" else "An internal error occurred"

    def _too_fast(self, region: str, now: float) -> bool:
        """Record an answer at ``now`` unless ``rate`` were answered in the last second."""
        window = 1.0 - self.tolerance
        with self._lock:
            recent = [t for t in self._answered.get(region, []) if now - t < window]
            if len(recent) >= self.rate:
                self._answered[region] = recent
                return True
            recent.append(now)
            self._answered[region] = recent
            return False

    def _lookup(self, base: dict[str, Any], params: Mapping[str, Any]) -> tuple[int, bytes]:
        attrs = base["attributes"]
        if len(attrs) > 1:
            return self._error(
                base,
                400,
                "InvalidLookupAttributesException",
                "You cannot specify more than one lookup attribute.",
            )
        if attrs and attrs[0][0] not in ATTRIBUTE_KEYS:
            return self._error(
                base,
                400,
                "InvalidLookupAttributesException",
                f"AttributeKey must be one of {', '.join(ATTRIBUTE_KEYS)}",
            )
        size = params.get("MaxResults", self.page_size)
        if not isinstance(size, int) or not 1 <= size <= 50:
            return self._error(
                base, 400, "InvalidMaxResultsException", "MaxResults must be from 1 to 50"
            )
        size = min(size, self.page_size)
        now = time.time()
        start = base["start_time"] if base["start_time"] is not None else now - 90 * 86400
        end = base["end_time"] if base["end_time"] is not None else now
        if start > end:
            return self._error(
                base,
                400,
                "InvalidTimeRangeException",
                "Start time must be earlier than or equal to end time",
            )
        query = _query_key(base["region"], start, end, attrs)
        offset = 0
        if base["next_token"] is not None:
            parsed = _token_offset(str(base["next_token"]), query)
            if parsed is None:
                return self._error(
                    base, 400, "InvalidNextTokenException", "Invalid NextToken provided"
                )
            offset = parsed
        with self._lock:
            matching = [
                s
                for s in self._events
                if s.region == base["region"]
                and start <= s.time <= end
                and (not attrs or _matches(s, *attrs[0]))
            ]
        matching.sort(key=lambda s: s.time, reverse=True)
        page = matching[offset : offset + size]
        answer: dict[str, Any] = {"Events": [{**s.fields, "CloudTrailEvent": s.text} for s in page]}
        if offset + size < len(matching):
            answer["NextToken"] = _token(query, offset + size)
        self._record(base, 200, None, returned=len(page))
        return 200, orjson.dumps(answer)

    def _record(
        self, base: Mapping[str, Any], status: int, code: str | None, *, returned: int = 0
    ) -> None:
        call = LookupCall(**base, status=status, error_code=code, returned=returned)
        with self._lock:
            self._calls.append(call)

    def _error(
        self, base: Mapping[str, Any], status: int, code: str, message: str
    ) -> tuple[int, bytes]:
        self._record(base, status, code)
        return status, orjson.dumps({"__type": code, "message": message})


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _matches(stored: _Stored, key: str, value: str) -> bool:
    return str(stored.fields.get(key, "")) == value


def _query_key(region: str, start: float, end: float, attrs: tuple[tuple[str, str], ...]) -> str:
    return hashlib.sha256(repr((region, start, end, attrs)).encode()).hexdigest()[:16]


def _token(query: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{query}:{offset}".encode()).decode()


def _token_offset(token: str, query: str) -> int | None:
    """The offset a token names, or None when it belongs to another query or is garbage."""
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    owner, _, offset = text.partition(":")
    if owner != query or not offset.isdigit():
        return None
    return int(offset)
