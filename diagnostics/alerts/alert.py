"""The notification a group produces: what sinks receive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from diagnostics.alerts.keys import GroupKey
from diagnostics.model import Diagnosis, JSONObject

AlertStatus = Literal["new", "updated", "repeat"]


def iso_time(stamp: float) -> str:
    """A clock reading as ``2024-05-01T12:00:00Z`` (UTC, whole seconds)."""
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Alert:
    """One group as it is notified.

    ``diagnosis`` is the representative (the first seen); ``diagnoses`` the
    distinct ones (bounded, ``distinct_total`` counts them all).  ``sources``
    are the most recent ``file:line`` / ``cloudtrail:<eventID>`` references
    (``sources_total`` counts them all); ``samples`` the first few input lines.
    ``new_count`` is how many occurrences arrived since the previous
    notification of this group (``count`` for a new group).
    ``notification_id`` names this one notification (group, generation,
    sequence): the same after a restart, so a sink that can read back what it
    wrote (the file sink) can tell it was already delivered.
    """

    key: GroupKey
    status: AlertStatus
    count: int
    first_seen: float
    last_seen: float
    sources: tuple[str, ...]
    samples: tuple[str, ...]
    diagnosis: Diagnosis
    diagnoses: tuple[Diagnosis, ...]
    distinct_total: int = 1
    sources_total: int = 0
    new_count: int = 0
    notification_id: str = ""
    #: Set on a storm alert: scope, member groups and top actions (alerts/storms.py).
    storm: JSONObject | None = None

    @property
    def id(self) -> str:
        return self.key.id

    @property
    def labels(self) -> dict[str, str | None]:
        return self.key.labels()

    def to_json(self) -> JSONObject:
        """The group header of a JSON-lines alert (diagnoses are added by the sink)."""
        return {
            "id": self.id,
            "status": self.status,
            "count": self.count,
            "new_count": self.new_count,
            "first_seen": iso_time(self.first_seen),
            "last_seen": iso_time(self.last_seen),
            "labels": self.labels,
            "sources": list(self.sources),
            "sources_total": self.sources_total,
            "samples": list(self.samples),
            "distinct_total": self.distinct_total,
            **({"notification_id": self.notification_id} if self.notification_id else {}),
            **({"storm": self.storm} if self.storm else {}),
        }
