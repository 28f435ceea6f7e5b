"""The Slack incoming-webhook sink: a durable spool drained by a worker thread.

Why ``urllib.request`` and not slack_sdk's ``WebhookClient`` (3.48, read
before choosing): its retry handlers sleep inside ``send()`` on the real
clock, so a 429 or an outage would block the caller and SIGTERM's drain, the
retry state lives only in memory, and timers cannot be injected in tests;
the client also writes the full webhook URL to its logger at DEBUG unless a
logger is configured, and reads ``HTTPS_PROXY`` while ignoring ``NO_PROXY``.
What we need from it, one JSON POST, is a few lines of the standard library,
which applies the proxy environment variables correctly.  Retry-After,
capped exponential backoff, ordering and the bounded spool are ours.
"""

from __future__ import annotations

import email.utils
import http.client
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import orjson

from diagnostics.alerts.alert import Alert
from diagnostics.alerts.memdb import database
from diagnostics.alerts.sink import Detail
from diagnostics.errors import ConfigError, SinkError
from diagnostics.sinks import spool as spool_ranks
from diagnostics.sinks.slack_blocks import build_payload
from diagnostics.sinks.slack_notice import with_drop_notice
from diagnostics.sinks.spool import Dropped, Spool
from diagnostics.support.logconfig import get_logger
from diagnostics.support.ratelimit import TokenBucket
from diagnostics.support.state import StateDB

log = get_logger()

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
#: Seconds between two ``slack.spool_full`` lines: a flood during an outage
#: must not become a flood in the journal (the counts are summed).
DROP_LOG_INTERVAL = 60.0
#: Longest Retry-After honoured; Slack asks for seconds to a minute.
MAX_RETRY_AFTER = 900.0

#: One delivery lock per spool (state file, sink name): a SIGHUP builds a new
#: sink over the same durable spool while the old worker may be mid-POST, and
#: two workers peeking the same message would post it twice.
_SPOOL_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_SPOOL_LOCKS_GUARD = threading.Lock()


def _spool_lock(key: tuple[str, str]) -> threading.Lock:
    with _SPOOL_LOCKS_GUARD:
        return _SPOOL_LOCKS.setdefault(key, threading.Lock())


def _unprintable_at(url: str) -> int | None:
    """1-based position of the first character that is not printable ASCII, if any."""
    for i, ch in enumerate(url, 1):
        if not "!" <= ch <= "~":
            return i
    return None


def check_webhook_url(url: str, where: str) -> str:
    """The URL stripped, if it is https (or http on loopback, for tests). Never echoes it.

    A credential file must hold the URL alone: whitespace, a control
    character or anything outside printable ASCII inside it (a second line
    with a comment, a space pasted in) is refused here, because the HTTP
    client would otherwise refuse it at every retry with an error that quotes
    the URL, secret path included.
    """
    url = url.strip()
    bad = _unprintable_at(url)
    if bad is not None:
        raise ConfigError(
            f"{where}: the Slack webhook URL contains whitespace, a control character or "
            f"a non-ASCII character (character {bad} of {len(url)}); the credential file or "
            "variable must hold the URL alone, on one line, with no comment or space"
        )
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = urlsplit("")
    ok = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)
    if not ok or not parts.hostname:
        raise ConfigError(
            f"{where}: the Slack webhook URL is not an https:// URL; put the incoming "
            "webhook URL Slack gave you (https://hooks.slack.com/services/...) in the "
            "credential file or variable, on one line"
        )
    return url


def retry_after_seconds(value: str | None, now_epoch: float) -> float:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); 1 if absent."""
    if not value:
        return 1.0
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            stamp = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return 1.0
        seconds = stamp - now_epoch
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


def _rank(alert: Alert) -> int:
    """What a full spool keeps longest: a group's first alert, then storm summaries."""
    if alert.status != "new":
        return spool_ranks.REPEAT
    return spool_ranks.STORM if alert.storm else spool_ranks.FIRST


def _scope(alert: Alert) -> str | None:
    """Whose first alert this is, for a full spool: the account, or the principal without one."""
    return alert.key.account or alert.key.principal


Poster = Callable[[bytes], tuple[int | None, dict[str, str], str]]


def _error_class(exc: BaseException) -> str:
    """``URLError(ConnectionRefusedError)``: what failed, without the exception's text."""
    name = exc.__class__.__name__
    reason = getattr(exc, "reason", None)
    if isinstance(exc, urllib.error.URLError) and isinstance(reason, BaseException):
        return f"{name}({reason.__class__.__name__})"
    return name


