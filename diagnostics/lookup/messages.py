"""Texts of the core itself: the per-account role, a missing profile, an account not allowed.

The clients' own texts (what STS or iam-toolbox said) are in
``decode/messages.py`` and ``troubleshooter/messages.py``.  No text here ever
holds credentials.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from diagnostics.iam.arns import principal_for_policy


def pretty(obj: object) -> str:
    return json.dumps(obj, indent=2)


def missing_profile_detail(exc: Exception) -> str:
    """Which profile botocore looked for, and in which config file."""
    kwargs = getattr(exc, "kwargs", {})
    profile = kwargs.get("profile") if isinstance(kwargs, dict) else None
    config = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    return f"the profile {profile or '(unnamed)'!r} is not in {config}"


def trust_statement(principal_arn: str | None, external_id: str | None) -> dict[str, Any]:
    """The decoder role's trust-policy statement that lets this daemon assume it."""
    statement: dict[str, Any] = {
        "Sid": "AllowAuthzDiagnosticsToDecode",
        "Effect": "Allow",
        "Principal": {
            "AWS": principal_for_policy(principal_arn)
            if principal_arn
            else "<ARN of the role or user the daemon runs as>"
        },
        "Action": "sts:AssumeRole",
    }
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return statement


def assume_statement(role_template: str) -> dict[str, Any]:
    """The daemon's own identity-policy statement allowing it to assume decoder roles."""
    return {
        "Sid": "AllowAssumeDecoderRoles",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": role_template.replace("{account}", "*"),
    }


def role_denied_text(
    *,
    role_arn: str,
    account: str,
    code: str,
    caller: str | None,
    external_id: str | None,
    role_template: str,
) -> str:
    return (
        f"could not assume the decoder role {role_arn} in account {account} ({code}): the "
        "role is missing, or its trust policy does not trust this daemon, or the daemon may "
        "not call sts:AssumeRole on it. Create the role in that account with "
        "sts:DecodeAuthorizationMessage allowed, put this statement in its trust policy:\n"
        f"{pretty(trust_statement(caller, external_id))}\n"
        "and allow the daemon to assume it in its own identity policy:\n"
        f"{pretty(assume_statement(role_template))}"
    )


@dataclass(frozen=True, slots=True)
class ServiceWords:
    """How one client names its service in the texts every client shares."""

    #: "STS", "iam-toolbox".
    service: str
    #: What was throttled ("STS kept throttling DecodeAuthorizationMessage").
    throttled: str
    #: The rate the user lowers, and what else to know when throttled.
    rate: str
    then: str
    #: The default endpoint's name, and what network access to check.
    endpoint: str
    network: str
    #: Said of a 5xx after "on the AWS side".
    note: str = ""

    def throttled_text(self, attempts: int, max_per_second: float) -> str:
        """Throttled past botocore's retries: how to slow down."""
        return (
            f"{self.throttled} after {attempts} attempts; lower the {self.rate} (max_per_second, "
            f"now {max_per_second:g}) or the concurrency, or retry later; {self.then}"
        )

    def unreachable_text(self, endpoint: str | None, detail: str, timeout: float) -> str:
        """No answer (``detail``: botocore's exception): what to check."""
        return (
            f"could not reach {endpoint or self.endpoint} or got no answer within {timeout:g} s "
            f"({detail}); check network access to {self.network} and the region, or run with "
            "--no-decode"
        )

    def service_error_text(self, code: str, attempts: int) -> str:
        """A 5xx past botocore's retries: not the user's to fix."""
        return (
            f"{self.service} failed with {code} after {attempts} attempts; this is on the AWS "
            f"side{self.note}, retry later"
        )


def not_allowed_text(account: str) -> str:
    """A failure naming an account the daemon may not call AWS for."""
    return (
        f"not decoded: the failure names account {account}, which is not in `accounts` "
        "([alerts] accounts), so no AWS call was made for it (no AssumeRole, no decode, no "
        "iam-toolbox); add the account to `accounts` if it is yours"
    )
