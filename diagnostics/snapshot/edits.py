"""Apply a fix to a snapshot: an edit of one statement, or added statements.

Used to re-run the request with the fix in place (every layer) and to print
the whole new document (``--format policy``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from diagnostics.model import Fix, FixEdit, JSONObject
from diagnostics.policy import statements_of
from diagnostics.snapshot.model import Entity, NamedPolicy, OrgPolicy, OrgTarget, Snapshot


def edited_document(document: Mapping[str, Any], edit: FixEdit) -> JSONObject:
    """``document`` with statement ``edit.index`` replaced by ``edit.after``."""
    statements: list[Any] = [dict(s) for s in statements_of(document)]
    if edit.after is None or not 0 <= edit.index < len(statements):
        raise ValueError("the edit does not fit this document (no statement at its index)")
    statements[edit.index] = dict(edit.after)
    return {**document, "Statement": statements}


def _appended(policy: NamedPolicy, statements: tuple[JSONObject, ...]) -> NamedPolicy:
    document = policy.document or {"Version": "2012-10-17", "Statement": []}
    return dataclasses.replace(
        policy,
        document={**document, "Statement": [*statements_of(document), *statements]},
    )


def _replace_entity(snap: Snapshot, entity: Entity, new: Entity) -> Snapshot:
    def swap(items: tuple[Entity, ...]) -> tuple[Entity, ...]:
        return tuple(new if e is entity else e for e in items)

    if entity.kind == "user":
        return dataclasses.replace(snap, users=swap(snap.users))
    if entity.kind == "role":
        return dataclasses.replace(snap, roles=swap(snap.roles))
    return dataclasses.replace(snap, groups=swap(snap.groups))


def _edit_policy(snap: Snapshot, policy: NamedPolicy, new: NamedPolicy) -> Snapshot:
    """Put ``new`` wherever ``policy`` lives in ``snap``."""
    if policy.kind == "inline":
        for entity in (*snap.users, *snap.roles, *snap.groups):
            if policy in entity.inline:
                inline = tuple(new if p is policy or p == policy else p for p in entity.inline)
                return _replace_entity(snap, entity, dataclasses.replace(entity, inline=inline))
    if policy.kind in {"scp", "rcp"}:
        org = tuple(
            dataclasses.replace(o, policy=new) if o.policy == policy else o
            for o in snap.org_policies
        )
        return dataclasses.replace(snap, org_policies=org)
    if policy.kind == "resource":
        held = tuple(
            dataclasses.replace(r, policy=new) if r.policy == policy else r
            for r in snap.resource_policies
        )
        return dataclasses.replace(snap, resource_policies=held)
    managed = dict(snap.managed)
    managed[policy.arn or ""] = dataclasses.replace(new, kind="managed")
    return dataclasses.replace(snap, managed=managed)


def find_policy(snap: Snapshot, edit: FixEdit) -> NamedPolicy | None:
    """The snapshot's policy an edit names."""
    if edit.policy_name and edit.entity:
        for entity in (*snap.users, *snap.roles, *snap.groups):
            if entity.arn == edit.entity:
                return next((p for p in entity.inline if p.name == edit.policy_name), None)
        return None
    if edit.resource and edit.layer == "resource":
        held = snap.resource_policy(edit.resource)
        return held.policy if held else None
    for org in snap.org_policies:
        if org.policy.arn == edit.policy_arn:
            return org.policy
    return snap.managed.get(edit.policy_arn or "")


def apply_edit(snap: Snapshot, edit: FixEdit) -> Snapshot:
    """``snap`` with the edit in place; ``ValueError`` when it names no policy of ``snap``."""
    policy = find_policy(snap, edit)
    if policy is None or policy.document is None:
        raise ValueError("the edit names a policy the snapshot does not hold")
    new = dataclasses.replace(policy, document=edited_document(policy.document, edit))
    return _edit_policy(snap, policy, new)


def apply_statements(snap: Snapshot, fix: Fix, principal: str | None) -> Snapshot:
    """``snap`` with the fix's statements added where the fix says (the add-a-statement form)."""
    if not fix.statements:
        return snap
    entity = snap.entity(principal or "") if principal else None
    if fix.target == "identity" and entity is not None:
        added = NamedPolicy("inline", None, name="authz-diag-fix", entity=entity.arn)
        new = dataclasses.replace(entity, inline=(*entity.inline, _appended(added, fix.statements)))
        return _replace_entity(snap, entity, new)
    if fix.target == "permissions_boundary" and entity is not None and entity.boundary:
        boundary = snap.managed.get(entity.boundary)
        if boundary is not None:
            return _edit_policy(snap, boundary, _appended(boundary, fix.statements))
    if fix.target == "resource":
        held = snap.resource_policy(fix.applies_to)
        if held is not None:
            return _edit_policy(snap, held.policy, _appended(held.policy, fix.statements))
    if fix.target in {"scp", "rcp"} and fix.applies_to:
        kind = "SERVICE_CONTROL_POLICY" if fix.target == "scp" else "RESOURCE_CONTROL_POLICY"
        target_id = _target_id(snap, fix.applies_to)
        added = NamedPolicy(fix.target, None, arn=f"authz-diag-fix at {fix.applies_to}")
        org = OrgPolicy(_appended(added, fix.statements), kind, (target_id,))
        return dataclasses.replace(snap, org_policies=(*snap.org_policies, org))
    return snap


def _target_id(snap: Snapshot, key: str) -> str:
    targets: list[OrgTarget] = [t for chain in snap.chains.values() for t in chain]
    return next((t.id for t in targets if key in {t.arn, t.id}), key)
