"""Storms: many new groups for one scope collapse into one alert.

A flood of distinct failures (one principal probing every action, a log
writer inventing principals in one account, or forged lines naming a new
account each time) would otherwise open one group, and send one alert, per
failure.  In the spirit of a burst alert, new groups are counted in four
scopes within ``storm_window``: their principal and their account (more
than ``storm_threshold``), their source (more than
``storm_source_threshold``) and all of them together (more than
``storm_global_threshold``).  When a scope crosses its threshold, every
later new group of that scope (while they keep coming within the window)
is folded into one storm group, whose alert carries the counts, the most
frequent actions and the most frequent accounts.

For a principal or an account, the scope's groups not yet notified fold in
too: they all name that principal or account, which the storm alert names.
A source or global storm takes only the groups from the crossing on: the
groups opened before it may belong to unrelated accounts (a real denial
just before a flood) and keep their own alerts, so at most a threshold's
worth of first alerts precede the storm.  Groups already notified before
any storm began keep their own alerts.  ``storm_threshold = 0`` turns every
scope off; a source or global threshold of 0 turns that scope off alone.

The window is counted in memory (a restart starts it again); storm groups
themselves are rows like any group, so an ongoing storm survives a restart.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict, deque
from dataclasses import dataclass

import orjson

from diagnostics.alerts.keys import GroupKey
from diagnostics.alerts.settings import AlertSettings
from diagnostics.model import JSONObject, SourceRef

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_storms (
    group_id TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    members INTEGER NOT NULL DEFAULT 0,
    actions TEXT NOT NULL,
    accounts TEXT NOT NULL DEFAULT '{}'
);
"""

#: Decision label of a storm group (group keys otherwise say explicit/implicit).
STORM = "storm"
#: Actions (and accounts) a storm remembers counts for; the rest are summed as "other".
MAX_ACTIONS = 50
#: Most frequent actions (and accounts) shown in a storm alert.
TOP_ACTIONS = 5
#: Scopes whose recent group openings are remembered (bounded memory in a flood).
MAX_SCOPES = 10_000
#: Scopes whose not-yet-notified groups fold into their storm (see the module doc).
FOLDING = frozenset({"principal", "account"})


@dataclass(frozen=True, slots=True)
class Scope:
    """What a storm is about: one principal, account or source, or everything ("global")."""

    kind: str  # "principal" | "account" | "source" | "global"
    value: str

    @property
    def folds(self) -> bool:
        return self.kind in FOLDING

    def key(self, account: str | None) -> GroupKey:
        # (account, principal, resource) labels: a source storm keeps the
        # source's name as its resource, the one label that can tell sources apart.
        labels: dict[str, tuple[str | None, str | None, str | None]] = {
            "principal": (account, self.value, None),
            "account": (self.value, None, None),
            "source": (None, None, self.value),
        }
        acct, principal, resource = labels.get(self.kind, (None, None, None))
        return GroupKey(
            account=acct,
            principal=principal,
            action=None,
            resource=resource,
            decision=STORM,
            policy_type=None,
        )


def source_name(ref: SourceRef) -> str | None:
    """The input a failure came from, as one name per input.

    A file by the name ``watch`` opened it under (a rotated file counts with
    its original), an S3 bucket rather than each object, an SQS queue rather
    than each message, a socket rather than each connection.
    """
    path = ref.rotated_from or ref.path
    if not path:
        return None
    if path.startswith("s3://"):
        return "s3://" + path[5:].split("/", 1)[0]
    if path.startswith("sqs:"):
        return path.split("/", 1)[0]
    if path.startswith("socket:"):
        return path.split("#", 1)[0]
    return path


def scopes_of(key: GroupKey, source: str | None = None) -> list[Scope]:
    """The scopes a new group counts towards, narrowest first."""
    out: list[Scope] = []
    if key.principal:
        out.append(Scope("principal", key.principal))
    if key.account:
        out.append(Scope("account", key.account))
    if source:
        out.append(Scope("source", source))
    out.append(Scope("global", ""))
    return out


def threshold(settings: AlertSettings, scope: Scope) -> int:
    """New groups above which ``scope`` storms; 0 when storms are off for it."""
    if settings.storm_threshold <= 0:
        return 0
    if scope.kind == "source":
        return settings.storm_source_threshold
    if scope.kind == "global":
        return settings.storm_global_threshold
    return settings.storm_threshold


