"""Resolved authorization details, keyed by the ID: privileged, so kept like decodes.

The lookup core's cache (``diagnostics.lookup.cache``): the same in-memory
LRU with SQLite write-through, TTL and hourly sweep of expired rows as
decoded messages, in a table of its own.  The key is a SHA-256.
"""

from __future__ import annotations

from diagnostics.lookup.cache import LookupCache


class DetailsCache(LookupCache):
    """``GetRequestAuthorizationDetails`` answers (with their documents) by authorization ID."""

    TABLE = "authorization_details_cache"
