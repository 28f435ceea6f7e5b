"""Decode results keyed by the blob: the lookup core's cache, in its own table.

See ``diagnostics.lookup.cache``: SHA-256 keys (the state file never holds
blobs), a TTL for decoded messages, a shorter one for "invalid or expired"
answers, and an hourly sweep of expired rows.
"""

from __future__ import annotations

from diagnostics.lookup.cache import PRUNE_EVERY, CacheEntry, LookupCache


class DecodeCache(LookupCache):
    """DecodeAuthorizationMessage answers by blob."""

    TABLE = "decode_cache"


__all__ = ["PRUNE_EVERY", "CacheEntry", "DecodeCache"]
