"""IAM policy evaluation, merging and verification."""

from __future__ import annotations
