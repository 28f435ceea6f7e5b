"""Storms: many new groups for one principal or account collapse into one alert.

A flood of distinct failures (one principal probing every action, or a log
writer inventing principals in one account) would otherwise open one group,
and send one alert, per failure.  In the spirit of a burst alert, when more
than ``storm_threshold`` new groups for one scope open within
``storm_window``, the scope's not-yet-notified groups and every later new one
(while it keeps coming within the window) are folded into one storm group.
Its alert carries the counts and the most frequent actions.  Groups already
notified before the storm began keep their own alerts.

The window is counted in memory (a restart starts it again); storm groups
themselves are rows like any group, so an ongoing storm survives a restart.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict, deque
from dataclasses import dataclass

import orjson

from diagnostics.alerts.keys import GroupKey
from diagnostics.model import JSONObject

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_storms (
    group_id TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    members INTEGER NOT NULL DEFAULT 0,
    actions TEXT NOT NULL
);
"""

#: Decision label of a storm group (group keys otherwise say explicit/implicit).
STORM = "storm"
#: Actions a storm remembers counts for; the rest are summed as "other".
MAX_ACTIONS = 50
#: Most frequent actions shown in a storm alert.
TOP_ACTIONS = 5
#: Scopes whose recent group openings are remembered (bounded memory in a flood).
MAX_SCOPES = 10_000


@dataclass(frozen=True, slots=True)
class Scope:
    """What a storm is about: one principal, or one account."""

    kind: str  # "principal" | "account"
    value: str

    def key(self, account: str | None) -> GroupKey:
        principal = self.value if self.kind == "principal" else None
        return GroupKey(
            account=account if self.kind == "principal" else self.value,
            principal=principal,
            action=None,
            resource=None,
            decision=STORM,
            policy_type=None,
        )


def scopes_of(key: GroupKey) -> list[Scope]:
    """The scopes a new group counts towards, narrowest first."""
    out: list[Scope] = []
    if key.principal:
        out.append(Scope("principal", key.principal))
    if key.account:
        out.append(Scope("account", key.account))
    return out


class OpenedWindow:
    """Recent group openings per scope: (time, group id), pruned to ``window`` seconds."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._seen: OrderedDict[Scope, deque[tuple[float, str]]] = OrderedDict()

    def add(self, scope: Scope, now: float, group_id: str) -> deque[tuple[float, str]]:
        q = self._seen.pop(scope, None) or deque()
        self._seen[scope] = q  # most recently used last
        q.append((now, group_id))
        while q and q[0][0] < now - self.window:
            q.popleft()
        while len(self._seen) > MAX_SCOPES:
            self._seen.popitem(last=False)
        return q

    def clear(self, scope: Scope) -> None:
        self._seen.pop(scope, None)


def record(conn: sqlite3.Connection, group_id: str, scope: Scope, action: str | None,
           members: int = 1) -> None:  # fmt: skip
    """Count ``members`` new groups with ``action`` into the storm ``group_id``."""
    row = conn.execute(
        "SELECT members, actions FROM alert_storms WHERE group_id = ?", (group_id,)
    ).fetchone()
    count, actions = (int(row[0]), orjson.loads(row[1])) if row else (0, {})
    name = action or "unknown"
    if name not in actions and len(actions) >= MAX_ACTIONS:
        name = "other"
    actions[name] = actions.get(name, 0) + members
    conn.execute(
        "INSERT OR REPLACE INTO alert_storms (group_id, scope, members, actions) "
        "VALUES (?, ?, ?, ?)",
        (group_id, f"{scope.kind}:{scope.value}", count + members, orjson.dumps(actions).decode()),
    )


def summary(conn: sqlite3.Connection, group_id: str) -> JSONObject | None:
    """The storm part of an alert: scope, member groups, top actions; None if not a storm."""
    row = conn.execute(
        "SELECT scope, members, actions FROM alert_storms WHERE group_id = ?", (group_id,)
    ).fetchone()
    if row is None:
        return None
    kind, _, value = str(row[0]).partition(":")
    actions: dict[str, int] = orjson.loads(row[2])
    top = sorted(actions.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_ACTIONS]
    return {
        "scope": kind,
        "value": value,
        "groups": int(row[1]),
        "top_actions": [{"action": a, "groups": n} for a, n in top],
    }


def storm_text(storm: JSONObject) -> str:
    """``37 distinct failures collapsed for principal X; top actions: a (20), b (9)``."""
    tops = ", ".join(f"{t['action']} ({t['groups']})" for t in storm.get("top_actions", []))
    return (
        f"storm: {storm.get('groups')} distinct failures collapsed for "
        f"{storm.get('scope')} {storm.get('value')}; top actions: {tops or 'none'}"
    )


def delete(conn: sqlite3.Connection, group_ids: list[str]) -> None:
    conn.executemany("DELETE FROM alert_storms WHERE group_id = ?", [(g,) for g in group_ids])
