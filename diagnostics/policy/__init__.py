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
    statement_allows_if_set,
    statement_matches,
    statements_of,
)
from diagnostics.policy.merge import (
    PolicyDocument,
    merge_fixes,
    merge_statements,
    policy_size,
    render_policies,
)

__all__ = [
    "PolicyDocument",
    "merge_fixes",
    "merge_statements",
    "policy_size",
    "render_policies",
    "Decision",
    "evaluate",
    "principal_matches",
    "request_keys",
    "statement_allows",
    "statement_allows_if_set",
    "statement_matches",
    "statements_of",
]
