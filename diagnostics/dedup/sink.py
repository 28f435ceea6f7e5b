"""``DedupSink``: a sink wrapper that sends only the notifications this process won.

It sits between the ``AlertManager`` and a real sink, so the alert manager
is unchanged: a notification someone else already sent is dropped (and
counts as delivered), one someone else is sending right now makes ``send``
raise ``SinkError`` so the manager retries it after ``retry_delay``, by
which time the other process has either confirmed it (then it is dropped)
or died (then its lease runs out and this process sends it).

If DynamoDB cannot be reached the wrapper sends anyway and logs it: a
duplicate alert is better than a lost one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from diagnostics.alerts.keys import variant_id
from diagnostics.alerts.sink import Spooling
from diagnostics.errors import SinkError
from diagnostics.support.logconfig import get_logger

if TYPE_CHECKING:
    from diagnostics.alerts.alert import Alert
    from diagnostics.alerts.sink import Detail, Sink
    from diagnostics.dedup.table import DedupTable

log = get_logger()


def notification_key(sink: str, alert: Alert) -> str:
    """Same sink, same group, same distinct failures: the same notification on any host.

    Counts, times and status are left out: two workers that saw the same
    failures a few seconds apart must produce the same key.
    """
    variants = sorted({variant_id(d) for d in alert.diagnoses} or {variant_id(alert.diagnosis)})
    digest = hashlib.sha256("\n".join(variants).encode()).hexdigest()[:16]
    return f"{sink}#{alert.id}#{digest}"


class DedupSink:
    """Wraps ``inner``; same ``name`` and ``detail``, so deliveries are tracked as before."""

    def __init__(self, inner: Sink, table: DedupTable) -> None:
        self.inner = inner
        self.table = table
        self.name: str = inner.name
        self.detail: Detail = inner.detail
        self.suppressed = 0

    def send(self, alerts: Sequence[Alert]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        todo: list[Alert] = []
        keys: list[str] = []
        busy = 0
        for alert in alerts:
            key = notification_key(self.name, alert)
            try:
                claim = self.table.claim(key)
            except (BotoCoreError, ClientError) as exc:
                log.warning(
                    "dedup table unreachable; sending anyway", sink=self.name, error=str(exc)
                )
                claim = "mine"
                key = ""
            if claim == "sent":
                self.suppressed += 1
                log.info("alert already sent by another instance", sink=self.name, group=alert.id)
                continue
            if claim == "busy":
                busy += 1
                continue
            todo.append(alert)
            keys.append(key)
        if todo:
            try:
                self.inner.send(todo)
            except BaseException:
                for key in filter(None, keys):
                    self._quietly(self.table.release, key)
                raise
            confirmed = [k for k in keys if k]
            if confirmed:
                self._quietly(self.table.confirm_many, confirmed)
        if busy:
            raise SinkError(
                f"{busy} alert(s) are being sent by another instance right now; "
                "retrying shortly (dedup_table)"
            )

    def _quietly(self, call: Any, key: Any) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            call(key)
        except (BotoCoreError, ClientError) as exc:
            log.warning("dedup table update failed", sink=self.name, error=str(exc))

    def posted(self, group_id: str) -> bool:
        """The wrapped sink's answer; a sink that does not spool has posted on ``send``."""
        return not isinstance(self.inner, Spooling) or self.inner.posted(group_id)

    def close(self, timeout: float) -> None:
        self.inner.close(timeout)

    def reopen(self) -> None:
        self.inner.reopen()


def wrap_sinks(
    sinks: Sequence[Any], table_name: str, *, window: float, lease: float = 60.0
) -> list[Any]:
    """``sinks`` each wrapped in a ``DedupSink`` over one shared table client.

    The table's region and endpoint come from the environment like every AWS
    client (``AWS_REGION``, ``AWS_ENDPOINT_URL_DYNAMODB``).
    """
    from diagnostics.dedup.table import DedupTable

    table = DedupTable(table_name, window=window, lease=lease)
    return [DedupSink(s, table) for s in sinks]