def threshold_key(scope: Scope) -> str:
    """The ``[alerts]`` key that sets ``scope``'s threshold (named in log hints)."""
    return {"source": "storm_source_threshold", "global": "storm_global_threshold"}.get(
        scope.kind, "storm_threshold"
    )


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


def upgrade(conn: sqlite3.Connection) -> None:
    """Add what an older version's ``alert_storms`` lacks (CREATE IF NOT EXISTS adds no column)."""
    names = {str(r[1]) for r in conn.execute("PRAGMA table_info(alert_storms)")}
    if "accounts" not in names:
        conn.execute("ALTER TABLE alert_storms ADD COLUMN accounts TEXT NOT NULL DEFAULT '{}'")


def _bump(counts: dict[str, int], name: str, n: int) -> None:
    if name not in counts and len(counts) >= MAX_ACTIONS:
        name = "other"
    counts[name] = counts.get(name, 0) + n


def record(conn: sqlite3.Connection, group_id: str, scope: Scope, action: str | None, *,
           members: int = 1, account: str | None = None) -> None:  # fmt: skip
    """Count ``members`` new groups with ``action`` and ``account`` into the storm ``group_id``."""
    row = conn.execute(
        "SELECT members, actions, accounts FROM alert_storms WHERE group_id = ?", (group_id,)
    ).fetchone()
    count, actions, accounts = (
        (int(row[0]), orjson.loads(row[1]), orjson.loads(row[2])) if row else (0, {}, {})
    )
    _bump(actions, action or "unknown", members)
    _bump(accounts, account or "unknown", members)
    conn.execute(
        "INSERT OR REPLACE INTO alert_storms (group_id, scope, members, actions, accounts) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            group_id,
            f"{scope.kind}:{scope.value}",
            count + members,
            orjson.dumps(actions).decode(),
            orjson.dumps(accounts).decode(),
        ),
    )


def _top(counts: dict[str, int], label: str) -> list[JSONObject]:
    # "other" sums everything past MAX_ACTIONS names: in a flood spread thin it
    # outnumbers every name, yet it names nothing, so it ranks last.
    ranked = sorted(counts.items(), key=lambda kv: (kv[0] == "other", -kv[1], kv[0]))
    return [{label: name, "groups": n} for name, n in ranked[:TOP_ACTIONS]]


def summary(conn: sqlite3.Connection, group_id: str) -> JSONObject | None:
    """The storm part of an alert: scope, member groups, top actions and accounts."""
    row = conn.execute(
        "SELECT scope, members, actions, accounts FROM alert_storms WHERE group_id = ?",
        (group_id,),
    ).fetchone()
    if row is None:
        return None
    kind, _, value = str(row[0]).partition(":")
    return {
        "scope": kind,
        "value": value,
        "groups": int(row[1]),
        "top_actions": _top(orjson.loads(row[2]), "action"),
        "top_accounts": _top(orjson.loads(row[3]), "account"),
    }


def storm_text(storm: JSONObject) -> str:
    """``37 distinct failures collapsed for principal X; top actions: a (20), b (9)``.

    A source or global storm names its top accounts too: they are what differs.
    """
    tops = ", ".join(f"{t['action']} ({t['groups']})" for t in storm.get("top_actions", []))
    scope = storm.get("scope")
    where = "across all sources" if scope == "global" else f"for {scope} {storm.get('value')}"
    text = (
        f"storm: {storm.get('groups')} distinct failures collapsed {where}; "
        f"top actions: {tops or 'none'}"
    )
    if scope in ("source", "global"):
        shown = storm.get("top_accounts", [])
        accounts = ", ".join(f"{t['account']} ({t['groups']})" for t in shown)
        rest = int(storm.get("groups") or 0) - sum(int(t["groups"]) for t in shown)
        text += f"; top accounts: {accounts or 'none'}"
        text += f" (+{rest} in other accounts)" if rest > 0 else ""
    return text


def delete(conn: sqlite3.Connection, group_ids: list[str]) -> None:
    conn.executemany("DELETE FROM alert_storms WHERE group_id = ?", [(g,) for g in group_ids])
