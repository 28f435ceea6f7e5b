"""Lookups in ``watch`` without stalling the main loop: a deadline per batch, a breaker, backoff.

AWS answers in milliseconds when healthy, but a slow or unreachable endpoint
(botocore's connect/read timeouts times its retries) could hold the main
thread for minutes: systemd's watchdog would then kill the daemon, which
re-reads the same bytes at restart and stalls again, a crash loop.  So the
lookups run on the core's pool; the main thread waits for their answers
until the batch deadline, calling ``heartbeat`` (the WATCHDOG=1 ping) while
it waits.  A failure not answered by then (or given an answer the client's
``WatchPolicy`` calls retryable) is *deferred*: alerted at once without the
answer, and looked up again in the background with backoff; when the answer
comes, ``decode_many`` yields the failure again after the batch's own pairs,
so the daemon re-diagnoses it and alerts it again.  After ``max_attempts``
it is given up, with a warning.

A batch that hit its deadline, or saw the endpoint unreachable
``UNREACHABLE_TRIP`` times with nothing answered, opens a breaker for
``cooldown`` seconds: new lookups then go straight to the retry queue
(cached answers still come out) instead of paying the deadline each time.

``Deferring`` stages chain (``inner``): STS decoding, then iam-toolbox
resolving, started together so both services are asked at the same time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Future
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from typing import TypedDict

from diagnostics.lookup import errors as e
from diagnostics.lookup.answer import Answer
from diagnostics.lookup.engine import Lookup
from diagnostics.lookup.protocol import WatchPolicy
from diagnostics.model import DecodeResult, Failure
from diagnostics.support.logconfig import get_logger

log = get_logger()

#: Longest wait between two heartbeats while answers are pending.
HEARTBEAT_EVERY = 0.5
#: Seconds the breaker stays open before the endpoint is tried again.
COOLDOWN = 30.0
#: Unreachable answers, with nothing answered, that open the breaker.
UNREACHABLE_TRIP = 3
#: First retry after this many seconds, doubling up to ``MAX_BACKOFF``.
RETRY_AFTER = 15.0
MAX_BACKOFF = 600.0
#: Attempts before a deferred lookup is given up (about 40 minutes of backoff).
MAX_ATTEMPTS = 8
#: Deferred lookups held at once; the oldest is dropped past this (memory stays flat).
MAX_PENDING = 10_000


class DeferOptions(TypedDict, total=False):
    """The keyword arguments the two watch wrappers pass through to ``Deferring``."""

    heartbeat: Callable[[], None]
    cooldown: float
    retry_after: float
    clock: Callable[[], float]
    wall: Callable[[], float]


@dataclass(slots=True)
class _Pending:
    failure: Failure
    #: The failure's result when it was deferred; the answer is merged into it.
    base: DecodeResult
    attempts: int
    due_at: float
    #: The call in flight (a late one keeps running), or ``None`` to submit when due.
    future: Future[Answer] | None
    #: Wall time the failure was first deferred.
    first_seen: float


@dataclass(slots=True)
class _Started:
    """One batch's lookups: a future each, ``None`` to defer, or not wanted (``False``)."""

    futures: list[Future[Answer] | bool | None]
    end: float


