"""Decoding encoded authorization messages with STS DecodeAuthorizationMessage.

``Decoder(settings, cache)`` decodes failures concurrently, rate-limited,
with retries, a cache keyed by the blob and per-account decoder roles.
Importing this package imports none of its modules (nor boto3): each name is
loaded when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from diagnostics.support.lazy import lazy_exports

if TYPE_CHECKING:
    from diagnostics.decode.cache import DecodeCache
    from diagnostics.decode.decoder import Decoder, DecodeStats
    from diagnostics.decode.messages import DECODE_STATEMENT, DecodeFailed
    from diagnostics.decode.settings import DecodeSettings, default_session_name

__all__ = [
    "DecodeSettings",
    "Decoder",
    "DecodeCache",
    "DecodeStats",
    "DecodeFailed",
    "DECODE_STATEMENT",
    "default_session_name",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "DecodeCache": "cache",
        "Decoder": "decoder",
        "DecodeStats": "decoder",
        "DECODE_STATEMENT": "messages",
        "DecodeFailed": "messages",
        "DecodeSettings": "settings",
        "default_session_name": "settings",
    },
)
