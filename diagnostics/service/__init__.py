"""``authz-diag watch``: configuration, the service loop, sd_notify and signals."""

from __future__ import annotations
