"""Decode encoded authorization messages with STS, a thin client of the lookup core.

``Decoder.decode`` never raises for a failed decode: the failure is
diagnosed anyway, and ``DecodeResult.error`` says what went wrong and what
to do.  Failures that cannot or need not be decoded (already decoded, no
blob, truncated, malformed) never reach STS, and a scan with nothing to
decode never imports boto3.  The cache, single-flight, pool, stats,
per-account roles and error table are the core's (``diagnostics.lookup``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from diagnostics.decode import messages as m
from diagnostics.decode.cache import DecodeCache
from diagnostics.decode.settings import DecodeSettings
from diagnostics.lookup import errors as e
from diagnostics.lookup.answer import Answer
from diagnostics.lookup.engine import Lookup
from diagnostics.lookup.handle import LookupHandle
from diagnostics.lookup.key import LookupKey
from diagnostics.lookup.protocol import Call
from diagnostics.lookup.stats import LookupStats
from diagnostics.model import DecodeResult, Failure
from diagnostics.request.context import DecodedMessageError, parse_decoded
from diagnostics.support.ratelimit import TokenBucket

#: The decoder's counters (``decoded`` is ``answered``).
DecodeStats = LookupStats

DECODE = "DecodeAuthorizationMessage"


class StsDecode:
    """The ``LookupClient`` for STS DecodeAuthorizationMessage."""

    name = "decode"
    words = m.WORDS
    service = "sts"

    def __init__(self, settings: DecodeSettings) -> None:
        self.settings = settings

    def endpoint(self) -> str | None:
        return self.settings.endpoint_url

    def key(self, failure: Failure) -> LookupKey | None:
        blob = failure.encoded_message
        return LookupKey(failure.account_id or "", blob) if blob else None

    def local(self, failure: Failure) -> Answer | None:
        if failure.kind == "decoded" or failure.decoded is not None:
            return Answer(value=failure.decoded)
        blob = failure.encoded_message
        if failure.truncated and failure.kind in ("encoded", "cloudtrail"):
            # A cut or empty blob (even one too short to keep) is never sent to STS.
            return Answer(error=m.truncated_text(), kind=m.TRUNCATED)
        if not blob:
            return Answer()
        problem = m.local_problem(blob)
        if problem is not None:
            return Answer(error=problem[1], kind=problem[0])
        return None

    def fetch(self, call: Call, failure: Failure, key: LookupKey) -> Answer:
        answer = call(DECODE, EncodedMessage=key.ident)
        try:
            decoded = parse_decoded(answer["DecodedMessage"])
        except (KeyError, DecodedMessageError) as exc:
            raise e.LookupFailed(
                m.OTHER, f"STS answered with something that is not a decoded message ({exc})"
            ) from None
        return Answer(value=decoded)

    def explain(self, error: e.AwsError, failure: Failure, call: Call) -> e.LookupFailed:
        kind = error.kind
        if kind == e.NO_CREDENTIALS:
            text = m.no_credentials_text(error.detail)
        elif kind == e.ROLE_DENIED:
            text = error.detail
        elif kind == e.ACCESS_DENIED:
            caller = None if call.role_arn else call.caller_arn()
            text = m.access_denied_text(caller, call.role_arn)
        elif kind == e.INVALID:
            text = m.invalid_text()
        elif error.status:  # an AWS answer, not a botocore exception
            kind = m.OTHER
            text = m.other_error_text(error.code, error.message)
        else:
            kind = m.OTHER
            text = f"decoding failed: {error.code}"
        return e.LookupFailed(kind, text)

    def negative_ttl(self, kind: str) -> float | None:
        return self.settings.negative_ttl if kind == m.INVALID else None

    def model_error(self, exc: Exception) -> e.AwsError | None:
        return None


class Decoder(LookupHandle):
    """Decodes ``encoded`` failures; see ``DecodeSettings`` for the knobs.  Thread-safe."""

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
        self.core = Lookup(StsDecode(settings), settings, self.cache, bucket=bucket, clock=clock)

    @property
    def assume_role_calls(self) -> dict[str, int]:
        """AssumeRole calls made so far, by role ARN."""
        return dict(self.core.clients.assume_calls)

    def decode(self, failure: Failure) -> DecodeResult:
        """Decode one failure; never raises for STS trouble."""
        return as_decode_result(self.core.lookup(failure))

    def decode_many(self, failures: Iterable[Failure]) -> Iterator[tuple[Failure, DecodeResult]]:
        """Decode concurrently; yield ``(failure, result)`` in input order, memory flat."""
        for failure, answer in self.core.lookup_many(failures):
            yield failure, as_decode_result(answer)


def as_decode_result(answer: Answer) -> DecodeResult:
    return DecodeResult(decoded=answer.value, error=answer.error, cached=answer.cached)
