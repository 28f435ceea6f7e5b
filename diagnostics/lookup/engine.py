"""The lookup core: cache, single-flight, pool, stats, per-account clients, one error table.

``Lookup(client, settings, cache)`` runs one kind of AWS lookup (STS decode or
iam-toolbox) for failures.  It never raises for AWS trouble: the answer's
``error`` says what went wrong and what to do (the client's words).  A
failure that needs no call (no blob or ID, unusable input, a cached answer)
never reaches AWS, and a run with nothing to look up never imports boto3.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any, Literal

from diagnostics.lookup import errors as e
from diagnostics.lookup.answer import Answer
from diagnostics.lookup.cache import LookupCache
from diagnostics.lookup.clients import AwsClients
from diagnostics.lookup.flight import SingleFlight
from diagnostics.lookup.key import LookupKey
from diagnostics.lookup.messages import not_allowed_text
from diagnostics.lookup.pool import LazyPool
from diagnostics.lookup.protocol import AwsSettings, LookupClient
from diagnostics.lookup.stats import LookupStats
from diagnostics.model import Failure, JSONObject
from diagnostics.support.logconfig import get_logger
from diagnostics.support.ratelimit import TokenBucket

log = get_logger()


class BoundCall:
    """The ``Call`` a client's ``fetch`` gets: one botocore client, its role, who calls."""

    def __init__(
        self,
        clients: AwsClients,
        client: Any,
        role_arn: str | None,
        stats: LookupStats | None = None,
        explain: Callable[[e.AwsError, Failure, BoundCall], e.LookupFailed] | None = None,
    ) -> None:
        self._clients = clients
        self._client = client
        self.role_arn = role_arn
        self._stats = stats
        self._explain = explain

    def __call__(self, operation: str, **params: str) -> JSONObject:
        from botocore import xform_name
        from botocore.exceptions import BotoCoreError, ClientError

        if self._client is None:
            raise e.AwsFailure(e.AwsError(e.OTHER, "NoClient", operation=operation))
        try:
            answer: JSONObject = getattr(self._client, xform_name(operation))(**params)
        except (BotoCoreError, ClientError) as exc:
            raise e.AwsFailure(dataclasses.replace(e.classify(exc), operation=operation)) from None
        answer.pop("ResponseMetadata", None)
        return answer

    def caller_arn(self) -> str | None:
        return self._clients.caller_arn()

    def caller_account(self) -> str | None:
        return self._clients.caller_account(self.role_arn)

    def service_model(self) -> Any:
        return None if self._client is None else self._client.meta.service_model

    def count(self, name: Literal["pages", "documents"]) -> None:
        if self._stats is not None:
            self._stats.add(name)

    def explain(self, error: e.AwsError, failure: Failure) -> e.LookupFailed:
        assert self._explain is not None, "only a call made by the core explains"
        return self._explain(error, failure, self)


