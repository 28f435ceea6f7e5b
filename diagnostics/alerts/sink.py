"""The interface every sink implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from diagnostics.alerts.alert import Alert

Detail = Literal["summary", "full"]


@runtime_checkable
class Sink(Protocol):
    """Where alerts go.

    ``send`` accepts the alerts or raises ``SinkError``; it must return
    quickly (the Slack sink only spools, its worker thread delivers).
    ``close`` flushes what it can within ``timeout`` seconds; ``reopen`` is
    called on SIGHUP (the file sink reopens its path after logrotate).
    """

    name: str
    detail: Detail

    def send(self, alerts: Sequence[Alert]) -> None: ...

    def close(self, timeout: float) -> None: ...

    def reopen(self) -> None: ...


@runtime_checkable
class Spooling(Protocol):
    """A sink whose ``send`` only queues: it says when a group's messages are out.

    Whoever must not forget its input before the alert is delivered (the SQS
    source) asks, through the alert manager, after ``send`` has accepted.
    """

    def posted(self, group_id: str) -> bool:
        """True when nothing ``send`` accepted for ``group_id`` is still waiting."""
        ...
