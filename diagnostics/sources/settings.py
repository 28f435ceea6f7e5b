"""What a source is handed from the watch config: its own table and the shared limits.

These live with the sources (not in ``service/config``) so that the sources
never import the service that runs them; the service imports them from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    #: Longer lines are cut to this many bytes and counted (never held whole).
    max_line_bytes: int = 1 << 20
    #: Batches in flight between readers and the pipeline (backpressure bound).
    queue_batches: int = 64
    #: Bytes read from one input at a time.
    read_chunk_bytes: int = 64 * 1024
    #: Concurrent connections on a socket source.
    socket_connections: int = 64
    #: Concurrent connections from one peer uid (SO_PEERCRED), so one local
    #: user cannot take every slot; at most ``socket_connections`` (default a quarter).
    socket_connections_per_uid: int = 16
    #: A connection that sends nothing for this long is closed (with an error
    #: line the sender prints); ``authz-diag send`` exits non-zero.
    socket_idle_timeout: float = 600.0
    #: A connection is closed after this long, however busy (a trickling writer).
    socket_max_lifetime: float = 21600.0


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One ``[[source]]`` table: its type, a stable name and the checked options."""

    type: str
    name: str
    options: Mapping[str, Any]
    where: str
