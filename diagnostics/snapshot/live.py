"""Collect a snapshot with given credentials settings: what ``watch``'s ``refresh`` runs.

The same collector as ``authz-diag snapshot`` (``collect.py``), with clients
of the lookup core built from the daemon's ``[decode]`` credentials.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from diagnostics.snapshot.collect import Collected, collect

if TYPE_CHECKING:
    from diagnostics.decode.settings import DecodeSettings


class CollectError(Exception):
    """The snapshot could not be collected; the message says why and what to do."""


def collect_live(
    settings: DecodeSettings,
    *,
    account: str | None,
    endpoint: str | None = None,
    resources: Iterable[str] = (),
) -> tuple[str, Collected]:
    """``(account, collected)`` for ``account`` (default: the credentials' own).

    Raises ``CollectError`` when the account cannot be told or IAM cannot be
    read at all: a snapshot without IAM would judge nothing.
    """
    from diagnostics.lookup import errors as e
    from diagnostics.lookup.clients import AwsClients
    from diagnostics.support.ratelimit import TokenBucket

    if endpoint is not None:
        # GetCallerIdentity goes to the settings' STS endpoint: the same one.
        settings = dataclasses.replace(settings, endpoint_url=endpoint)
    bucket = TokenBucket(settings.max_per_second)
    made: dict[str, AwsClients] = {}

    def clients(service: str) -> Any:
        if service not in made:
            made[service] = AwsClients(settings, bucket, service=service, endpoint=endpoint)
        return made[service]

    if account is None:
        try:
            account = clients("sts").caller_account(None)
        except Exception as exc:
            error = e.classify(exc)
            raise CollectError(
                f"cannot tell which account the credentials are in ({error.kind} {error.code}); "
                "check the daemon's credentials ([decode] profile) or set [policies] account"
            ) from None
        if not account:
            raise CollectError("cannot tell which account to collect; set [policies] account")
    try:
        done = collect(lambda s: clients(s).base_client(), account, resources)
    except Exception as exc:
        error = e.classify(exc)
        raise CollectError(f"collecting failed ({error.kind} {error.code})") from None
    if "RoleDetailList" not in done.snapshot:
        why = "; ".join(done.errors) or "iam:GetAccountAuthorizationDetails was denied"
        raise CollectError(
            f"IAM could not be read ({why}); allow iam:GetAccountAuthorizationDetails to the "
            "daemon's credentials (docs/aws-setup.md, Snapshot collection)"
        )
    return account, done
