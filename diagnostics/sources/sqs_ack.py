"""The acknowledging half of the ``sqs`` source: delete delivered messages, extend the rest.

``SqsSource`` (``sqs.py``) receives; this mixin holds what it shares with
the acker thread (the in-flight table) and the acker itself.  A message is
deleted only after the transaction that recorded its alerts has committed
(its id is read back from ``aws_sqs_acked`` through the state lock) *and*
every sink has delivered the notifications its failures wait on
(``SourceContext.delivered``): alerts held only in this worker's state die
with its host.  Until then its visibility keeps being extended; a message
not committed within ``processing_timeout`` is released to reappear (see
the module docstring of ``sqs.py``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from diagnostics.model import Owed
from diagnostics.sources import aws_common
from diagnostics.sources.base import Emit, SourceContext
from diagnostics.support.logconfig import get_logger

log = get_logger()

#: Alerted eventIDs are remembered this long (SQS keeps a message 4 days by default).
EVENT_MEMORY_SECONDS = 4 * 86400
PRUNE_EVERY = 600.0


@dataclass(slots=True)
class InFlight:
    message_id: str
    receipt: str
    received: float
    extended: float
    event_ids: tuple[str, ...] = ()
    #: The notifications its failures wait on, told in the commit.
    owed: tuple[Owed, ...] = ()
    marked: bool = False
    #: Its commit was read back: only delivery is awaited now.
    committed: bool = False
    emitted: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class SqsAcker:
    """Deleting and extending; ``SqsSource.__init__`` sets every attribute below."""

    name: str
    queue_url: str
    visibility_timeout: int
    processing_timeout: float
    _ctx: SourceContext
    _clock: Any
    _sqs: Any
    _lock: threading.Lock
    _room: threading.Condition
    _inflight: dict[str, InFlight]
    #: eventIDs emitted but not yet committed -> message id.
    _pending_ids: dict[str, str]
    _wake: threading.Event
    _stop: threading.Event
    #: Set by ``join()`` after the service's drain: make the final pass.
    _closing: threading.Event
    _last_prune: float

    def _forget(self, entry: InFlight) -> None:
        """Stop tracking a message that will not be deleted; it will reappear."""
        with self._room:
            self._inflight.pop(entry.message_id, None)
            for eid in entry.event_ids:
                if self._pending_ids.get(eid) == entry.message_id:
                    del self._pending_ids[eid]
            self._room.notify_all()
        entry.done.set()

    def _ack_loop(self, emit: Emit) -> None:
        # Runs on after stop(): the service's drain is still committing messages.
        while not self._closing.is_set():
            self._wake.wait(0.2)
            self._wake.clear()
            if self._closing.is_set():
                break
            try:
                self.ack_once()
            except Exception as exc:
                self._ctx.count("sqs_ack_errors")
                log.warning("sqs delete/extend failed; retrying", source=self.name, error=str(exc))
                self._closing.wait(1.0)
        self.final_pass()

    def final_pass(self) -> None:
        """After the drain: delete what committed, hand the rest back to the queue now."""
        try:
            self.ack_once(extend=False)
        except Exception as exc:
            log.warning(
                "sqs final delete failed; those messages will be alerted again elsewhere",
                source=self.name,
                error=str(exc),
            )
        # Uncommitted, or committed but not yet delivered: another worker
        # alerts them (this one may never come back to deliver its spool).
        with self._lock:
            left = list(self._inflight.values())
        self._release_or_warn(left)

    def _release_or_warn(self, entries: list[InFlight]) -> None:
        """``_release``; a failure only delays the messages, so it is logged, not raised."""
        try:
            self._release(entries)
        except Exception as exc:
            log.warning(
                "sqs release failed; the messages reappear after their visibility timeout",
                source=self.name,
                error=str(exc),
            )

    def _release(self, entries: list[InFlight]) -> None:
        """Make undelivered messages visible again at once, for another worker."""
        for i in range(0, len(entries), 10):
            batch = entries[i : i + 10]
            self._sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": e.receipt, "VisibilityTimeout": 0}
                    for n, e in enumerate(batch)
                ],
            )
            self._ctx.count("sqs_released", len(batch))
            for e in batch:
                self._forget(e)

    def ack_once(self, *, extend: bool = True) -> int:
        """Delete delivered messages, extend the others; return how many were deleted."""
        with self._lock:
            entries = list(self._inflight.values())
        self._confirm([e for e in entries if e.marked and not e.committed])
        delivered = [
            e for e in entries if e.committed and (not e.owed or self._ctx.delivered(e.owed))
        ]
        deleted = self._delete(delivered) if delivered else 0
        if extend:
            self._extend([e for e in entries if not e.marked])
            # Committed, waiting on a sink (Slack down): no processing timeout,
            # since releasing them would only alert them twice.
            sent = {id(e) for e in delivered}
            self._extend([e for e in entries if e.committed and id(e) not in sent], idle=False)
        self._prune()
        return deleted

    def _confirm(self, marked: list[InFlight]) -> None:
        """Read back which marked messages' transactions committed; forget the rest."""
        if not marked:
            return
        ids = [e.message_id for e in marked]
        # StateDB.query takes the lock the committing transaction holds, so this
        # read happens after that transaction ended: committed rows or none.
        rows = self._ctx.state.query(
            "SELECT message_id FROM aws_sqs_acked WHERE source = ? AND message_id IN "  # noqa: S608 - only "?" placeholders are formatted in
            f"({aws_common.placeholders(len(ids))})",
            (self.name, *ids),
        )
        committed = {str(r[0]) for r in rows}
        for e in marked:
            if e.message_id in committed:
                e.committed = True
            else:  # the transaction rolled back
                self._ctx.count("sqs_rolled_back")
                self._forget(e)
        with self._room:
            self._room.notify_all()  # committed ones no longer hold a processing slot

    def _delete(self, todo: list[InFlight]) -> int:
        deleted = 0
        for i in range(0, len(todo), 10):
            batch = todo[i : i + 10]
            answer = self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": e.receipt} for n, e in enumerate(batch)],
            )
            for fail in answer.get("Failed", []):
                # Usually an expired receipt: the message reappears and its
                # eventIDs, now recorded, are dropped as duplicates here.
                self._ctx.count("sqs_delete_failed")
                log.warning("sqs delete refused", source=self.name, code=fail.get("Code"))
            deleted += len(batch) - len(answer.get("Failed", []))
            for e in batch:
                self._forget(e)
        if todo:
            with self._ctx.state.transaction() as conn:
                conn.executemany(
                    "DELETE FROM aws_sqs_acked WHERE source = ? AND message_id = ?",
                    [(self.name, e.message_id) for e in todo],
                )
        self._ctx.count("sqs_messages_deleted", deleted)
        return deleted

    def _extend(self, waiting: list[InFlight], *, idle: bool = True) -> None:
        """Keep ``waiting`` invisible; with ``idle``, release those past processing_timeout."""
        now = self._clock()
        due = [e for e in waiting if now - e.extended >= self.visibility_timeout / 2]
        expired = [e for e in due if idle and now - e.received >= self.processing_timeout]
        for e in expired:
            # Never confirmed (the event failed in the service): let it reappear.
            self._ctx.count("sqs_processing_timeouts")
            log.warning("sqs message not confirmed in time; releasing it", message_id=e.message_id)
            self._forget(e)
        due = [e for e in due if e not in expired]
        for i in range(0, len(due), 10):
            batch = due[i : i + 10]
            self._sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {
                        "Id": str(n),
                        "ReceiptHandle": e.receipt,
                        "VisibilityTimeout": self.visibility_timeout,
                    }
                    for n, e in enumerate(batch)
                ],
            )
            for e in batch:
                e.extended = now
            self._ctx.count("sqs_visibility_extended", len(batch))

    def _prune(self) -> None:
        now = time.time()
        if now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        with self._ctx.state.transaction() as conn:
            conn.execute(
                "DELETE FROM aws_sqs_events WHERE source = ? AND seen < ?",
                (self.name, now - EVENT_MEMORY_SECONDS),
            )
            conn.execute(
                "DELETE FROM aws_sqs_acked WHERE source = ? AND done < ?",
                (self.name, now - EVENT_MEMORY_SECONDS),
            )
