"""IAM Access Troubleshooter (iam-toolbox): authorization IDs, their details, diagnosis.

``Resolver`` calls the API (boto3, imported lazily); ``DetailsCache`` keeps
the answers like decoded messages; ``parse_details``, ``diagnose_details`` and
``judge_details`` turn an answer into attributed findings and re-checked
fixes.  Importing this package imports none of its modules (nor boto3) and
reads nothing: each name is loaded when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from diagnostics.support.lazy import lazy_exports

if TYPE_CHECKING:
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

__getattr__ = lazy_exports(
    __name__,
    {
        "AuthorizationDetails": "details",
        "DetailsCache": "cache",
        "ResolveResult": "resolver",
        "Resolver": "resolver",
        "diagnose_details": "diagnose",
        "failure_from_details": "verdict",
        "judge_details": "verdict",
        "looks_like_details": "details",
        "parse_details": "details",
        "policies_to_fetch": "answers",
    },
)
