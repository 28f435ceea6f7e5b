"""Doubles and helpers for tests, rule authors and benchmarks.

Everything here runs on loopback only and needs no AWS account.  The STS
double is stdlib-only, so importing this package stays cheap.
"""

from __future__ import annotations

from diagnostics.testing.sts_double import (
    StsCall,
    StsDouble,
    decoded_message,
    fake_blob,
)

__all__ = ["StsCall", "StsDouble", "decoded_message", "fake_blob"]
