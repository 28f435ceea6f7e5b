"""Resolving authorization IDs in ``watch``: as they arrive, within the batch deadline.

Details are kept about 24 hours, so the daemon resolves each ID as its
failure arrives.  Resolves start on the resolver's pool before the batch is
decoded, so STS and iam-toolbox are asked at the same time, and the main
thread waits for both only until the batch deadline (pinging the watchdog).
An ID not answered by then, throttled after botocore's retries, unreachable,
or met while the breaker is open is *deferred*: the failure is alerted at
once without its details (``authorization_error`` says so), and the ID is
retried in the background with backoff; when it resolves, the failure is
diagnosed again and alerted with the layer that denied.  Retries ride on
later batches and on the loop's idle ticks (``retry_due``).

A batch whose resolves hit the deadline, or saw iam-toolbox unreachable
three times with nothing resolved, opens a breaker for ``cooldown`` seconds:
IDs then go straight to the retry queue instead of paying the deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from diagnostics.logconfig import get_logger
from diagnostics.model import DecodeResult, Failure
from diagnostics.troubleshooter import messages as m
from diagnostics.troubleshooter.combined import with_resolution
from diagnostics.troubleshooter.resolver import Resolver, ResolveResult
from diagnostics.troubleshooter.unresolved import wants_resolving

log = get_logger()

HEARTBEAT_EVERY = 0.5
COOLDOWN = 30.0
UNREACHABLE_TRIP = 3
#: First retry after this many seconds, doubling up to ``MAX_BACKOFF``.
RETRY_AFTER = 15.0
MAX_BACKOFF = 600.0
#: Attempts before a deferred ID is given up (about 40 minutes of backoff).
MAX_ATTEMPTS = 8
#: Deferred IDs held at once; the oldest is dropped past this (memory stays flat).
MAX_PENDING = 10_000
#: Errors worth a retry: they say nothing about the ID.
RETRYABLE = frozenset({m.THROTTLED, m.UNREACHABLE, m.SERVICE_ERROR})


@dataclass(slots=True)
class _Pending:
    failure: Failure
    decoded: DecodeResult
    attempts: int
    due_at: float
    future: Future[ResolveResult] | None


class DeferringResolver:
    """Wraps the watch decoder (a ``DeadlineDecoder``) and resolves IDs beside it.

    ``decode_many`` yields the batch's pairs in order, then pairs for deferred
    failures whose IDs have now resolved.  Thread-compatible: only the main
    thread calls it.
    """

    def __init__(
        self,
        inner: Any,
        resolver: Resolver,
        *,
        deadline: float,
        heartbeat: Callable[[], None] = lambda: None,
        cooldown: float = COOLDOWN,
        retry_after: float = RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.resolver = resolver
        self.deadline = deadline
        self.heartbeat = heartbeat
        self.cooldown = cooldown
        self.retry_after = retry_after
        self._clock = clock
        self._open_until = float("-inf")
        self._pending: list[_Pending] = []
        self._wake = threading.Event()
        #: Counters: deferred IDs, IDs resolved on a retry, IDs given up.
        self.deferred = 0
        self.recovered = 0
        self.abandoned = 0

    @property
    def stats(self) -> Any:
        return self.inner.stats if self.inner is not None else None

    @property
    def pending(self) -> int:
        return len(self._pending)

    def breaker_open(self) -> bool:
        return self._clock() < self._open_until

    def retry_due(self) -> bool:
        """A deferred ID (or decode) may be retried, or has landed, now: worth an empty batch."""
        inner_due = getattr(self.inner, "retry_due", None)
        if inner_due is not None and inner_due():
            return True
        if not self._pending:
            return False
        now = self._clock()
        # An open breaker stops new calls, not the collection of finished ones.
        submit = not self.breaker_open()
        return any(
            p.future.done() if p.future is not None else submit and p.due_at <= now
            for p in self._pending
        )

    def close(self) -> None:
        self.resolver.close()
        if self.inner is not None:
            self.inner.close()

    # -- one batch -------------------------------------------------------------

    def decode_many(self, failures: Iterable[Failure]) -> Iterator[tuple[Failure, DecodeResult]]:
        batch = list(failures)
        end = self._clock() + self.deadline
        open_now = self.breaker_open()
        futures: list[Future[ResolveResult] | None] = []
        for f in batch:
            if not wants_resolving(f):
                futures.append(None)
            elif open_now:
                futures.append(self._local_or_none(f))
            else:
                futures.append(self.resolver.submit(f))
        pairs = list(self.inner.decode_many(batch)) if self.inner is not None else _bare(batch)
        # The decoder follows the batch's pairs with deferred decodes STS answered since.
        pairs, decoded_later = pairs[: len(batch)], pairs[len(batch) :]
        late = unreachable = resolved = 0
        for (failure, decoded), future in zip(pairs, futures, strict=True):
            if future is None and not wants_resolving(failure):
                yield failure, decoded
                continue
            answer = self._wait(future, end) if future is not None else None
            if answer is None:
                late += future is not None
                yield failure, self._defer(failure, decoded, future)
                continue
            if answer.kind in RETRYABLE:
                unreachable += answer.kind == m.UNREACHABLE
                yield failure, self._defer(failure, decoded, None)
                continue
            resolved += answer.details is not None
            yield failure, with_resolution(decoded, answer)
        if late or (unreachable >= UNREACHABLE_TRIP and not resolved):
            self._trip("deadline" if late else "unreachable", late or unreachable)
        yield from decoded_later
        yield from self._retries()

    def _local_or_none(self, failure: Failure) -> Future[ResolveResult] | None:
        """Breaker open: the cache (or a local answer) only; ``None`` defers."""
        local = self.resolver.cached(failure)
        if local is None:
            return None
        done: Future[ResolveResult] = Future()
        done.set_result(local)
        return done

    def _wait(self, future: Future[ResolveResult], end: float) -> ResolveResult | None:
        while not future.done():
            left = end - self._clock()
            if left <= 0:
                return None
            self._wake.wait(min(HEARTBEAT_EVERY, left))
            self.heartbeat()
        return future.result()

    def _defer(
        self, failure: Failure, decoded: DecodeResult, future: Future[ResolveResult] | None
    ) -> DecodeResult:
        self.deferred += 1
        if len(self._pending) >= MAX_PENDING:
            dropped = self._pending.pop(0)
            self.abandoned += 1
            log.warning("resolve.dropped", authorization_id=dropped.failure.authorization_id)
        self._pending.append(
            _Pending(failure, decoded, 1, self._clock() + self.retry_after, future)
        )
        return with_resolution(
            decoded, ResolveResult(error=m.deferred_text(self.deadline), kind=m.DEFERRED)
        )

    # -- retries ---------------------------------------------------------------

    def _retries(self) -> Iterator[tuple[Failure, DecodeResult]]:
        """Deferred failures whose IDs resolved now; reschedule or give up the rest."""
        if not self._pending:
            return
        now = self._clock()
        submit = not self.breaker_open()
        keep: list[_Pending] = []
        for p in self._pending:
            if p.future is not None and not p.future.done():
                keep.append(p)  # still running in the background
                continue
            if p.future is None and (p.due_at > now or not submit):
                keep.append(p)
                continue
            if p.future is None:
                p.future = self.resolver.submit(p.failure)
                keep.append(p)  # collected on a later batch or tick
                continue
            answer = p.future.result()
            if answer.kind in RETRYABLE:
                if p.attempts >= MAX_ATTEMPTS:
                    self.abandoned += 1
                    log.warning(
                        "resolve.abandoned",
                        authorization_id=p.failure.authorization_id,
                        attempts=p.attempts,
                        hint="iam-toolbox kept failing; the alert went out without details",
                    )
                    continue
                backoff = min(MAX_BACKOFF, self.retry_after * 2**p.attempts)
                keep.append(_Pending(p.failure, p.decoded, p.attempts + 1, now + backoff, None))
                continue
            if answer.details is not None:
                self.recovered += 1
            yield p.failure, with_resolution(p.decoded, answer)
        self._pending = keep

    def _trip(self, why: str, count: int) -> None:
        self._open_until = self._clock() + self.cooldown
        log.warning(
            "resolve.deferred",
            reason=why,
            failures=count,
            deadline=self.deadline,
            retry_in=self.cooldown,
            hint="iam-toolbox is slow or unreachable: failures are alerted without their "
            "authorization details and the IDs retried in the background",
        )


def _bare(batch: list[Failure]) -> list[tuple[Failure, DecodeResult]]:
    return [(f, DecodeResult(decoded=f.decoded)) for f in batch]
