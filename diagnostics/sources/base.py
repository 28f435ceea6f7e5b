"""What every ``watch`` source shares: the events it emits and the ``Source`` protocol.

A source only reads.  It turns its input into events on one bounded queue:
byte streams (``StreamOpened``/``StreamData``/``StreamClosed``) that the
service feeds through an Extractor, or already extracted failures
(``FoundFailures``, e.g. one CloudTrail delivery).  Checkpoints are written by
the service, inside the same transaction as the alerts the data produced,
through the ``commit`` callbacks a source attaches: that is what makes a
crash cost neither a line nor a duplicate alert.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from diagnostics.model import Failure, Owed

if TYPE_CHECKING:
    from diagnostics.config.table import ConfigTable
    from diagnostics.sources.settings import LimitsConfig, SourceConfig
    from diagnostics.support.state import StateDB

#: ``commit(conn, safe_offset, guard, safe_line)`` records that every byte
#: before ``safe_offset`` was turned into accepted alerts; ``guard`` holds the
#: failures already alerted from bytes after it (re-read after a crash);
#: ``safe_line`` is the number of the line starting at ``safe_offset`` (``None``
#: when the stream's line base is unknown).
StreamCommit = Callable[[sqlite3.Connection, int, tuple[str, ...], int | None], None]
#: Records, in the alerts' transaction, that a unit of input is done.
Mark = Callable[[sqlite3.Connection], None]
#: Told, in the same transaction and before the mark, which notifications the
#: unit's failures wait on (an empty tuple: none, e.g. repeats of a sent alert).
Awaits = Callable[[tuple[Owed, ...]], None]


@dataclass(frozen=True, slots=True)
class StreamOpened:
    """A byte stream starts at ``base_offset`` of ``path``, on line ``base_line``.

    ``base_line`` is ``None`` when the line number at ``base_offset`` is not
    known (a checkpoint from before line numbers were stored): failures are
    then labelled by byte offset and say the line is unknown.
    """

    stream: str
    path: str
    base_offset: int = 0
    commit: StreamCommit | None = None
    #: Guard keys persisted by the last commit: failures not to alert again.
    guard: frozenset[str] = frozenset()
    base_line: int | None = 1
    #: The ``[[source]]`` name the stream belongs to (metrics label).
    source: str = ""


@dataclass(frozen=True, slots=True)
class StreamData:
    """Bytes of a stream; ``path`` is set when the file now has another name (rotated)."""

    stream: str
    data: bytes
    path: str | None = None


#: Seconds a stream may sit still before the extractor decides the records it
#: holds (a blob at the end of the last line may go on on the next one; if no
#: next line comes, it is alerted anyway).  Every byte-stream source uses it.
IDLE_FLUSH = 1.0


@dataclass(frozen=True, slots=True)
class StreamIdle:
    """The stream has been still long enough to decide records the extractor holds.

    A line ending inside a wrapped blob waits for its continuation; when none
    comes (the writer is done), ``Extractor.flush`` reports it as it stands.
    """

    stream: str


@dataclass(frozen=True, slots=True)
class StreamClosed:
    """The stream ended (EOF of a rotated file, a closed connection, truncation).

    ``ack``, when set, is called by the service once the stream's last records
    are diagnosed and committed (True) or failed (False): the socket source
    answers its sender only then.
    """

    stream: str
    reason: str = "eof"
    ack: Callable[[bool], None] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class FoundFailures:
    """Failures a source extracted itself, with the mark that records them done."""

    origin: str
    failures: list[Failure]
    mark: Mark | None = None
    awaits: Awaits | None = None


@dataclass(frozen=True, slots=True)
class SourceFinished:
    """A finite source (stdin) has no more input."""

    source: str


Event = StreamOpened | StreamData | StreamIdle | StreamClosed | FoundFailures | SourceFinished
#: Puts one event on the service queue, blocking while it is full
#: (backpressure).  Returns False when the service is stopping.
Emit = Callable[[Event], bool]


@dataclass(slots=True)
class SourceContext:
    """What a source may use: the state DB (reads, schema), limits, poll interval."""

    state: StateDB
    limits: LimitsConfig
    poll_interval: float = 1.0
    stats: dict[str, int] = field(default_factory=dict)
    #: Whether every sink has delivered these notifications (the service's
    #: alert manager answers; without one, nothing is waited on).
    delivered: Callable[[tuple[Owed, ...]], bool] = field(default=lambda owed: True, repr=False)
    #: Sources count from their own threads; a read-modify-write needs the lock.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.stats[name] = self.stats.get(name, 0) + n


class Source(Protocol):
    """A running input.  ``start`` returns once the input is open (READY=1 follows)."""

    name: str
    #: True when the source ends by itself (stdin); the service exits after it.
    finite: bool

    def start(self, emit: Emit) -> None: ...

    def is_ready(self) -> bool:
        """True once the input is open (files found, socket listening)."""
        ...

    def stop(self) -> None:
        """Stop reading soon; idempotent and callable from any thread."""

    def join(self, timeout: float) -> None: ...


class SourceType(Protocol):
    """A registered ``[[source]]`` type: checks its table, builds the source."""

    def check(self, table: ConfigTable) -> Mapping[str, Any]: ...

    def create(self, config: SourceConfig, ctx: SourceContext) -> Source: ...
