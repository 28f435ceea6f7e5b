"""The policies of one or more accounts, as frozen dataclasses.

Documents are privileged (they describe who may do what): they stay in
memory and in 0600 files, and nothing here logs or prints them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Policy documents as parsed JSON objects.
Document = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class NamedPolicy:
    """One policy document and where it lives.

    ``arn`` for a managed policy, SCP or RCP; ``name`` and ``entity`` (the
    user, group or role ARN) for an inline one; ``resource`` for a resource policy.
    """

    kind: str  # managed, inline, boundary, scp, rcp, resource
    document: Document | None
    arn: str | None = None
    name: str | None = None
    entity: str | None = None

    @property
    def label(self) -> str:
        """How a person finds it: the ARN, or ``inline NAME on ENTITY``."""
        if self.arn:
            return self.arn
        return f"inline {self.name} on {self.entity}"

    @property
    def owned(self) -> bool:
        """Can the account edit it?  AWS managed policies and AWS's own SCPs are not."""
        arn = self.arn or ""
        return not (arn.startswith("arn:aws:iam::aws:policy/") or "::aws:policy/" in arn)


@dataclass(frozen=True, slots=True)
class Entity:
    """A user or role (or a group, for its policies) with what is attached to it."""

    arn: str
    name: str
    kind: str  # user, role, group
    inline: tuple[NamedPolicy, ...] = ()
    managed: tuple[str, ...] = ()  # managed policy ARNs
    groups: tuple[str, ...] = ()  # group names (users only)
    boundary: str | None = None  # permissions boundary policy ARN

    @property
    def account(self) -> str:
        return self.arn.split(":")[4] if self.arn.count(":") >= 5 else ""


@dataclass(frozen=True, slots=True)
class OrgTarget:
    """A root, OU or account of an organization: its id, ARN, and type."""

    id: str
    arn: str | None
    type: str  # ROOT, ORGANIZATIONAL_UNIT, ACCOUNT


@dataclass(frozen=True, slots=True)
class OrgPolicy:
    """An SCP or RCP and the ids of the targets it is attached to."""

    policy: NamedPolicy
    type: str  # SERVICE_CONTROL_POLICY or RESOURCE_CONTROL_POLICY
    targets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResourcePolicy:
    """A resource's own policy (bucket, key, queue ...) and the account that owns it."""

    resource: str
    account: str | None
    policy: NamedPolicy


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything read from one or more snapshot files."""

    users: tuple[Entity, ...] = ()
    roles: tuple[Entity, ...] = ()
    groups: tuple[Entity, ...] = ()
    managed: Mapping[str, NamedPolicy] = field(default_factory=dict)
    #: account id -> its chain from the root down to the account.
    chains: Mapping[str, tuple[OrgTarget, ...]] = field(default_factory=dict)
    org_policies: tuple[OrgPolicy, ...] = ()
    resource_policies: tuple[ResourcePolicy, ...] = ()
    #: When it was collected (ISO 8601), when the file says.
    collected_at: str | None = None
    #: The accounts whose IAM it holds.
    accounts: frozenset[str] = frozenset()
    #: What could not be read, one sentence each.
    unreadable: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def entity(self, arn: str) -> Entity | None:
        """The user or role an ARN (a session's too) names, matched by account and name."""
        from diagnostics.iam.arns import parse_arn, role_name, user_name

        parsed = parse_arn(arn)
        if parsed is None:
            return None
        role = role_name(arn)
        if role is not None:
            return next(
                (r for r in self.roles if r.name == role and r.account == parsed.account), None
            )
        user = user_name(arn)
        if user is not None:
            return next(
                (u for u in self.users if u.name == user and u.account == parsed.account), None
            )
        return None

    def group(self, name: str, account: str) -> Entity | None:
        return next((g for g in self.groups if g.name == name and g.account == account), None)

    def resource_policy(self, resource: str | None) -> ResourcePolicy | None:
        if not resource:
            return None
        # An S3 object is governed by its bucket's policy.
        wanted = {
            resource,
            resource.split("/", 1)[0] if resource.startswith("arn:aws:s3:::") else resource,
        }
        return next((r for r in self.resource_policies if r.resource in wanted), None)
