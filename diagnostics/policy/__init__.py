"""IAM policy evaluation, merging and verification.

Nothing here imports boto3 or the IAM dataset at import time.
"""

from __future__ import annotations

from diagnostics.policy.evaluate import (
    Decision,
    evaluate,
    principal_matches,
    request_keys,
    statement_allows,
    statement_matches,
    statements_of,
)

__all__ = [
    "Decision",
    "evaluate",
    "principal_matches",
    "request_keys",
    "statement_allows",
    "statement_matches",
    "statements_of",
]
