"""The database alerts and sinks use: the state file, or memory without one.

The alert groups and the Slack spool keep their tables in SQL either way, so
one code path serves the daemon (durable) and one-shot runs (memory).
"""

from __future__ import annotations

from diagnostics.support.state import StateDB

#: What alerts and sinks use of ``StateDB`` (kept as a name for readability).
Database = StateDB


def database(state: StateDB | None) -> StateDB:
    return state if state is not None else StateDB.memory()
