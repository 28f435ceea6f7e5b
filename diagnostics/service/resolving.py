"""Resolving authorization IDs in ``watch``: as they arrive, within the batch deadline.

Details are kept about 24 hours, so the daemon resolves each ID as its
failure arrives, beside the STS decode of the same batch (both start before
either is waited for).  The deadline, breaker, backoff and retries are the
lookup core's (``diagnostics.lookup.deferring``).  Here: what a deferred
resolve says, and which answers are retried: throttled after botocore's
retries, unreachable, or a 5xx (they say nothing about the ID).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Unpack

from diagnostics.lookup.answer import Answer
from diagnostics.lookup.deferring import (
    COOLDOWN,
    HEARTBEAT_EVERY,
    MAX_ATTEMPTS,
    MAX_BACKOFF,
    MAX_PENDING,
    UNREACHABLE_TRIP,
    DeferOptions,
    Deferring,
)
from diagnostics.lookup.errors import TRANSIENT
from diagnostics.model import DecodeResult, Failure
from diagnostics.troubleshooter import messages as m
from diagnostics.troubleshooter.combined import with_resolution
from diagnostics.troubleshooter.resolver import Resolver
from diagnostics.troubleshooter.unresolved import wants_resolving

#: Errors worth a retry: they say nothing about the ID.
RETRYABLE = TRANSIENT
#: Details are created asynchronously: "not found" this soon after the denial means
#: "not ready yet" ([troubleshooter] not_found_window).
NOT_FOUND_WINDOW = 900.0


class ResolveWatch:
    """The ``WatchPolicy`` of iam-toolbox resolving.

    A ``ResourceNotFoundException`` within ``not_found_window`` seconds of the
    denial (its event time when known, else when the daemon first saw it)
    is retried like a throttle; after that it is final (expired, or another
    account's).  ``wall`` is wall time.
    """

    def __init__(
        self, not_found_window: float = NOT_FOUND_WINDOW, wall: Callable[[], float] = time.time
    ) -> None:
        self.not_found_window = not_found_window
        self.wall = wall

    name = "resolve"
    deferred_hint = (
        "iam-toolbox is slow or unreachable: failures are alerted without their "
        "authorization details and the IDs retried in the background"
    )
    abandoned_hint = "iam-toolbox kept failing; the alert went out without details"

    def wants(self, failure: Failure) -> bool:
        return wants_resolving(failure)

    def merge(self, result: DecodeResult, answer: Answer) -> DecodeResult:
        return with_resolution(result, answer)

    def deferred(self, deadline: float, answer: Answer | None) -> Answer:
        if answer is not None and answer.kind == m.NOT_FOUND:
            return Answer(error=m.not_ready_text(self.not_found_window), kind=m.DEFERRED)
        return Answer(error=m.deferred_text(deadline), kind=m.DEFERRED)

    def retryable(self, answer: Answer, failure: Failure, first_seen: float) -> bool:
        if answer.kind == m.NOT_FOUND:
            now = self.wall()
            age = m.age_seconds(failure.event_time, now)
            return (now - first_seen if age is None else age) < self.not_found_window
        return answer.kind in RETRYABLE


class DeferringResolver(Deferring):
    """Resolves IDs beside ``inner`` (the ``DeadlineDecoder``, or ``None``)."""

    def __init__(
        self,
        inner: Deferring | None,
        resolver: Resolver,
        *,
        deadline: float,
        not_found_window: float = NOT_FOUND_WINDOW,
        **options: Unpack[DeferOptions],
    ) -> None:
        super().__init__(
            resolver.core,
            ResolveWatch(not_found_window, options.get("wall", time.time)),
            deadline=deadline,
            inner=inner,
            max_attempts=MAX_ATTEMPTS,
            **options,
        )
        self.inner = inner
        self.resolver = resolver


__all__ = [
    "COOLDOWN",
    "HEARTBEAT_EVERY",
    "MAX_BACKOFF",
    "MAX_PENDING",
    "NOT_FOUND_WINDOW",
    "RETRYABLE",
    "UNREACHABLE_TRIP",
    "DeferringResolver",
    "ResolveWatch",
]
