"""Decode encoded authorization messages with STS, concurrently and politely.

``Decoder.decode`` never raises for a failed decode: the failure is
diagnosed anyway, and ``DecodeResult.error`` says what went wrong and what
to do.  Failures that cannot or need not be decoded (already decoded, no
blob, truncated, malformed) never reach STS, and a scan with nothing to
decode never imports boto3.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

from diagnostics.context import DecodedMessageError, parse_decoded
from diagnostics.decode import messages as m
from diagnostics.decode.cache import DecodeCache, blob_key
from diagnostics.decode.clients import StsClients
from diagnostics.decode.settings import DecodeSettings
from diagnostics.logconfig import get_logger
from diagnostics.model import DecodeResult, Failure
from diagnostics.ratelimit import TokenBucket

log = get_logger()

_THROTTLING = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)
_DENIED = frozenset({"AccessDenied", "AccessDeniedException"})
_INVALID = frozenset({"InvalidAuthorizationMessageException", "ValidationError"})
_EXPIRED_CREDENTIALS = frozenset({"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId"})


@dataclass(slots=True)
class DecodeStats:
    """Counters of one ``Decoder`` (read them; the decoder updates them)."""

    #: DecodeAuthorizationMessage operations started (each may retry inside botocore).
    calls: int = 0
    cache_hits: int = 0
    decoded: int = 0
    #: Failures that needed no STS call (already decoded, no blob).
    skipped: int = 0
    #: Failed decodes by kind: no_credentials, access_denied, role_denied,
    #: invalid, throttled, unreachable, service_error, truncated, malformed, other.
    errors: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Flight:
    """One STS call in progress; later askers for the same blob wait for it."""

    done: threading.Event = field(default_factory=threading.Event)
    result: DecodeResult = field(default_factory=DecodeResult)


class Decoder:
    """Decodes ``encoded`` failures; see ``DecodeSettings`` for the knobs.

    Thread-safe.  ``bucket`` and ``clock`` (wall time, for credential expiry)
    are injectable for tests; by default the bucket allows ``max_per_second``
    with a burst of one, so no one-second window sees more than that plus one.
    """

    def __init__(
        self,
        settings: DecodeSettings,
        cache: DecodeCache | None = None,
        *,
        bucket: TokenBucket | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.cache = cache if cache is not None else DecodeCache()
        self.stats = DecodeStats()
        self._bucket = bucket or TokenBucket(settings.max_per_second, burst=1.0)
        self._clients = StsClients(settings, self._bucket, clock=clock)
        self._lock = threading.Lock()
        self._inflight: dict[str, _Flight] = {}
        self._pool: ThreadPoolExecutor | None = None

    # -- public API --------------------------------------------------------------

    @property
    def assume_role_calls(self) -> dict[str, int]:
        """AssumeRole calls made so far, by role ARN."""
        return dict(self._clients.assume_calls)

    def decode(self, failure: Failure) -> DecodeResult:
        """Decode one failure; never raises for STS trouble."""
        local = self._without_sts(failure)
        if local is not None:
            return local
        blob = failure.encoded_message
        assert blob is not None
        with self._lock:
            flight = self._inflight.get(blob)
            leader = flight is None
            if flight is None:
                flight = self._inflight[blob] = _Flight()
        if not leader:
            flight.done.wait()
            self._count(cache_hit=True)
            return replace(flight.result, cached=True)
        try:
            flight.result = self._decode_remote(failure, blob)
        finally:
            with self._lock:
                del self._inflight[blob]
            flight.done.set()
        return flight.result

    def decode_many(self, failures: Iterable[Failure]) -> Iterator[tuple[Failure, DecodeResult]]:
        """Decode concurrently; yield ``(failure, result)`` in input order.

        At most ``4 * concurrency`` failures are held at once, so memory stays
        flat however long the input is.
        """
        window = self.settings.concurrency * 4
        pending: deque[tuple[Failure, Future[DecodeResult]]] = deque()
        try:
            for failure in failures:
                local = self._without_sts(failure)
                if local is not None:
                    done: Future[DecodeResult] = Future()
                    done.set_result(local)
                    pending.append((failure, done))
                else:
                    pending.append((failure, self._executor().submit(self.decode, failure)))
                while len(pending) >= window:
                    first, fut = pending.popleft()
                    yield first, fut.result()
            while pending:
                first, fut = pending.popleft()
                yield first, fut.result()
        finally:
            for _, fut in pending:  # the caller stopped early
                fut.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Decoder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.settings.concurrency, thread_name_prefix="decode"
                )
            return self._pool

    def _count(
        self, *, call: bool = False, cache_hit: bool = False, ok: bool = False, skip: bool = False
    ) -> None:
        with self._lock:
            self.stats.calls += call
            self.stats.cache_hits += cache_hit
            self.stats.decoded += ok
            self.stats.skipped += skip

    def _error(self, kind: str, text: str) -> DecodeResult:
        with self._lock:
            self.stats.errors[kind] = self.stats.errors.get(kind, 0) + 1
        return DecodeResult(error=text)

    def _without_sts(self, failure: Failure) -> DecodeResult | None:
        """The result when no STS call is needed (or the cache has it), else None."""
        if failure.kind == "decoded" or failure.decoded is not None:
            self._count(skip=True)
            return DecodeResult(decoded=failure.decoded)
        blob = failure.encoded_message
        if failure.truncated and failure.kind in ("encoded", "cloudtrail"):
            # A cut or empty blob (even one too short to keep) is never sent to STS.
            return self._error(m.TRUNCATED, m.truncated_text())
        if not blob:
            self._count(skip=True)
            return DecodeResult()
        problem = m.local_problem(blob)
        if problem is not None:
            return self._error(*problem)
        entry = self.cache.get(blob)
        if entry is not None:
            self._count(cache_hit=True)
            return DecodeResult(decoded=entry.decoded, error=entry.error, cached=True)
        return None

    def _decode_remote(self, failure: Failure, blob: str) -> DecodeResult:
        try:
            return self._call_sts(failure, blob, retry_expired=True)
        except m.DecodeFailed as exc:
            log.warning("decode_failed", kind=exc.kind, blob_sha256=blob_key(blob)[:16])
            return self._error(exc.kind, str(exc))

    def _call_sts(self, failure: Failure, blob: str, *, retry_expired: bool) -> DecodeResult:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionError,
            HTTPClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        try:
            client, role_arn = self._clients.client_for(failure.account_id)
        except ClientError as exc:  # AssumeRole throttled or failing on the AWS side
            raise self._classify(exc, None) from None
        except (NoCredentialsError, PartialCredentialsError):
            raise m.DecodeFailed(m.NO_CREDENTIALS, m.no_credentials_text()) from None
        except (ConnectionError, HTTPClientError) as exc:
            raise self._unreachable(exc) from None
        self._count(call=True)
        try:
            answer = client.decode_authorization_message(EncodedMessage=blob)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _EXPIRED_CREDENTIALS and role_arn is not None and retry_expired:
                self._clients.invalidate(failure.account_id)
                return self._call_sts(failure, blob, retry_expired=False)
            failed = self._classify(exc, role_arn)
            if failed.kind == m.INVALID:
                self.cache.put_negative(blob, str(failed), self.settings.negative_ttl)
            raise failed from None
        except (NoCredentialsError, PartialCredentialsError):
            raise m.DecodeFailed(m.NO_CREDENTIALS, m.no_credentials_text()) from None
        except (ConnectionError, HTTPClientError) as exc:
            # Connect and read timeouts and dropped connections, after botocore's retries.
            raise self._unreachable(exc) from None
        except BotoCoreError as exc:
            raise m.DecodeFailed(m.OTHER, f"decoding failed: {type(exc).__name__}") from None
        try:
            decoded = parse_decoded(answer["DecodedMessage"])
        except (KeyError, DecodedMessageError) as exc:
            raise m.DecodeFailed(
                m.OTHER, f"STS answered with something that is not a decoded message ({exc})"
            ) from None
        self.cache.put_decoded(blob, decoded)
        self._count(ok=True)
        return DecodeResult(decoded=decoded)

    def _unreachable(self, exc: Exception) -> m.DecodeFailed:
        text = m.unreachable_text(
            self.settings.endpoint_url, type(exc).__name__, self.settings.timeout
        )
        return m.DecodeFailed(m.UNREACHABLE, text)

    def _classify(self, exc: Any, role_arn: str | None) -> m.DecodeFailed:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "ClientError"))
        attempts = int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) + 1
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        if code in _THROTTLING:
            return m.DecodeFailed(
                m.THROTTLED, m.throttled_text(attempts, self.settings.max_per_second)
            )
        if code in _DENIED:
            caller = None if role_arn else self._clients.caller_arn()
            return m.DecodeFailed(m.ACCESS_DENIED, m.access_denied_text(caller, role_arn))
        if code in _INVALID:
            return m.DecodeFailed(m.INVALID, m.invalid_text())
        if status >= 500:
            return m.DecodeFailed(m.SERVICE_ERROR, m.service_error_text(code, attempts))
        return m.DecodeFailed(m.OTHER, m.other_error_text(code, str(error.get("Message", ""))))
