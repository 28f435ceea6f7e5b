"""Resolving authorization IDs in ``watch``: as they arrive, within the batch deadline.

Details are kept about 24 hours, so the daemon resolves each ID as its
failure arrives, beside the STS decode of the same batch (both start before
either is waited for).  The deadline, breaker, backoff and retries are the
lookup core's (``diagnostics.lookup.deferring``).  Here: what a deferred
resolve says, and which answers are retried: throttled after botocore's
retries, unreachable, or a 5xx (they say nothing about the ID).
"""

from __future__ import annotations

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


class ResolveWatch:
    """The ``WatchPolicy`` of iam-toolbox resolving."""

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

    def deferred(self, deadline: float) -> Answer:
        return Answer(error=m.deferred_text(deadline), kind=m.DEFERRED)

    def retryable(self, answer: Answer, failure: Failure, first_seen: float) -> bool:
        return answer.kind in RETRYABLE


class DeferringResolver(Deferring):
    """Resolves IDs beside ``inner`` (the ``DeadlineDecoder``, or ``None``)."""

    def __init__(
        self,
        inner: Deferring | None,
        resolver: Resolver,
        *,
        deadline: float,
        **options: Unpack[DeferOptions],
    ) -> None:
        super().__init__(
            resolver.core,
            ResolveWatch(),
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
    "RETRYABLE",
    "UNREACHABLE_TRIP",
    "DeferringResolver",
    "ResolveWatch",
]
