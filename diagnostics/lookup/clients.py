"""boto3 clients for one service: the base credentials and one client per role account.

boto3 is imported here, lazily, the first time a client is needed.  Every
HTTP request any of these clients sends (retries included) first takes a
token from the shared bucket, so the process never exceeds the rate limit.
AssumeRole and GetCallerIdentity always go to STS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from diagnostics.lookup import errors as e
from diagnostics.lookup.messages import missing_profile_detail, role_denied_text
from diagnostics.lookup.protocol import AwsSettings
from diagnostics.support.logconfig import get_logger
from diagnostics.support.ratelimit import TokenBucket

log = get_logger()

#: Renew assumed-role credentials this long before they expire.
REFRESH_MARGIN = 300.0
#: How long a failed AssumeRole is remembered before trying again.
ROLE_FAILURE_TTL = 60.0
#: AssumeRole answers that mean the role cannot be used (not a passing fault).
_ROLE_UNUSABLE = frozenset(
    {"AccessDenied", "AccessDeniedException", "NoSuchEntity", "ValidationError"}
)


@dataclass(slots=True)
class _AccountEntry:
    client: Any
    expires_at: float


class AwsClients:
    """Thread-safe factory and cache of ``service`` clients (boto3 clients are untyped).

    ``make_error`` turns a failure to build a client (a botocore without the
    service's model) into a classified error, or ``None`` to let it out.
    """

    def __init__(
        self,
        settings: AwsSettings,
        bucket: TokenBucket,
        *,
        service: str,
        endpoint: str | None,
        clock: Callable[[], float] = time.time,
        make_error: Callable[[Exception], e.AwsError | None] = lambda _exc: None,
    ) -> None:
        self.settings = settings
        self.service = service
        self.endpoint = endpoint
        self._bucket = bucket
        self._clock = clock
        self._make_error = make_error
        self._lock = threading.Lock()
        self._session: Any = None
        self._base: Any = None
        self._assumer: Any = None
        self._caller: str | None = None
        self._caller_known = False
        self._accounts: dict[str, _AccountEntry] = {}
        self._account_locks: dict[str, threading.Lock] = {}
        self._role_failures: dict[str, tuple[float, e.AwsFailure]] = {}
        #: AssumeRole calls made, by role ARN (observability and tests).
        self.assume_calls: dict[str, int] = {}

    # -- base session ----------------------------------------------------------

    def _boto_session(self) -> Any:
        with self._lock:
            if self._session is None:
                import boto3
                from botocore.exceptions import ProfileNotFound

                try:
                    session = boto3.session.Session(
                        profile_name=self.settings.profile, region_name=self.settings.region
                    )
                except ProfileNotFound as exc:
                    # The profile may come from AWS_PROFILE, and the file from AWS_CONFIG_FILE.
                    detail = missing_profile_detail(exc)
                    raise e.AwsFailure(e.AwsError(e.NO_CREDENTIALS, detail=detail)) from None
                if session.get_credentials() is None:
                    raise e.AwsFailure(e.AwsError(e.NO_CREDENTIALS))
                self._session = session
            return self._session

    def _config(self) -> Any:
        from botocore.config import Config

        return Config(
            retries={
                "mode": self.settings.retry_mode,
                # total_max_attempts counts the first try; max_attempts would not.
                "total_max_attempts": self.settings.max_attempts,
            },
            connect_timeout=self.settings.timeout,
            read_timeout=self.settings.timeout,
            max_pool_connections=max(10, self.settings.concurrency * 2),
        )

    def _new_client(
        self, endpoint_url: str | None, *, service: str | None = None, **credentials: str
    ) -> Any:
        session = self._boto_session()
        try:
            client = session.client(
                service or self.service,
                region_name=session.region_name or "us-east-1",
                endpoint_url=endpoint_url,
                config=self._config(),
                **credentials,
            )
        except Exception as exc:
            error = self._make_error(exc)
            if error is None:
                raise
            raise e.AwsFailure(error) from None
        client.meta.events.register("before-send", self._take_token)
        return client

    def _take_token(self, **_: Any) -> None:
        # Called by botocore before every HTTP attempt; returning None sends it.
        self._bucket.acquire()

    def base_client(self) -> Any:
        """The ``service`` client on the base credentials."""
        if self._base is None:
            client = self._new_client(self.endpoint)
            with self._lock:
                if self._base is None:
                    self._base = client
        return self._base

    def _assume_client(self) -> Any:
        if self._assumer is None:
            endpoint = self.settings.assume_role_endpoint_url or self.settings.endpoint_url
            client = self._new_client(endpoint, service="sts")
            with self._lock:
                if self._assumer is None:
                    self._assumer = client
        return self._assumer

    def caller_arn(self) -> str | None:
        """The base credentials' ARN (GetCallerIdentity cannot be denied), or None."""
        if not self._caller_known:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                self._caller = self._assume_client().get_caller_identity()["Arn"]
            except (BotoCoreError, ClientError, KeyError, e.AwsFailure) as exc:
                log.info("caller_identity_unknown", error=type(exc).__name__)
                self._caller = None
            self._caller_known = True
        return self._caller

    def caller_account(self, role_arn: str | None) -> str | None:
        """The account the calls are made from: the role's, else the base caller's."""
        arn = role_arn or self.caller_arn()
        if not arn:
            return None
        parts = arn.split(":")
        return parts[4] if len(parts) > 5 and parts[4] else None

    # -- per-account clients ---------------------------------------------------

    def client_for(self, account: str | None) -> tuple[Any, str | None]:
        """``(client, role_arn)`` for a lookup of ``account``."""
        role_arn = self.settings.role_arn_for(account)
        if role_arn is None or account is None:
            return self.base_client(), None
        with self._lock:
            lock = self._account_locks.setdefault(account, threading.Lock())
        with lock:  # one AssumeRole per account even when many threads ask at once
            now = self._clock()
            entry = self._accounts.get(account)
            if entry is not None and now < entry.expires_at - REFRESH_MARGIN:
                return entry.client, role_arn
            failed = self._role_failures.get(account)
            if failed is not None and now < failed[0]:
                raise failed[1]
            try:
                entry = self._assume(account, role_arn)
            except e.AwsFailure as exc:
                if exc.error.kind == e.ROLE_DENIED:
                    self._role_failures[account] = (now + ROLE_FAILURE_TTL, exc)
                raise
            self._role_failures.pop(account, None)
            self._accounts[account] = entry
            return entry.client, role_arn

    def invalidate(self, account: str | None) -> None:
        """Forget ``account``'s credentials (AWS said they expired)."""
        if account is not None:
            with self._lock:
                self._accounts.pop(account, None)

    def _assume(self, account: str, role_arn: str) -> _AccountEntry:
        from botocore.exceptions import ClientError

        params: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": self.settings.session_name,
        }
        if self.settings.external_id:
            params["ExternalId"] = self.settings.external_id
        assumer = self._assume_client()
        with self._lock:
            self.assume_calls[role_arn] = self.assume_calls.get(role_arn, 0) + 1
        try:
            answer = assumer.assume_role(**params)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            if code not in _ROLE_UNUSABLE:
                raise  # throttling and 5xx: classified like any call
            assert self.settings.role_arn_template is not None
            text = role_denied_text(
                role_arn=role_arn,
                account=account,
                code=code,
                caller=self.caller_arn(),
                external_id=self.settings.external_id,
                role_template=self.settings.role_arn_template,
            )
            raise e.AwsFailure(e.AwsError(e.ROLE_DENIED, code, detail=text)) from None
        creds = answer["Credentials"]
        client = self._new_client(
            self.endpoint,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        log.info("decoder_role_assumed", role_arn=role_arn, account=account)
        return _AccountEntry(client, creds["Expiration"].timestamp())