class Deferring:
    """Wraps one ``Lookup`` for ``watch``: deadline, breaker, backoff, retries.

    ``decode_many`` yields the batch's pairs in order, then pairs for earlier
    deferred failures answered now (``inner``'s first).  Only the main
    thread calls it.  ``clock`` (monotonic) and ``wall`` are injectable.
    """

    def __init__(
        self,
        lookup: Lookup,
        policy: WatchPolicy,
        *,
        deadline: float,
        inner: Deferring | None = None,
        heartbeat: Callable[[], None] = lambda: None,
        cooldown: float = COOLDOWN,
        retry_after: float = RETRY_AFTER,
        max_attempts: int = MAX_ATTEMPTS,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.lookup = lookup
        self.policy = policy
        self.deadline = deadline
        self.inner_stage = inner
        self.heartbeat = heartbeat
        self.cooldown = cooldown
        self.retry_after = retry_after
        self.max_attempts = max_attempts
        self._clock = clock
        self._wall = wall
        self._open_until = float("-inf")
        #: Deferred failures by lookup key, oldest first.
        self._pending: dict[str, _Pending] = {}
        #: Keys deferred in the current batch, with their index (their base comes at the end).
        self._fresh: list[tuple[str, int]] = []
        #: Counters: deferred failures, lookups answered on a retry, lookups given up.
        self.deferred = 0
        self.recovered = 0
        self.abandoned = 0
        self.batches_late = 0

    # -- state -----------------------------------------------------------------

    @property
    def pending(self) -> int:
        return len(self._pending)

    def breaker_open(self) -> bool:
        return self._clock() < self._open_until

    def retry_due(self) -> bool:
        """A deferred lookup may be retried, or has landed, now: worth an empty batch."""
        if self.inner_stage is not None and self.inner_stage.retry_due():
            return True
        if not self._pending:
            return False
        now = self._clock()
        # An open breaker stops new calls, not the collection of finished ones.
        closed = not self.breaker_open()
        return any(
            _landed(p.future) or (closed and p.due_at <= now) for p in self._pending.values()
        )

    def close(self) -> None:
        self.lookup.close()
        if self.inner_stage is not None:
            self.inner_stage.close()

    def trip(self, why: str, count: int) -> None:
        """Open the breaker for ``cooldown`` seconds."""
        self._open_until = self._clock() + self.cooldown
        log.warning(
            f"{self.policy.name}.deferred",
            reason=why,
            failures=count,
            deadline=self.deadline,
            retry_in=self.cooldown,
            hint=self.policy.deferred_hint,
        )

    # -- one batch -------------------------------------------------------------

    def decode_many(self, failures: Iterable[Failure]) -> Iterator[tuple[Failure, DecodeResult]]:
        """The batch's pairs in order, then pairs for earlier deferred failures answered now."""
        batch = list(failures)
        stages = self._stages()
        results = [DecodeResult(decoded=f.decoded) for f in batch]
        if batch:
            started = [s._start(batch) for s in stages]
            for stage, one in zip(stages, started, strict=True):
                stage._finish(batch, one, results)
            for stage in stages:
                stage._settle(results)
        yield from zip(batch, results, strict=True)
        for stage in stages:
            yield from stage._retries()

    def _stages(self) -> list[Deferring]:
        inner = self.inner_stage._stages() if self.inner_stage is not None else []
        return [*inner, self]

    def _start(self, batch: list[Failure]) -> _Started:
        open_now = self.breaker_open()
        futures: list[Future[Answer] | bool | None] = []
        for f in batch:
            if not self.policy.wants(f):
                futures.append(False)
            elif open_now:
                cached = self.lookup.cached(f)
                futures.append(None if cached is None else _done(cached))
            else:
                futures.append(self.lookup.submit(f))
        return _Started(futures, self._clock() + self.deadline)

    def _finish(self, batch: list[Failure], started: _Started, results: list[DecodeResult]) -> None:
        late = unreachable = answered = 0
        now_wall = self._wall()
        for i, (failure, started_as) in enumerate(zip(batch, started.futures, strict=True)):
            if started_as is False or started_as is True:
                continue
            future = started_as
            answer = None if future is None else self._wait(future, started.end)
            if answer is None:
                if future is not None:
                    late += 1
                    # A call not started yet need not run past the deadline.
                    future = None if future.cancel() else future
                results[i] = self._defer(failure, i, results[i], future, now_wall, answer=None)
                continue
            unreachable += answer.kind == e.UNREACHABLE
            if self.policy.retryable(answer, failure, now_wall):
                results[i] = self._defer(failure, i, results[i], None, now_wall, answer=answer)
                continue
            answered += answer.value is not None
            results[i] = self.policy.merge(results[i], answer)
        if late:
            self.batches_late += 1
            self.trip("deadline", late)
        elif unreachable >= UNREACHABLE_TRIP and not answered:
            self.trip("unreachable", unreachable)

    def _settle(self, results: list[DecodeResult]) -> None:
        """Deferred failures keep the batch's final result, to merge their answer into later."""
        for key, index in self._fresh:
            pending = self._pending.get(key)
            if pending is not None and pending.attempts == 1:
                pending.base = results[index]

    def _wait(self, future: Future[Answer], end: float) -> Answer | None:
        while not future.done():
            left = end - self._clock()
            if left <= 0:
                return None
            wait_for([future], timeout=min(HEARTBEAT_EVERY, left))
            self.heartbeat()
        return self._answer(future)

    def _answer(self, future: Future[Answer]) -> Answer | None:
        try:
            return future.result()
        except CancelledError:
            return None
        except Exception:
            # A bug in a lookup must not stop the daemon: the failure goes out without it.
            log.exception(f"{self.policy.name} failed; the failure is diagnosed without it")
            return Answer(error=f"{self.policy.name} failed inside authz-diag", kind=e.OTHER)

    def _key(self, failure: Failure) -> str:
        key = self.lookup.client.key(failure)
        return "" if key is None else key.digest()

    def _defer(
        self,
        failure: Failure,
        index: int,
        result: DecodeResult,
        future: Future[Answer] | None,
        now_wall: float,
        *,
        answer: Answer | None,
    ) -> DecodeResult:
        """Keep ``failure`` for a later try; the result it is diagnosed with meanwhile."""
        self.deferred += 1
        key = self._key(failure)
        if key not in self._pending:  # else already waiting: one answer re-alerts its group
            if len(self._pending) >= MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))
                self.abandoned += 1
                log.warning(f"{self.policy.name}.dropped", pending=MAX_PENDING)
            self._pending[key] = _Pending(
                failure, result, 1, self._clock() + self.retry_after, future, now_wall
            )
            self._fresh.append((key, index))
        return self.policy.merge(result, self.policy.deferred(self.deadline, answer))

    # -- retries ---------------------------------------------------------------

    def _retries(self) -> Iterator[tuple[Failure, DecodeResult]]:
        """Deferred failures answered now; reschedule or give up the rest."""
        # Not those this batch deferred: they were just alerted without an answer.
        fresh = {key for key, _ in self._fresh}
        self._fresh.clear()
        if not self._pending:
            return
        now = self._clock()
        closed = not self.breaker_open()
        due = [
            (key, p)
            for key, p in self._pending.items()
            if key not in fresh and (_landed(p.future) or (closed and p.due_at <= now))
        ]
        if not due:
            return
        for _, p in due:
            if p.future is None or p.future.cancelled():
                p.future = self.lookup.submit(p.failure)
        end = self._clock() + self.deadline
        late = 0
        for key, p in due:
            assert p.future is not None
            answer = self._wait(p.future, end)
            if answer is None:
                late += 1
                self._reschedule(key, p, None if p.future.cancel() else p.future)
                continue
            if self.policy.retryable(answer, p.failure, p.first_seen):
                self._reschedule(key, p, None)
                continue
            del self._pending[key]
            self.recovered += answer.value is not None
            yield p.failure, self.policy.merge(p.base, answer)
        if late:
            self.batches_late += 1
            self.trip("deadline", late)

    def _reschedule(self, key: str, p: _Pending, future: Future[Answer] | None) -> None:
        attempts = p.attempts + 1
        if attempts > self.max_attempts:
            del self._pending[key]
            self.abandoned += 1
            log.warning(
                f"{self.policy.name}.abandoned",
                attempts=p.attempts,
                hint=self.policy.abandoned_hint,
            )
            return
        backoff = min(MAX_BACKOFF, self.retry_after * 2 ** (attempts - 1))
        p.attempts, p.due_at, p.future = attempts, self._clock() + backoff, future


def _landed(future: Future[Answer] | None) -> bool:
    return future is not None and future.done() and not future.cancelled()


def _done(answer: Answer) -> Future[Answer]:
    future: Future[Answer] = Future()
    future.set_result(answer)
    return future