class Lookup:
    """One AWS lookup for failures, thread-safe; ``client`` says what it asks and how it words it.

    ``bucket`` and ``clock`` (wall time, for credential expiry) are injectable
    for tests; by default the bucket allows ``max_per_second`` with a burst of
    one, so no one-second window sees more than that plus one.
    """

    def __init__(
        self,
        client: LookupClient,
        settings: AwsSettings,
        cache: LookupCache,
        *,
        bucket: TokenBucket | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.settings = settings
        self.cache = cache
        self.stats = LookupStats()
        self.clock = clock
        self._bucket = bucket or TokenBucket(settings.max_per_second, burst=1.0)
        self.clients = AwsClients(
            settings,
            self._bucket,
            service=client.service,
            endpoint=client.endpoint(),
            clock=clock,
            make_error=client.model_error,
        )
        self._flights: SingleFlight[Answer] = SingleFlight()
        self._pool = LazyPool(settings.concurrency, client.name)

    # -- public API --------------------------------------------------------------

    def cached(self, failure: Failure) -> Answer | None:
        """The answer without any call: local problems and the cache, else ``None``."""
        local = self.client.local(failure) or self._not_allowed(failure)
        if local is not None:
            if local.kind is not None:
                self.stats.error(local.kind)
            else:
                self.stats.add("skipped")
            return local
        key = self.client.key(failure)
        assert key is not None, "a client with no local answer names a key"
        entry = self.cache.get(key)
        if entry is None:
            return None
        self.stats.add("cache_hits")
        return Answer(entry.decoded, entry.error, cached=True)

    def _not_allowed(self, failure: Failure) -> Answer | None:
        """Refused before any call: the log names the account, and a forged line could
        otherwise make the daemon assume a role in, and read from, any account."""
        allowed = self.settings.accounts
        account = failure.account_id
        if not allowed or not account or account in allowed:
            return None
        return Answer(error=not_allowed_text(account), kind=e.NOT_ALLOWED)

    def lookup(self, failure: Failure) -> Answer:
        """Look up one failure now (on the caller's thread); never raises for AWS trouble."""
        answer = self.cached(failure)
        if answer is not None:
            return answer
        key = self.client.key(failure)
        assert key is not None
        answer, shared = self._flights.run(key.digest(), lambda: self._remote(failure, key))
        if shared:
            self.stats.add("cache_hits")
            return dataclasses.replace(answer, cached=True)
        return answer

    def submit(self, failure: Failure) -> Future[Answer]:
        """Look up on the pool; one call per key however many failures carry it."""
        answer = self.cached(failure)
        if answer is not None:
            return done(answer)
        key = self.client.key(failure)
        assert key is not None
        return self._flights.submit(
            key.digest(), lambda: self._remote(failure, key), self._pool.get()
        )

    def lookup_many(self, failures: Iterable[Failure]) -> Iterator[tuple[Failure, Answer]]:
        """Look up concurrently; yield ``(failure, answer)`` in input order.

        At most ``4 * concurrency`` failures are held at once, so memory stays
        flat however long the input is.
        """
        window = self.settings.concurrency * 4
        pending: deque[tuple[Failure, Future[Answer]]] = deque()
        try:
            for failure in failures:
                local = self.cached(failure)
                if local is not None:
                    pending.append((failure, done(local)))
                else:
                    pending.append((failure, self._pool.get().submit(self.lookup, failure)))
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
        self._pool.close()

    # -- internals ---------------------------------------------------------------

    def _remote(self, failure: Failure, key: LookupKey) -> Answer:
        self.stats.add("calls")
        try:
            answer = self._fetch(failure, key)
        except e.LookupFailed as exc:
            log.warning(f"{self.client.name}_failed", kind=exc.kind, key_sha256=key.digest()[:16])
            self.stats.error(exc.kind)
            ttl = self.client.negative_ttl(exc.kind)
            if ttl is not None:
                self.cache.put_negative(key, str(exc), ttl)
            return Answer(error=str(exc), kind=exc.kind)
        if answer.value is not None:
            # A partial answer (documents missing) is still worth keeping, without its note.
            self.cache.put_decoded(key, answer.value)
            self.stats.add("answered")
        return answer

    def _fetch(self, failure: Failure, key: LookupKey) -> Answer:
        from botocore.exceptions import BotoCoreError, ClientError

        account = failure.account_id
        for first in (True, False):
            try:
                client, role_arn = self.clients.client_for(account)
            except (e.AwsFailure, BotoCoreError, ClientError) as exc:
                # AssumeRole denied, throttled or failing on the AWS side, or no credentials.
                raise self.explain(
                    e.classify(exc), failure, BoundCall(self.clients, None, None)
                ) from None
            call = BoundCall(self.clients, client, role_arn, self.stats, self.explain)
            try:
                return self.client.fetch(call, failure, key)
            except e.AwsFailure as exc:
                error = exc.error
                if error.kind == e.EXPIRED_CREDENTIALS and role_arn is not None and first:
                    # The role's credentials lapsed early: assume it again, once.
                    self.clients.invalidate(account)
                    continue
                if error.kind == e.EXPIRED_CREDENTIALS:
                    error = dataclasses.replace(error, kind=e.OTHER)
                raise self.explain(error, failure, call) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def explain(self, error: e.AwsError, failure: Failure, call: BoundCall) -> e.LookupFailed:
        """The user's text for ``error``: the core's for the kinds every client shares."""
        words = self.client.words
        if error.kind == e.THROTTLED:
            text = words.throttled_text(error.attempts, self.settings.max_per_second)
        elif error.kind == e.UNREACHABLE:
            text = words.unreachable_text(self.client.endpoint(), error.code, self.settings.timeout)
        elif error.kind == e.SERVICE_ERROR:
            text = words.service_error_text(error.code, error.attempts)
        else:
            return self.client.explain(error, failure, call)
        return e.LookupFailed(error.kind, text)


def done(answer: Answer) -> Future[Answer]:
    """A future that already holds ``answer``."""
    future: Future[Answer] = Future()
    future.set_result(answer)
    return future
