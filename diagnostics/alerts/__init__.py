"""Grouping diagnoses into alerts, on Alertmanager's model and timers."""

from __future__ import annotations

from diagnostics.alerts.alert import Alert, AlertStatus, iso_time
from diagnostics.alerts.keys import GroupKey, group_key, principal_for_group, variant_id
from diagnostics.alerts.manager import AlertManager, default_source
from diagnostics.alerts.settings import AlertSettings, parse_duration

__all__ = [
    "AlertSettings",
    "parse_duration",
    "GroupKey",
    "group_key",
    "principal_for_group",
    "variant_id",
    "Alert",
    "AlertStatus",
    "AlertManager",
    "default_source",
    "iso_time",
]
