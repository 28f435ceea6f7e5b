"""The fault injector for the AWS source fault tests: real error responses on the boto3 path.

Every AWS client the sources build gets a ``before-send`` hook (botocore's
event system) that answers scripted calls with a real HTTP error response:
503 ``SlowDown``, 500 ``InternalError``, 400 ``ThrottlingException``, 403
``AccessDenied``.  botocore parses those bodies and its standard retry mode
retries them for real; only the retry *delay* is set to zero so the storms
run in milliseconds.  Calls not scripted go through to moto.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from diagnostics.sources import aws_common

# -- the fault injector -------------------------------------------------------------------


class RawBody:
    """The raw body botocore reads from an ``AWSResponse``."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@dataclass(frozen=True)
class Fault:
    """One scripted HTTP answer: status, headers and body, as the service would send them."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def s3_error(code: str, status: int, message: str = "injected") -> Fault:
    """An S3 (REST-XML) error document."""
    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
    return Fault(status, body, (("Content-Type", "application/xml"),))


def json_error(code: str, status: int, query_code: str | None = None) -> Fault:
    """An AWS JSON-protocol error (SQS and CloudWatch Logs), with SQS's query-compatible header."""
    body = json.dumps({"__type": f"com.amazonaws.coral#{code}", "message": "injected"}).encode()
    headers = [("Content-Type", "application/x-amz-json-1.0")]
    if query_code is not None:
        headers.append(("x-amzn-query-error", f"{query_code};Sender"))
    return Fault(status, body, tuple(headers))


SLOW_DOWN = s3_error("SlowDown", 503, "Please reduce your request rate.")
S3_500 = s3_error("InternalError", 500, "We encountered an internal error. Please try again.")
S3_DENIED = s3_error("AccessDenied", 403, "Access Denied")
SQS_THROTTLED = json_error("ThrottlingException", 400, "ThrottlingException")
SQS_500 = json_error("InternalFailure", 500, "InternalFailure")
SQS_DENIED = json_error("AccessDeniedException", 400, "AccessDenied")
LOGS_THROTTLED = json_error("ThrottlingException", 400)
LOGS_DENIED = json_error("AccessDeniedException", 400)
#: Attempts botocore makes per call (make_client: standard mode, total_max_attempts=5).
ATTEMPTS = 5

#: A scripted step: a Fault, None (pass through to moto), or a function that
#: builds the answer from the outgoing request (or returns None to pass).
Step = Fault | None | Callable[[Any], Any]


class Faults:
    """Scripted answers per operation, served from botocore's ``before-send`` event."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: dict[str, list[Step]] = {}
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self.after_call: dict[str, Callable[[dict[str, Any]], None]] = {}

    def script(self, operation: str, steps: list[Step]) -> None:
        with self._lock:
            self._script.setdefault(operation, []).extend(steps)

    def pending(self, operation: str) -> int:
        with self._lock:
            return len(self._script.get(operation, []))

    def before_send(self, request: Any, event_name: str, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        operation = event_name.rsplit(".", 1)[-1]
        with self._lock:
            self.calls[operation] += 1
            steps = self._script.get(operation)
            step = steps.pop(0) if steps else None
        if callable(step):
            step = step(request)
        if step is None:
            return None
        url = request.url
        # botocore calls every before-send handler, moto's stub included: point
        # the answered request where moto matches nothing, so the fault really
        # is "the service refused" and not "it acted, then answered an error".
        request.url = "https://fault-injected.invalid/"
        if isinstance(step, Fault):
            self.injected[operation] += 1
            return AWSResponse(url, step.status, dict(step.headers), RawBody(step.body))
        return step  # an AWSResponse built by the step

    def after(self, parsed: dict[str, Any], event_name: str, **_: Any) -> None:
        hook = self.after_call.get(event_name.rsplit(".", 1)[-1])
        if hook is not None:
            hook(parsed)


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Faults:
    """Every client the sources build answers scripted calls with faults; retries don't wait."""
    from botocore.retries import standard

    plan = Faults()
    real = aws_common.make_client

    def make_client(service: str, opts: aws_common.AwsOptions, **kw: Any) -> Any:
        client = real(service, opts, **kw)
        # First, so the hook answers before moto's own before-send stub does.
        client.meta.events.register_first("before-send", plan.before_send)
        client.meta.events.register("after-call", plan.after)
        return client

    monkeypatch.setattr(aws_common, "make_client", make_client)
    # The retry decision, quota and attempt count stay botocore's; only the
    # jittered sleep between attempts is zero.
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0.0)
    return plan


def until(pred: Callable[[], bool], timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def warnings_named(logs: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [e for e in logs if e.get("event") == event and e.get("log_level") == "warning"]
