"""Decoding in ``watch`` without stalling the main loop: a deadline per batch.

STS answers in milliseconds when healthy, but a slow or unreachable endpoint
(botocore's connect/read timeouts times its retries) could hold the main
thread for minutes: systemd's watchdog would then kill the daemon, which
re-reads the same bytes at restart and stalls again, a crash loop.  So the
decoder runs on its own thread; the main thread waits for its results with a
short timeout, calling ``heartbeat`` (the WATCHDOG=1 ping) while results keep
coming, and stops waiting at the batch deadline.  Failures not decoded by then
are diagnosed without the decoded message (``decode_error`` says so).  A loop
that hangs anywhere else still stops pinging and is restarted.

After a batch that hit its deadline, or that saw STS unreachable and nothing
decoded, a short circuit breaker sends the following batches straight to
"deferred" for ``cooldown`` seconds instead of paying the deadline each time.

A deferred failure is kept (once per blob, at most ``MAX_PENDING``) and
decoded again with backoff on later batches and the loop's idle ticks
(``retry_due``); once STS answers, ``decode_many`` yields it again after the
batch's own pairs, so the daemon re-diagnoses it and alerts the decoded
diagnosis (a new group or variant: see ``alerts.keys``).  After
``MAX_ATTEMPTS`` late answers it is given up, with a warning.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from diagnostics.logconfig import get_logger
from diagnostics.model import DecodeResult, Failure

log = get_logger()

#: Longest wait between two heartbeats while results are pending.
HEARTBEAT_EVERY = 0.5
#: Seconds the breaker stays open before STS is tried again.
COOLDOWN = 30.0
#: Unreachable results, with nothing decoded, that open the breaker.
UNREACHABLE_TRIP = 3
#: First retry of a deferred decode after this many seconds, doubling up to ``MAX_BACKOFF``.
RETRY_AFTER = 15.0
MAX_BACKOFF = 600.0
#: Late answers before a deferred decode is given up (about 40 minutes of backoff).
MAX_ATTEMPTS = 8
#: Deferred blobs held at once; the oldest is dropped past this (memory stays flat).
MAX_PENDING = 10_000


@dataclass(slots=True)
class _Retry:
    failure: Failure
    attempts: int
    due_at: float


def deferred_text(deadline: float) -> str:
    return (
        f"decode deferred: STS is slow or unreachable (no answer within {deadline:g}s, "
        "[decode] batch_deadline), so this failure is diagnosed without the decoded "
        "message; check that the daemon reaches STS (endpoint_url, proxy, VPC endpoint) "
        "and is not throttled (max_per_second); it is decoded and alerted again once STS "
        "answers, or run `authz-diag decode` on this line"
    )


class DeadlineDecoder:
    """Wraps a ``Decoder`` so one ``decode_many`` call never takes longer than ``deadline``.

    ``decode_many`` must be consumed by the thread that owns ``heartbeat``
    (the service's main thread).  ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        inner: Any,
        *,
        deadline: float,
        heartbeat: Callable[[], None] = lambda: None,
        cooldown: float = COOLDOWN,
        retry_after: float = RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.deadline = deadline
        self.heartbeat = heartbeat
        self.cooldown = cooldown
        self.retry_after = retry_after
        self._clock = clock
        self._open_until = float("-inf")
        #: Deferred failures by blob, oldest first.
        self._pending: dict[str, _Retry] = {}
        #: Counters: deferred decodes, decodes that succeeded on a retry, decodes given up.
        self.deferred = 0
        self.recovered = 0
        self.abandoned = 0
        self.batches_late = 0

    @property
    def stats(self) -> Any:
        return self.inner.stats

    def close(self) -> None:
        self.inner.close()

    def breaker_open(self) -> bool:
        return self._clock() < self._open_until

    @property
    def pending(self) -> int:
        return len(self._pending)

    def retry_due(self) -> bool:
        """A deferred decode may be tried again now: worth an empty batch."""
        if not self._pending or self.breaker_open():
            return False
        now = self._clock()
        return any(r.due_at <= now for r in self._pending.values())

    def decode_many(self, failures: Iterable[Failure]) -> Iterator[tuple[Failure, DecodeResult]]:
        """The batch's pairs in order, then pairs for earlier deferred failures STS answered now."""
        batch = list(failures)
        if batch:
            if self.breaker_open():
                yield from self._without_sts(batch)
            else:
                yield from self._with_deadline(batch)
        yield from self._retries()

    def _defer(self, failure: Failure, attempts: int = 1) -> DecodeResult:
        """Keep ``failure`` for a later try; the result it is diagnosed with meanwhile."""
        self.deferred += attempts == 1
        blob = failure.encoded_message or ""
        if attempts == 1 and blob in self._pending:
            pass  # the blob is already waiting: one decode re-alerts its group
        elif attempts > MAX_ATTEMPTS:
            self.abandoned += 1
            log.warning(
                "decode.abandoned",
                attempts=MAX_ATTEMPTS,
                hint="STS kept missing the batch deadline; the alert went out without the "
                "decoded message: run `authz-diag decode` on the failure's line",
            )
        else:
            if len(self._pending) >= MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))
                self.abandoned += 1
                log.warning("decode.dropped", pending=MAX_PENDING)
            backoff = min(MAX_BACKOFF, self.retry_after * 2 ** (attempts - 1))
            self._pending[blob] = _Retry(failure, attempts, self._clock() + backoff)
        return DecodeResult(error=deferred_text(self.deadline))

    def _retries(self) -> Iterator[tuple[Failure, DecodeResult]]:
        """Deferred failures that are due, decoded again under the same deadline."""
        if not self._pending or self.breaker_open():
            return
        now = self._clock()
        due = [r for r in self._pending.values() if r.due_at <= now]
        if not due:
            return
        for r in due:
            del self._pending[r.failure.encoded_message or ""]
        attempts = {id(r.failure): r.attempts for r in due}
        for failure, result in self._with_deadline(
            [r.failure for r in due], attempts=lambda f: attempts[id(f)] + 1
        ):
            if result.error is not None and result.error == deferred_text(self.deadline):
                continue  # late again: rescheduled by _with_deadline
            self.recovered += result.decoded is not None
            yield failure, result

    # -- internals ---------------------------------------------------------------

    def _needs_sts(self, failure: Failure) -> bool:
        from diagnostics.decode.messages import local_problem

        blob = failure.encoded_message
        if failure.decoded is not None or not blob or failure.truncated:
            return False
        if local_problem(blob) is not None:
            return False
        return self.inner.cache.get(blob) is None

    def _without_sts(self, batch: list[Failure]) -> Iterator[tuple[Failure, DecodeResult]]:
        """Breaker open: local answers (cache, no blob, malformed) only; the rest deferred."""
        for f in batch:
            if self._needs_sts(f):
                yield f, self._defer(f)
            else:
                yield f, self.inner.decode(f)

    def _with_deadline(
        self, batch: list[Failure], *, attempts: Callable[[Failure], int] = lambda _f: 1
    ) -> Iterator[tuple[Failure, DecodeResult]]:
        results: queue.Queue[tuple[Failure, DecodeResult] | None] = queue.Queue()
        stop = threading.Event()
        errors_before = dict(self.inner.stats.errors)
        decoded_before = int(self.inner.stats.decoded)

        def feed() -> Iterator[Failure]:
            for f in batch:
                if stop.is_set():  # past the deadline: no new STS calls for this batch
                    return
                yield f

        def work() -> None:
            try:
                for pair in self.inner.decode_many(feed()):
                    results.put(pair)
                    if stop.is_set():
                        break
            except Exception:
                log.exception("decoding failed; the batch is diagnosed without decode")
            finally:
                results.put(None)

        worker = threading.Thread(target=work, name="decode-batch", daemon=True)
        worker.start()
        end = self._clock() + self.deadline
        done = 0
        try:
            while done < len(batch):
                left = end - self._clock()
                if left <= 0:
                    break
                try:
                    item = results.get(timeout=min(HEARTBEAT_EVERY, left))
                except queue.Empty:
                    self.heartbeat()
                    continue
                if item is None:
                    break
                done += 1
                self.heartbeat()
                yield item
        finally:
            stop.set()
        if done < len(batch):
            late = len(batch) - done
            self.batches_late += 1
            self._trip("deadline", late)
            for f in batch[done:]:
                yield f, self._defer(f, attempts(f))
            return
        unreachable = self.inner.stats.errors.get("unreachable", 0) - errors_before.get(
            "unreachable", 0
        )
        if unreachable >= UNREACHABLE_TRIP and int(self.inner.stats.decoded) == decoded_before:
            self._trip("unreachable", unreachable)

    def _trip(self, why: str, count: int) -> None:
        self._open_until = self._clock() + self.cooldown
        log.warning(
            "decode.deferred",
            reason=why,
            failures=count,
            deadline=self.deadline,
            retry_in=self.cooldown,
            hint="STS is slow or unreachable: failures are alerted without the decoded "
            "message until it answers again; check network access to STS and max_per_second",
        )
