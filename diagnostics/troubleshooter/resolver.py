"""Resolve authorization IDs with IAM Access Troubleshooter (iam-toolbox), a thin client.

``Resolver.resolve(failure)`` calls ``GetRequestAuthorizationDetails`` for
``failure.authorization_id`` (following ``nextToken``; the evaluations of all
pages are concatenated), then ``GetRequestAuthorizationPolicy`` for each
policy that matched or that a fix would change, and returns

    {"authorizationId": ID, "requestContext": {...}, "evaluations": [...],
     "policies": [...], "documents": {policyUri: policyDocument, ...}}

with the API's own camelCase keys.  It never raises for AWS trouble: the
``ResolveResult.error`` says what went wrong and what to do.  The pool, the
token bucket, botocore's retries, per-account roles, the cache and the error
table are the lookup core's (``diagnostics.lookup``), as for STS decoding.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future

from diagnostics.decode.settings import DecodeSettings
from diagnostics.extract.parsers.authorization_id import cut_error_text
from diagnostics.lookup import errors as e
from diagnostics.lookup.answer import Answer
from diagnostics.lookup.engine import Lookup
from diagnostics.lookup.handle import LookupHandle
from diagnostics.lookup.key import LookupKey
from diagnostics.lookup.protocol import Call
from diagnostics.lookup.stats import LookupStats
from diagnostics.model import Failure, JSONObject
from diagnostics.support.ratelimit import TokenBucket
from diagnostics.troubleshooter import messages as m
from diagnostics.troubleshooter.answers import combine_pages, policies_to_fetch
from diagnostics.troubleshooter.cache import DetailsCache
from diagnostics.troubleshooter.client import botocore_version, model_features
from diagnostics.troubleshooter.unresolved import cut as _cut

DETAILS = "GetRequestAuthorizationDetails"
POLICY = "GetRequestAuthorizationPolicy"
#: A request has a handful of evaluations; a token loop must not spin forever.
MAX_PAGES = 100

#: A resolve's answer: ``details`` (``None`` when not resolved), ``error``, ``kind``.
ResolveResult = Answer
#: The resolver's counters (``resolves`` are ``calls``, ``resolved`` is ``answered``).
ResolveStats = LookupStats


class ToolboxResolve:
    """The ``LookupClient`` for iam-toolbox GetRequestAuthorizationDetails (and its policies)."""

    name = "resolve"
    words = m.WORDS
    service = "iam-toolbox"

    def __init__(self, settings: DecodeSettings, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.clock = clock

    def endpoint(self) -> str | None:
        return self.settings.toolbox_endpoint_url

    def key(self, failure: Failure) -> LookupKey | None:
        ident = failure.authorization_id
        return None if ident is None else LookupKey(failure.account_id or "", ident)

    def local(self, failure: Failure) -> Answer | None:
        if failure.authorization_id is not None:
            return None
        if _cut(failure):
            return Answer(error=cut_error_text(), kind="cut")
        return Answer()

    def fetch(self, call: Call, failure: Failure, key: LookupKey) -> Answer:
        has_policy_op, has_checks = model_features(call.service_model())
        details = combine_pages(key.ident, self._pages(call, key.ident))
        problem = None
        if not has_checks:
            problem = (
                "this botocore's iam-toolbox model predates `checks` (botocore < 1.44.4 drops "
                "them), so the layers that denied are unknown; upgrade botocore"
            )
        uris = policies_to_fetch(details)
        documents: JSONObject = {}
        details["documents"] = documents  # always present: the shape is a contract
        if uris and not has_policy_op:
            problem = (problem + "; " if problem else "") + m.documents_text(
                len(uris), "this botocore has no GetRequestAuthorizationPolicy: upgrade it"
            )
            return Answer(value=details, error=problem)
        missing: list[str] = []
        for uri in uris:
            try:
                page = call(POLICY, authorizationId=key.ident, policyUri=uri)
            except e.AwsFailure as exc:
                missing.append(str(call.explain(exc.error, failure)))
                continue
            documents[uri] = page.get("policyDocument")
            call.count("documents")
        if missing:
            problem = (problem + "; " if problem else "") + m.documents_text(
                len(missing), missing[0]
            )
        return Answer(value=details, error=problem)

    def _pages(self, call: Call, ident: str) -> list[JSONObject]:
        pages: list[JSONObject] = []
        token: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            params: dict[str, str] = {"authorizationId": ident}
            if token is not None:
                params["nextToken"] = token
            page = call(DETAILS, **params)
            call.count("pages")
            pages.append(page)
            token = page.get("nextToken")
            if not token or token in seen:
                break
            seen.add(token)
        return pages

    def explain(self, error: e.AwsError, failure: Failure, call: Call) -> e.LookupFailed:
        kind = error.kind
        operation = error.operation or DETAILS
        if kind == e.NO_CREDENTIALS:
            text = m.no_credentials_text()
        elif kind == m.NO_MODEL:
            text = m.no_model_text(error.detail)
        elif kind == e.ROLE_DENIED:
            text = m.role_denied_text(error.detail)
        elif kind == e.ACCESS_DENIED:
            caller = None if call.role_arn else call.caller_arn()
            text = m.access_denied_text(operation, caller, call.role_arn)
        elif kind == e.NOT_FOUND and operation == DETAILS:
            text = m.not_found_text(
                failure.authorization_id or "",
                failure_account=failure.account_id,
                caller_account=call.caller_account(),
                event_time=failure.event_time,
                now=self.clock(),
            )
        elif kind == e.INVALID:
            text = m.invalid_text(error.message)
        else:
            kind = e.OTHER
            text = m.other_text(error.code, error.message)
        return e.LookupFailed(kind, text)

    def negative_ttl(self, kind: str) -> float | None:
        return None  # a missing ID may appear later (details are made asynchronously)

    def model_error(self, exc: Exception) -> e.AwsError | None:
        from botocore.exceptions import UnknownServiceError

        if isinstance(exc, UnknownServiceError):
            return e.AwsError(m.NO_MODEL, type(exc).__name__, detail=botocore_version())
        return None


class Resolver(LookupHandle):
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
        self.core = Lookup(
            ToolboxResolve(settings, clock), settings, self.cache, bucket=bucket, clock=clock
        )

    def submit(self, failure: Failure) -> Future[Answer]:
        """Resolve on the pool; one call per ID however many failures carry it."""
        return self.core.submit(failure)

    def resolve(self, failure: Failure) -> Answer:
        """Resolve one failure now (on the caller's thread); never raises for AWS trouble."""
        return self.core.lookup(failure)

    def cached(self, failure: Failure) -> Answer | None:
        """The answer without any call: local problems and the cache, else ``None``."""
        return self.core.cached(failure)