class SlackSink:
    """Posts alerts to one incoming webhook, at most ``max_per_second``.

    ``send`` only spools (it never waits on Slack).  A worker thread delivers
    the spool in order: 2xx removes a message; 429 waits ``Retry-After``;
    5xx, a timeout or a connection error backs off exponentially (capped);
    400 means Slack rejected this message, which is dropped, counted and
    logged; other 4xx (a revoked webhook) keeps everything and backs off.
    ``start=False`` leaves the worker off so tests drive ``step()`` with an
    injected clock.
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        detail: Detail = "summary",
        channel: str | None = None,
        max_per_second: float = 1.0,
        spool_max: int = 1000,
        timeout: float = 10.0,
        state: StateDB | None = None,
        clock: Callable[[], float] = time.monotonic,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        start: bool = True,
    ) -> None:
        self.name = name
        self.detail: Detail = detail
        self.channel = channel
        self.timeout = timeout
        self.__url = check_webhook_url(url, f"sink {name}")
        self._clock = clock
        self._bucket = TokenBucket(max_per_second, 1.0, clock=clock)
        self._spool = Spool(database(state), f"slack:{name}", spool_max)
        where = str(state.path) if state is not None else f"memory:{id(self)}"
        self._delivering = _spool_lock((where, self._spool.sink))
        self._durable = state is not None
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._failures = 0
        self._not_before = 0.0
        self.delivered = 0
        self.rejected = 0
        self.dropped = 0
        self._drops_logged_at: float | None = None
        self._drops_unlogged = Dropped()
        self._cond = threading.Condition()
        self._stopping = False
        self._drain_deadline: float | None = None
        self._thread: threading.Thread | None = None
        self.post: Poster = self._post
        if start:
            self._thread = threading.Thread(target=self._run, name=f"slack-{name}", daemon=True)
            self._thread.start()

    def __repr__(self) -> str:
        return f"SlackSink(name={self.name!r}, detail={self.detail!r})"

    # -- accepting --------------------------------------------------------------

    def send(self, alerts: Sequence[Alert]) -> None:
        payloads = [orjson.dumps(build_payload(a, self.detail, self.channel)) for a in alerts]
        ranks = [_rank(a) for a in alerts]
        scopes = [_scope(a) for a in alerts]
        groups = [a.id for a in alerts]
        try:
            dropped = self._spool.push(payloads, time.time(), ranks, scopes, groups)
        except Exception as exc:
            raise SinkError(f"cannot spool Slack messages for sink {self.name}: {exc}") from exc
        if dropped:
            self.dropped += dropped.total
            self._log_drops(dropped)
        with self._cond:
            self._cond.notify_all()

    def posted(self, group_id: str) -> bool:
        """Nothing of ``group_id`` waits in the spool: posted, or dropped (and counted)."""
        return not self._spool.holds(group_id)

    def _log_drops(self, dropped: Dropped) -> None:
        """``slack.spool_full`` at most once per DROP_LOG_INTERVAL, with the drops since."""
        self._drops_unlogged += dropped
        now = self._clock()
        if self._drops_logged_at is not None and now - self._drops_logged_at < DROP_LOG_INTERVAL:
            return
        self._drops_logged_at = now
        since = self._drops_unlogged
        log.warning(
            "slack.spool_full",
            sink=self.name,
            dropped=since.total,
            dropped_first=since.first,
            dropped_storm=since.storm,
            dropped_repeat=since.repeat,
            dropped_total=self._spool.dropped(),
            spool_max=self._spool.limit,
            hint=f"Slack has been unreachable and the spool is full; dropped {since.words()}. "
            + (
                "Each account keeps its oldest first alert while there is room for one each. "
                if since.first
                else "No first alert was dropped. "
            )
            + "The next delivered message says what was dropped",
        )
        self._drops_unlogged = Dropped()

    def spooled(self) -> int:
        return len(self._spool)

    # -- delivering -------------------------------------------------------------

    def _post(self, body: bytes) -> tuple[int | None, dict[str, str], str]:
        """POST ``body``; (status or None on a connection error, headers, short reason)."""
        req = urllib.request.Request(  # noqa: S310 - scheme checked in check_webhook_url
            self.__url,
            data=body,
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                return (
                    int(resp.status),
                    dict(resp.headers.items()),
                    resp.read(200).decode("utf-8", "replace"),
                )
        except urllib.error.HTTPError as exc:
            text = exc.read(200).decode("utf-8", "replace") if exc.fp else ""
            return exc.code, dict(exc.headers.items()) if exc.headers else {}, text
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            # The exception's class only (and its cause's, for URLError): the
            # text of an HTTP client error can quote the URL (InvalidURL does),
            # and the URL's path is the webhook's secret.
            return None, {}, _error_class(exc)

    def _backoff(self) -> float:
        self._failures += 1
        return float(min(self._backoff_cap, self._backoff_base * 2 ** (self._failures - 1)))

    def step(self) -> float | None:
        """Try to deliver the oldest message.

        Returns seconds to wait before the next step (0: go on), or None when
        the spool is empty.
        """
        now = self._clock()
        if now < self._not_before:
            return self._not_before - now
        item = self._spool.peek()
        if item is None:
            return None
        wait = self._bucket.try_acquire()
        if wait > 0:
            return wait
        item_id, body = item
        unreported = self._spool.unreported()
        if unreported:
            body = with_drop_notice(body, unreported)
        status, headers, reason = self.post(body)
        now = self._clock()
        if status is not None and 200 <= status < 300:
            self._spool.remove(item_id)
            if unreported:
                self._spool.reported(unreported)
            self.delivered += 1
            self._failures = 0
            return 0.0
        if status == 429:
            lower = {k.lower(): v for k, v in headers.items()}
            delay = retry_after_seconds(lower.get("retry-after"), time.time())
            log.warning("slack.rate_limited", sink=self.name, retry_after=delay)
        elif status == 400:
            # Slack refused this message (invalid_blocks, too long): retrying
            # the same bytes cannot succeed, and it must not block the rest.
            self._spool.remove(item_id)
            self.rejected += 1
            log.error("slack.message_rejected", sink=self.name, status=status, reason=reason[:100])
            return 0.0
        elif status is not None and 400 <= status < 500:
            delay = self._backoff_cap
            log.error(
                "slack.webhook_refused",
                sink=self.name,
                status=status,
                reason=reason[:100],
                hint="the webhook may be revoked; check the credential; alerts stay spooled",
            )
        else:
            delay = self._backoff()
            log.warning(
                "slack.unavailable",
                sink=self.name,
                status=status,
                reason=reason[:100],
                retry_in=delay,
                spooled=len(self._spool),
            )
        self._not_before = now + delay
        return delay

    def _stopped(self) -> bool:
        with self._cond:
            return self._stopping and (self._drain_deadline or 0.0) <= time.monotonic()

    def _step_exclusive(self) -> float | None:
        """``step`` while holding the spool's delivery lock; waits for a previous worker."""
        while not self._delivering.acquire(timeout=0.2):
            if self._stopped():
                return None
        try:
            # Checked again under the lock: a sink closed without draining
            # posts nothing more, even if it was woken to do so.
            if self._stopped():
                return None
            return self.step()
        finally:
            self._delivering.release()

    def _run(self) -> None:
        while True:
            try:
                wait = self._step_exclusive()
            except Exception as exc:
                # Class only: str(exc) of an HTTP client error can hold the URL.
                log.error("slack.worker_error", sink=self.name, error=_error_class(exc))
                wait = self._backoff_cap
            with self._cond:
                if self._stopping:
                    deadline = self._drain_deadline or 0.0
                    left = deadline - time.monotonic()
                    if wait is None or left <= 0 or (wait > left):
                        return
                if wait is None:
                    self._cond.wait()
                elif wait > 0:
                    self._cond.wait(wait)

    # -- lifecycle --------------------------------------------------------------

    def close(self, timeout: float) -> None:
        """Deliver what the spool holds for up to ``timeout`` seconds, then stop.

        ``timeout=0`` (a reload) returns at once: a POST in flight finishes on
        the worker thread, which then exits without taking another message.
        """
        with self._cond:
            self._stopping = True
            self._drain_deadline = time.monotonic() + timeout
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout + 1.0 if timeout > 0 else 0.05)
        if self._drops_unlogged:  # drops inside the last interval, not yet logged
            self._drops_logged_at = None
            self._log_drops(Dropped())
        left = len(self._spool)
        if left and timeout > 0:  # at 0 (a reload) the new sink takes the spool over
            log.warning(
                "slack.closed_with_spooled",
                sink=self.name,
                spooled=left,
                durable=self._durable,
                hint="they are delivered at the next start"
                if self._durable
                else "there is no state directory, so they are lost",
            )

    def reopen(self) -> None:
        """Nothing to reopen; the webhook URL is read once at start."""
