"""ARN helpers shared by the rule engine and the policy merger."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# Linear: anchored; each class stops at the ':' or '/' that follows it.  The
# account is any text: a pasted ARN is often redacted ("xxxx", "<account id>")
# or cut short, and its fix must still name the role, never the session.
_ASSUMED_ROLE = re.compile(r"^arn:(aws[a-z-]*):sts::([^:/]*):assumed-role/([^/]+)/.+$")


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


# Pure functions of one string, asked about the same principal and resource
# several times per diagnosis (rules, fix checks, notes): a small memo each.
@functools.lru_cache(maxsize=512)
def parse_arn(text: str) -> Arn | None:
    """Split an ARN into its parts, or None when ``text`` is not an ARN."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1] or not parts[2]:
        return None
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])


#: IAM Identity Center roles live under this path (IAM Identity Center User Guide,
#: "Referencing permission sets in resource policies"); newer ones add a region segment.
SSO_ROLE_PATH = "aws-reserved/sso.amazonaws.com/"
_SSO_PREFIX = "AWSReservedSSO_"
_HEX = frozenset("0123456789abcdef")


def _sso_permission_set(role: str) -> str | None:
    """``Admin`` for ``AWSReservedSSO_Admin_0123456789abcdef``, else None."""
    if not role.startswith(_SSO_PREFIX):
        return None
    name, _, suffix = role[len(_SSO_PREFIX) :].rpartition("_")
    return name if name and len(suffix) == 16 and set(suffix) <= _HEX else None


def permission_set_name(arn: str | None) -> str | None:
    """The permission set behind an IAM Identity Center role or session, else None.

    ``assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice`` is permission set ``Admin``.
    """
    name = role_name(arn) if arn else None
    return _sso_permission_set(name) if name else None


@functools.lru_cache(maxsize=512)
def principal_for_policy(arn: str) -> str:
    """The ARN whose policy governs ``arn``: an assumed-role session maps to its role.

    ``arn:aws:sts::111122223333:assumed-role/Deploy/ci-42`` becomes
    ``arn:aws:iam::111122223333:role/Deploy``.  A session ARN does not carry
    the role's path, so the returned ARN has none, except for IAM Identity
    Center roles (``AWSReservedSSO_*``), whose documented path
    ``aws-reserved/sso.amazonaws.com/`` is filled in.  A Principal element
    must name a role by its exact ARN, path included: for a role with
    another path, look the ARN up (``aws iam get-role --role-name X``).
    Anything else (users, roles, root, federated users) is returned as is.
    """
    m = _ASSUMED_ROLE.match(arn.strip())
    if not m:
        return arn.strip()
    partition, account, role = m.groups()
    path = SSO_ROLE_PATH if _sso_permission_set(role) else ""
    return f"arn:{partition}:iam::{account}:role/{path}{role}"


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


#: IAM resource types whose List* and Create* calls describe the resource by path
#: (Service Authorization Reference, IAM resource types; ARN format type/path/name).
_IAM_PATH_TYPES = frozenset(
    {"user", "role", "group", "policy", "instance-profile", "server-certificate", "mfa"}
)


def iam_path_arn(text: str, account: str | None, partition: str = "aws") -> str | None:
    """``arn:aws:iam::111122223333:policy/*`` for ``policy path /``, else None."""
    kind, sep, path = text.strip().partition(" path ")
    if not sep or kind not in _IAM_PATH_TYPES or not account:
        return None
    path = path.strip()
    if not path.startswith("/") or " " in path:
        return None
    if not path.endswith("/"):
        path += "/"
    return f"arn:{partition}:iam::{account}:{kind}{path}*"
