"""ARN helpers shared by the rule engine and the policy merger."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Linear: anchored; [^/]+ stops at the '/' that follows it.
_ASSUMED_ROLE = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/.+$")


@dataclass(frozen=True, slots=True)
class Arn:
    """The six parts of an ARN; ``resource`` keeps any further colons."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse_arn(text: str) -> Arn | None:
    """Split an ARN into its parts, or None when ``text`` is not an ARN."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1] or not parts[2]:
        return None
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])


def principal_for_policy(arn: str) -> str:
    """The ARN whose policy governs ``arn``: an assumed-role session maps to its role.

    ``arn:aws:sts::111122223333:assumed-role/Deploy/ci-42`` becomes
    ``arn:aws:iam::111122223333:role/Deploy``.  The session ARN drops the
    role's path, so the returned ARN has none; IAM matches roles by name
    within an account, so the policy still lands on the right role.
    Anything else (users, roles, root, federated users) is returned as is.
    """
    m = _ASSUMED_ROLE.match(arn.strip())
    if not m:
        return arn.strip()
    partition, account, role = m.groups()
    return f"arn:{partition}:iam::{account}:role/{role}"


def role_name(arn: str) -> str | None:
    """The role name of a role ARN or an assumed-role session ARN, else None."""
    parsed = parse_arn(principal_for_policy(arn))
    if parsed is None or parsed.service != "iam" or not parsed.resource.startswith("role/"):
        return None
    return parsed.resource.rsplit("/", 1)[-1]


def user_name(arn: str) -> str | None:
    """The user name of an IAM user ARN (its last path segment), else None."""
    parsed = parse_arn(arn)
    if parsed is None or parsed.service != "iam" or not parsed.resource.startswith("user/"):
        return None
    return parsed.resource.rsplit("/", 1)[-1]
