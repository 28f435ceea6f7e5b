"""The typed contracts of the lookup core: its settings, its clients and its watch wrapper."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Literal, Protocol

from diagnostics.lookup.answer import Answer
from diagnostics.lookup.errors import AwsError, LookupFailed
from diagnostics.lookup.key import LookupKey
from diagnostics.lookup.messages import ServiceWords
from diagnostics.model import DecodeResult, Failure, JSONObject


class AwsSettings(Protocol):
    """How the core reaches AWS (``decode.DecodeSettings`` is the one implementation)."""

    @property
    def region(self) -> str | None: ...
    @property
    def profile(self) -> str | None: ...
    @property
    def role_arn_template(self) -> str | None: ...
    @property
    def external_id(self) -> str | None: ...
    @property
    def session_name(self) -> str: ...
    @property
    def max_per_second(self) -> float: ...
    @property
    def concurrency(self) -> int: ...
    @property
    def endpoint_url(self) -> str | None: ...
    @property
    def assume_role_endpoint_url(self) -> str | None: ...
    @property
    def max_attempts(self) -> int: ...
    @property
    def timeout(self) -> float: ...
    @property
    def retry_mode(self) -> str: ...
    @property
    def negative_ttl(self) -> float: ...
    @property
    def accounts(self) -> frozenset[str]: ...

    def role_arn_for(self, account: str | None) -> str | None: ...


class Call(Protocol):
    """One lookup's AWS calls, made on the client the core chose for the failure's account."""

    @property
    def role_arn(self) -> str | None:
        """The role assumed for the call (``None``: the base credentials)."""
        ...

    def __call__(self, operation: str, **params: str) -> JSONObject:
        """Call ``operation`` (its API name); raise ``AwsFailure`` with the classified error."""
        ...

    def caller_arn(self) -> str | None:
        """The base credentials' ARN, or ``None`` when unknown."""
        ...

    def caller_account(self) -> str | None:
        """The account the calls are made from: the role's, else the base caller's."""
        ...

    def service_model(self) -> Any:
        """botocore's model of the service (untyped in botocore), to see what it knows."""
        ...

    def count(self, name: Literal["pages", "documents"]) -> None:
        """Count one extra request of this lookup in the core's stats."""
        ...

    def explain(self, error: AwsError, failure: Failure) -> LookupFailed:
        """The user's text for a failed call (the core's words, else the client's)."""
        ...


class LookupClient(Protocol):
    """What a thin client (STS decode, iam-toolbox) tells the core.

    The core owns the key, the cache, single-flight, the pool, the stats, the
    per-account credentials and the error table; a client owns its wording
    and what one lookup asks AWS.
    """

    #: Thread names and log events: ``decode`` or ``resolve``.
    name: str
    #: The botocore service the lookup calls (AssumeRole always goes to STS).
    service: str
    #: Its words in the texts the core writes (throttled, unreachable, 5xx).
    words: ServiceWords

    def endpoint(self) -> str | None:
        """Where ``service`` is reached (``None``: botocore's endpoint for the region)."""
        ...

    def key(self, failure: Failure) -> LookupKey | None:
        """The lookup's key, or ``None`` when ``local`` answers it."""
        ...

    def local(self, failure: Failure) -> Answer | None:
        """The answer when no call is needed (nothing to look up, or unusable input)."""
        ...

    def fetch(self, call: Call, failure: Failure, key: LookupKey) -> Answer:
        """Ask AWS; raise ``AwsFailure`` (``call`` raises it) or ``LookupFailed``."""
        ...

    def explain(self, error: AwsError, failure: Failure, call: Call) -> LookupFailed:
        """The client's words for a classified error the core does not word itself."""
        ...

    def negative_ttl(self, kind: str) -> float | None:
        """Seconds a failure of ``kind`` is cached (``None``: never, it says nothing of the key)."""
        ...

    def model_error(self, exc: Exception) -> AwsError | None:
        """A client-specific error from making the botocore client (a missing model)."""
        ...


class WatchPolicy(Protocol):
    """How ``watch`` treats one client's answers: its words, and which answers to retry."""

    #: Log events: ``<name>.deferred``, ``<name>.abandoned``, ``<name>.dropped``.
    name: str
    #: The log hint when a batch is deferred, and when a retried lookup is given up.
    deferred_hint: str
    abandoned_hint: str

    def wants(self, failure: Failure) -> bool:
        """The failure has something for this client (else its result passes through)."""
        ...

    def merge(self, result: DecodeResult, answer: Answer) -> DecodeResult:
        """``result`` with this client's answer in it."""
        ...

    def deferred(self, deadline: float, answer: Answer | None) -> Answer:
        """What a deferred failure is alerted with meanwhile (``answer``: ``None`` when late)."""
        ...

    def retryable(self, answer: Answer, failure: Failure, first_seen: float) -> bool:
        """Whether ``answer`` is worth a later try (``first_seen``: wall time)."""
        ...


class BatchDecoder(Protocol):
    """What ``watch`` drives once per batch: the pipeline's decoder, with retries and a close."""

    def decode_many(
        self, failures: Iterable[Failure]
    ) -> Iterator[tuple[Failure, DecodeResult]]: ...

    def retry_due(self) -> bool: ...

    def close(self) -> None: ...


__all__ = ["Answer", "AwsSettings", "BatchDecoder", "Call", "LookupClient", "WatchPolicy"]
