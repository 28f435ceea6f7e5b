"""The optional shared dedup table (``[alerts] dedup_table``): one alert across many daemons.

Several ``authz-diag watch`` processes on one SQS queue each group alerts
on their own.  When a worker dies after alerting but before deleting its
messages, another worker alerts the same group again.  ``DedupSink`` wraps
each sink and claims every notification in a DynamoDB table first; only the
claim's winner sends it.
"""

from __future__ import annotations

from diagnostics.dedup.sink import DedupSink, notification_key, wrap_sinks
from diagnostics.dedup.table import Claim, DedupTable, create_table

__all__ = ["Claim", "DedupSink", "DedupTable", "create_table", "notification_key", "wrap_sinks"]
