"""IAM Access Troubleshooter (iam-toolbox): resolving authorization IDs.

``Resolver`` calls the API (boto3, imported lazily); ``DetailsCache`` keeps
the answers like decoded messages.  Importing this package imports no boto3
and reads nothing.
"""

from __future__ import annotations

from diagnostics.troubleshooter.cache import DetailsCache
from diagnostics.troubleshooter.resolver import Resolver, ResolveResult, policies_to_fetch

__all__ = ["DetailsCache", "ResolveResult", "Resolver", "policies_to_fetch"]
