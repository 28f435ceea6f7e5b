"""What kind of principal an ARN names, and which ARN its policy lives on."""

from __future__ import annotations

import re

from diagnostics.iam.arns import principal_for_policy

# Linear: anchored; literal ':' between fixed classes.
_IAM_ARN = re.compile(r"^arn:(aws[a-z-]*):(iam|sts)::(\d{12}):(.+)$")

PRINCIPAL_TYPES: tuple[str, ...] = (
    "user",
    "assumed-role",
    "role",
    "root",
    "federated-user",
    "service",
    "anonymous",
    "unknown",
)


def principal_type(arn: str | None) -> str:
    """One of ``PRINCIPAL_TYPES`` for the principal a message names."""
    if not arn:
        return "unknown"
    if arn in {"*", "anonymous"}:
        return "anonymous"
    if arn.endswith(".amazonaws.com") or arn.endswith(".amazonaws.com.cn"):
        return "service"
    m = _IAM_ARN.match(arn)
    if not m:
        return "unknown"
    service, rest = m.group(2), m.group(4)
    if rest == "root":
        return "root"
    kind = rest.split("/", 1)[0]
    if service == "sts" and kind in {"assumed-role", "federated-user"}:
        return kind
    if service == "iam" and kind in {"user", "role"}:
        return kind
    return "unknown"


def policy_principal(arn: str | None) -> str | None:
    """The ARN whose identity policy governs ``arn``: a session maps to its role."""
    return principal_for_policy(arn) if arn else None


def name_of(arn: str | None) -> str | None:
    """The user, role or federated user name in an IAM or STS ARN."""
    if not arn:
        return None
    m = _IAM_ARN.match(arn)
    if not m:
        return None
    parts = m.group(4).split("/")
    return (
        parts[1] if len(parts) > 1 and parts[0] in {"assumed-role", "federated-user"} else parts[-1]
    )
