"""Resolved authorization details, keyed by the ID: privileged, so kept like decodes.

The same in-memory LRU with SQLite write-through, the same TTL and the same
hourly sweep of expired rows as decoded messages (``DecodeCache``), in a
table of its own.  The key is the ID's SHA-256.
"""

from __future__ import annotations

from diagnostics.decode.cache import DecodeCache


class DetailsCache(DecodeCache):
    """``GetRequestAuthorizationDetails`` answers (with their documents) by authorization ID."""

    TABLE = "authorization_details_cache"
