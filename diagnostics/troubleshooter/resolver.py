"""Resolve authorization IDs with IAM Access Troubleshooter (iam-toolbox), politely.

``Resolver.resolve(failure)`` calls ``GetRequestAuthorizationDetails`` for
``failure.authorization_id`` (following ``nextToken``; the evaluations of all
pages are concatenated), then ``GetRequestAuthorizationPolicy`` for each
policy that matched or that a fix would change, and returns

    {"authorizationId": ID, "requestContext": {...}, "evaluations": [...],
     "policies": [...], "documents": {policyUri: policyDocument, ...}}

with the API's own camelCase keys.  It never raises for AWS trouble: the
``ResolveResult.error`` says what went wrong and what to do.  The decoder's
machinery is reused: a bounded pool, a token bucket before every HTTP
attempt, botocore's retries, per-account roles, and a cache keyed by ID.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from diagnostics.decode import messages as decode_messages
from diagnostics.decode.settings import DecodeSettings
from diagnostics.extract.authorization_id import cut_error_text
from diagnostics.logconfig import get_logger
from diagnostics.model import Failure, JSONObject
from diagnostics.ratelimit import TokenBucket
from diagnostics.troubleshooter import messages as m
from diagnostics.troubleshooter.answers import combine_pages, policies_to_fetch
from diagnostics.troubleshooter.cache import DetailsCache
from diagnostics.troubleshooter.client import NoToolboxModel, ToolboxClients, model_features
from diagnostics.troubleshooter.unresolved import cut as _cut

log = get_logger()

DETAILS = "GetRequestAuthorizationDetails"
POLICY = "GetRequestAuthorizationPolicy"
#: A request has a handful of evaluations; a token loop must not spin forever.
MAX_PAGES = 100
_THROTTLING = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException"})
_EXPIRED_CREDENTIALS = frozenset({"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId"})


@dataclass(frozen=True, slots=True)
class ResolveResult:
    """The details (``None`` when not resolved) and why not, or what is missing."""

    details: JSONObject | None = None
    error: str | None = None
    cached: bool = False
    #: The error kind (``messages`` constants), for retry decisions; ``None`` on success.
    kind: str | None = None


@dataclass(slots=True)
class ResolveStats:
    """Counters of one ``Resolver``."""

    resolves: int = 0
    pages: int = 0
    documents: int = 0
    cache_hits: int = 0
    resolved: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class _Failed(Exception):
    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind


class Resolver:
    """Resolves failures' authorization IDs; thread-safe.

    ``settings`` are the decoder's (credentials, role template, rate,
    concurrency, retries, ``toolbox_endpoint_url``).  ``clock`` is wall time.
    """

    def __init__(
        self,
        settings: DecodeSettings,
        cache: DetailsCache | None = None,
        *,
        bucket: TokenBucket | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.cache = cache if cache is not None else DetailsCache()
        self.stats = ResolveStats()
        self._clock = clock
        self._bucket = bucket or TokenBucket(settings.max_per_second, burst=1.0)
        self._clients = ToolboxClients(settings, self._bucket, clock=clock)
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: dict[str, Future[ResolveResult]] = {}

    # -- public API --------------------------------------------------------------

    def submit(self, failure: Failure) -> Future[ResolveResult]:
        """Resolve on the pool; one call per ID however many failures carry it."""
        local = self._local(failure)
        if local is not None:
            done: Future[ResolveResult] = Future()
            done.set_result(local)
            return done
        key = failure.authorization_id
        assert key is not None
        with self._lock:
            flight = self._inflight.get(key)
            if flight is None:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        max_workers=self.settings.concurrency, thread_name_prefix="resolve"
                    )
                flight = self._pool.submit(self._remote, failure, key)
                self._inflight[key] = flight
                flight.add_done_callback(self._landed_callback(key))
        return flight

    def resolve(self, failure: Failure) -> ResolveResult:
        """Resolve one failure now (on the caller's thread); never raises for AWS trouble."""
        local = self._local(failure)
        if local is not None:
            return local
        assert failure.authorization_id is not None
        return self._remote(failure, failure.authorization_id)

    def cached(self, failure: Failure) -> ResolveResult | None:
        """The answer without any call: local problems and the cache, else ``None``."""
        return self._local(failure)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Resolver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------

    def _landed_callback(self, key: str) -> Callable[[Future[ResolveResult]], None]:
        def landed(_done: Future[ResolveResult]) -> None:
            with self._lock:
                self._inflight.pop(key, None)

        return landed

    def _error(self, kind: str, text: str) -> ResolveResult:
        with self._lock:
            self.stats.errors[kind] = self.stats.errors.get(kind, 0) + 1
        return ResolveResult(error=text, kind=kind)

    def _local(self, failure: Failure) -> ResolveResult | None:
        if failure.authorization_id is None:
            if _cut(failure):
                return ResolveResult(error=cut_error_text(), kind="cut")
            return ResolveResult()
        entry = self.cache.get(failure.authorization_id)
        if entry is None:
            return None
        with self._lock:
            self.stats.cache_hits += 1
        return ResolveResult(details=entry.decoded, error=entry.error, cached=True)

    def _remote(self, failure: Failure, key: str) -> ResolveResult:
        with self._lock:
            self.stats.resolves += 1
        try:
            details, problem = self._fetch(failure, key)
        except _Failed as exc:
            log.warning("resolve_failed", kind=exc.kind, authorization_id=key)
            return self._error(exc.kind, str(exc))
        # A partial answer (documents missing) is still worth keeping, with its note.
        self.cache.put_decoded(key, details)
        with self._lock:
            self.stats.resolved += 1
        return ResolveResult(details=details, error=problem)

    def _fetch(self, failure: Failure, key: str) -> tuple[JSONObject, str | None]:
        client, role_arn = self._client(failure)
        has_policy_op, has_checks = model_features(client)
        pages = self._pages(client, failure, key, role_arn)
        details = combine_pages(key, pages)
        problem = None
        if not has_checks:
            problem = (
                "this botocore's iam-toolbox model predates `checks` (botocore < 1.44.4 drops "
                "them), so the layers that denied are unknown; upgrade botocore"
            )
        uris = policies_to_fetch(details)
        details["documents"] = {}  # always present: the shape is a contract
        if uris and not has_policy_op:
            problem = (problem + "; " if problem else "") + m.documents_text(
                len(uris), "this botocore has no GetRequestAuthorizationPolicy: upgrade it"
            )
            return details, problem
        documents: dict[str, Any] = details["documents"]
        missing: list[str] = []
        for uri in uris:
            try:
                documents[uri] = self._call(
                    client, failure, role_arn, POLICY, authorizationId=key, policyUri=uri
                ).get("policyDocument")
                with self._lock:
                    self.stats.documents += 1
            except _Failed as exc:
                missing.append(str(exc))
        if missing:
            problem = (problem + "; " if problem else "") + m.documents_text(
                len(missing), missing[0]
            )
        return details, problem

    def _client(self, failure: Failure) -> tuple[Any, str | None]:
        from botocore.exceptions import NoCredentialsError, PartialCredentialsError

        try:
            return self._clients.client_for(failure.account_id)
        except NoToolboxModel as exc:
            raise _Failed(m.NO_MODEL, m.no_model_text(str(exc))) from None
        except decode_messages.DecodeFailed as exc:
            if exc.kind == decode_messages.NO_CREDENTIALS:
                raise _Failed(m.NO_CREDENTIALS, m.no_credentials_text()) from None
            raise _Failed(m.ROLE_DENIED, m.role_denied_text(str(exc))) from None
        except (NoCredentialsError, PartialCredentialsError):
            raise _Failed(m.NO_CREDENTIALS, m.no_credentials_text()) from None
        except Exception as exc:  # AssumeRole throttled or unreachable
            raise self._classify(exc, failure, None, DETAILS) from None

    def _pages(
        self, client: Any, failure: Failure, key: str, role_arn: str | None
    ) -> list[JSONObject]:
        pages: list[JSONObject] = []
        token: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            params: dict[str, str] = {"authorizationId": key}
            if token is not None:
                params["nextToken"] = token
            page = self._call(client, failure, role_arn, DETAILS, **params)
            with self._lock:
                self.stats.pages += 1
            pages.append(page)
            token = page.get("nextToken")
            if not token or token in seen:
                break
            seen.add(token)
        return pages

    def _call(
        self, client: Any, failure: Failure, role_arn: str | None, operation: str, **params: str
    ) -> JSONObject:
        from botocore.exceptions import ClientError

        method = getattr(
            client,
            "get_request_authorization_details"
            if operation == DETAILS
            else "get_request_authorization_policy",
        )
        try:
            answer: JSONObject = method(**params)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _EXPIRED_CREDENTIALS and role_arn is not None:
                self._clients.invalidate(failure.account_id)
            raise self._classify(exc, failure, role_arn, operation) from None
        except Exception as exc:
            raise self._classify(exc, failure, role_arn, operation) from None
        answer.pop("ResponseMetadata", None)
        return answer

    def _classify(
        self, exc: Exception, failure: Failure, role_arn: str | None, operation: str
    ) -> _Failed:
        from botocore.exceptions import (
            ClientError,
            ConnectionError,
            HTTPClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return _Failed(m.NO_CREDENTIALS, m.no_credentials_text())
        if isinstance(exc, (ConnectionError, HTTPClientError)):
            endpoint = self.settings.toolbox_endpoint_url
            text = m.unreachable_text(endpoint, type(exc).__name__, self.settings.timeout)
            return _Failed(m.UNREACHABLE, text)
        if not isinstance(exc, ClientError):
            return _Failed(m.OTHER, m.other_text(type(exc).__name__, str(exc)))
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "ClientError"))
        message = str(error.get("Message", ""))
        meta = exc.response.get("ResponseMetadata", {})
        attempts = int(meta.get("RetryAttempts", 0)) + 1
        status = int(meta.get("HTTPStatusCode", 0))
        if code in _THROTTLING or status == 429:
            return _Failed(m.THROTTLED, m.throttled_text(attempts, self.settings.max_per_second))
        if code in ("AccessDeniedException", "AccessDenied"):
            caller = None if role_arn else self._clients.caller_arn()
            return _Failed(m.ACCESS_DENIED, m.access_denied_text(operation, caller, role_arn))
        if code == "ResourceNotFoundException" and operation == DETAILS:
            text = m.not_found_text(
                failure.authorization_id or "",
                failure_account=failure.account_id,
                caller_account=self._clients.caller_account(role_arn),
                event_time=failure.event_time,
                now=self._clock(),
            )
            return _Failed(m.NOT_FOUND, text)
        if code == "ValidationException":
            return _Failed(m.INVALID, m.invalid_text(message))
        if status >= 500:
            return _Failed(m.SERVICE_ERROR, m.service_error_text(code, attempts))
        return _Failed(m.OTHER, m.other_text(code, message))
