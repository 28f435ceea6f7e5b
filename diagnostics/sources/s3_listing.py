"""The CloudTrail folders of a delivery bucket, found with delimited ListObjectsV2 calls.

``AWSLogs/[<org-id>/]<account>/CloudTrail/<region>/``: one listing per level,
so a pass never lists the (many) delivery keys of folders it will not read.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from diagnostics.sources.cloudtrail_layout import ACCOUNT, ORG


def children(client: Any, bucket: str, prefix: str) -> list[str]:
    """The next path segment of every "folder" directly under ``prefix``."""
    out: list[str] = []
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, Delimiter="/"
    )
    for page in pages:
        for cp in page.get("CommonPrefixes", []):
            out.append(str(cp["Prefix"])[len(prefix) :].rstrip("/"))
    return out


def trail_folders(
    client: Any,
    bucket: str,
    prefix: str,
    *,
    accounts: Collection[str] = (),
    regions: Collection[str] = (),
) -> list[str]:
    """Every ``.../CloudTrail/<region>/`` folder, limited to ``accounts`` and ``regions``
    when they are given, in account then region order."""
    root = f"{prefix}AWSLogs/"
    account_roots: list[str] = []
    for child in children(client, bucket, root):
        if ORG.fullmatch(child):
            account_roots += [
                f"{root}{child}/{a}/"
                for a in children(client, bucket, f"{root}{child}/")
                if ACCOUNT.fullmatch(a)
            ]
        elif ACCOUNT.fullmatch(child):
            account_roots.append(f"{root}{child}/")
    out: list[str] = []
    for acct_root in sorted(account_roots):
        account = acct_root.rstrip("/").rsplit("/", 1)[-1]
        if accounts and account not in accounts:
            continue
        base = f"{acct_root}CloudTrail/"
        for region in sorted(children(client, bucket, base)):
            if regions and region not in regions:
                continue
            out.append(f"{base}{region}/")
    return out
