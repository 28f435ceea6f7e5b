"""STS decoding in ``watch``: the lookup core's deferring wrapper, with the decoder's words.

The deadline, breaker, backoff and retries are ``diagnostics.lookup.deferring``'s.
Here: what a deferred decode says, and that a decode is retried only when it
was late (an STS error answer is final: it says something about the blob or
the credentials).
"""

from __future__ import annotations

import dataclasses
from typing import Unpack

from diagnostics.decode.decoder import Decoder
from diagnostics.lookup.answer import Answer
from diagnostics.lookup.deferring import (
    COOLDOWN,
    HEARTBEAT_EVERY,
    MAX_BACKOFF,
    MAX_PENDING,
    RETRY_AFTER,
    UNREACHABLE_TRIP,
    DeferOptions,
    Deferring,
)
from diagnostics.model import DecodeResult, Failure

#: Late answers before a deferred decode is given up (about 40 minutes of backoff).
MAX_ATTEMPTS = 8


def deferred_text(deadline: float) -> str:
    return (
        f"decode deferred: STS is slow or unreachable (no answer within {deadline:g}s, "
        "[decode] batch_deadline), so this failure is diagnosed without the decoded "
        "message; check that the daemon reaches STS (endpoint_url, proxy, VPC endpoint) "
        "and is not throttled (max_per_second); it is decoded and alerted again once STS "
        "answers, or run `authz-diag decode` on this line"
    )


class DecodeWatch:
    """The ``WatchPolicy`` of STS decoding."""

    name = "decode"
    deferred_hint = (
        "STS is slow or unreachable: failures are alerted without the decoded "
        "message until it answers again; check network access to STS and max_per_second"
    )
    abandoned_hint = (
        "STS kept missing the batch deadline; the alert went out without the "
        "decoded message: run `authz-diag decode` on the failure's line"
    )

    def wants(self, failure: Failure) -> bool:
        return True  # the decoder answers blob-less failures locally

    def merge(self, result: DecodeResult, answer: Answer) -> DecodeResult:
        return dataclasses.replace(
            result, decoded=answer.value, error=answer.error, cached=answer.cached
        )

    def deferred(self, deadline: float, answer: Answer | None) -> Answer:
        return Answer(error=deferred_text(deadline))

    def retryable(self, answer: Answer, failure: Failure, first_seen: float) -> bool:
        return False


class DeadlineDecoder(Deferring):
    """A ``Decoder`` behind a per-batch deadline; ``clock`` is injectable for tests."""

    def __init__(
        self,
        inner: Decoder,
        *,
        deadline: float,
        **options: Unpack[DeferOptions],
    ) -> None:
        super().__init__(
            inner.core, DecodeWatch(), deadline=deadline, max_attempts=MAX_ATTEMPTS, **options
        )
        self.inner = inner


__all__ = [
    "COOLDOWN",
    "HEARTBEAT_EVERY",
    "MAX_ATTEMPTS",
    "MAX_BACKOFF",
    "MAX_PENDING",
    "RETRY_AFTER",
    "UNREACHABLE_TRIP",
    "DeadlineDecoder",
    "DecodeWatch",
    "deferred_text",
]
