"""IAM Access Troubleshooter (iam-toolbox): authorization IDs, their details, diagnosis.

``Resolver`` calls the API (boto3, imported lazily); ``DetailsCache`` keeps
the answers like decoded messages; ``parse_details``, ``diagnose_details`` and
``judge_details`` turn an answer into attributed findings and re-checked
fixes.  Importing this package imports no boto3 and reads nothing.
"""

from __future__ import annotations

from diagnostics.troubleshooter.answers import policies_to_fetch
from diagnostics.troubleshooter.cache import DetailsCache
from diagnostics.troubleshooter.details import (
    AuthorizationDetails,
    looks_like_details,
    parse_details,
)
from diagnostics.troubleshooter.diagnose import diagnose_details
from diagnostics.troubleshooter.resolver import Resolver, ResolveResult
from diagnostics.troubleshooter.verdict import failure_from_details, judge_details

__all__ = [
    "AuthorizationDetails",
    "DetailsCache",
    "ResolveResult",
    "Resolver",
    "diagnose_details",
    "failure_from_details",
    "judge_details",
    "looks_like_details",
    "parse_details",
    "policies_to_fetch",
]
