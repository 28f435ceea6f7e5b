"""Account snapshots: the policies in force, read from a saved file or collected live.

``read`` loads a snapshot (``authz-diag snapshot`` output, or the raw JSON of
``aws iam get-account-authorization-details``); ``evaluate`` runs a request
against every layer it holds; ``attribute`` names what denied and the edit
that fixes it; ``collect`` gathers one with read-only credentials (boto3).
Importing this package imports none of them.
"""

from __future__ import annotations
