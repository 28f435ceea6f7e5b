"""What a source is handed from the watch config: its own table and the shared limits.

These live with the sources (not in ``service/config``) so that the sources
never import the service that runs them; the service imports them from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from diagnostics.config import ConfigProblem, key


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    """The ``[limits]`` table: bounds every source shares."""

    max_line_bytes: int = key(
        1 << 20, doc="Longer lines are cut to this many bytes and counted (never held whole).",
        example="1048576", minimum=1024,
    )  # fmt: skip
    queue_batches: int = key(
        64, doc="Batches in flight between readers and the pipeline (the backpressure bound).",
        example="64", minimum=1,
    )  # fmt: skip
    read_chunk_bytes: int = key(
        64 * 1024, doc="Bytes read from one input at a time.", example="65536", minimum=512
    )
    socket_connections: int = key(
        64, doc="Concurrent connections on a socket source.", example="64", minimum=1
    )
    socket_connections_per_uid: int = key(
        16,
        doc="Concurrent connections from one peer uid (SO_PEERCRED), so one local user cannot "
        "take every slot; at most socket_connections.",
        example="16",
        minimum=1,
        default_text="socket_connections / 4",
    )
    socket_idle_timeout: float = key(
        600.0,
        doc="A connection that sends nothing for this long is closed (with an error line the "
        "sender prints); authz-diag send exits non-zero.",
        example='"10m"',
        unit="duration",
        minimum=0,
        above=True,
    )
    socket_max_lifetime: float = key(
        21600.0, doc="A connection is closed after this long, however busy (a trickling writer).",
        example='"6h"', unit="duration", minimum=0, above=True,
    )  # fmt: skip

    def config_checked(self, given: frozenset[str]) -> LimitsConfig:
        """The per-uid default from ``socket_connections``; refuse a per-uid cap above it."""
        cfg = self
        if "socket_connections_per_uid" not in given:
            # A quarter of the slots by default, so three other users still get in.
            cfg = replace(self, socket_connections_per_uid=max(1, self.socket_connections // 4))
        if cfg.socket_connections_per_uid > cfg.socket_connections:
            raise ConfigProblem(
                f"key 'socket_connections_per_uid' ({cfg.socket_connections_per_uid}) is above "
                f"'socket_connections' ({cfg.socket_connections}); lower it so one local user "
                "cannot take every connection"
            )
        return cfg


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One ``[[source]]`` table: its type, a stable name and the checked options."""

    type: str
    name: str
    options: Mapping[str, Any]
    where: str
