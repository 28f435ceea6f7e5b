"""IAM Access Troubleshooter (iam-toolbox): authorization IDs, their details, diagnosis.

Importing this package imports no boto3 and reads nothing.
"""

from __future__ import annotations

from diagnostics.troubleshooter.details import (
    AuthorizationDetails,
    looks_like_details,
    parse_details,
)
from diagnostics.troubleshooter.diagnose import diagnose_details
from diagnostics.troubleshooter.verdict import failure_from_details, judge_details

__all__ = [
    "AuthorizationDetails",
    "diagnose_details",
    "failure_from_details",
    "judge_details",
    "looks_like_details",
    "parse_details",
]
