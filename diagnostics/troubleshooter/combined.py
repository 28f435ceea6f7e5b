"""Decode blobs and resolve authorization IDs in one pass (``scan``, ``decode``).

``ResolvingDecoder`` wraps a ``Decoder`` (or nothing, for failures with an ID
but no blob) and gives each ``DecodeResult`` the failure's authorization
details.  Resolves start as failures enter the decoder's window, so they run
on the resolver's pool concurrently with STS; results come out in input
order.  A failure with both an EC2 blob and an ID gets both answers, and
``answered_by`` names which ones did.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING

from diagnostics.model import DecodeResult, Failure
from diagnostics.troubleshooter.details import parse_details
from diagnostics.troubleshooter.resolver import Resolver, ResolveResult
from diagnostics.troubleshooter.unresolved import wants_resolving

if TYPE_CHECKING:
    from diagnostics.decode.decoder import Decoder
    from diagnostics.lookup.stats import LookupStats


def answered_by(result: DecodeResult) -> tuple[str, ...]:
    """Which services answered: ``sts`` (the blob), ``iam-toolbox`` (the ID)."""
    out: list[str] = []
    if result.decoded is not None:
        out.append("sts")
    if result.authorization_details is not None:
        out.append("iam-toolbox")
    return tuple(out)


def with_resolution(result: DecodeResult, resolved: ResolveResult) -> DecodeResult:
    """The result with the resolver's answer, parsed once here for every later reader."""
    details = resolved.details
    return dataclasses.replace(
        result,
        authorization_details=None if details is None else parse_details(details),
        authorization_error=resolved.error,
    )


class ResolvingDecoder:
    """A ``DecoderLike`` that decodes with ``decoder`` and resolves with ``resolver``."""

    def __init__(self, decoder: Decoder | None, resolver: Resolver) -> None:
        self.decoder = decoder
        self.resolver = resolver

    @property
    def stats(self) -> LookupStats | None:
        return self.decoder.stats if self.decoder is not None else None

    def decode_many(self, failures: Iterable[Failure]) -> Iterator[tuple[Failure, DecodeResult]]:
        queued: deque[Future[ResolveResult] | None] = deque()

        def feed() -> Iterator[Failure]:
            for failure in failures:
                queued.append(self.resolver.submit(failure) if wants_resolving(failure) else None)
                yield failure

        pairs = self.decoder.decode_many(feed()) if self.decoder is not None else _bare(feed())
        for failure, result in pairs:
            future = queued.popleft()
            yield failure, result if future is None else with_resolution(result, future.result())

    def close(self) -> None:
        self.resolver.close()
        if self.decoder is not None:
            self.decoder.close()


def _bare(failures: Iterator[Failure]) -> Iterator[tuple[Failure, DecodeResult]]:
    for failure in failures:
        yield failure, DecodeResult(decoded=failure.decoded)
