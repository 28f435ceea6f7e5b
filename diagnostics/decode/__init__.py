"""Decoding encoded authorization messages with STS DecodeAuthorizationMessage.

``Decoder(settings, cache)`` decodes failures concurrently, rate-limited,
with retries, a cache keyed by the blob and per-account decoder roles.
Importing this package does not import boto3.
"""

from __future__ import annotations

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
