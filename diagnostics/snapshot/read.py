"""Read a snapshot file: ``authz-diag snapshot`` output or GetAccountAuthorizationDetails JSON.

The snapshot is GetAccountAuthorizationDetails' answer (``UserDetailList``,
``GroupDetailList``, ``RoleDetailList``, ``Policies``, as ``aws iam
get-account-authorization-details`` prints it) with optional keys of our own
beside it: ``Organization`` (SCPs, RCPs, each account's chain),
``ResourcePolicies`` and ``AuthzDiag`` (when, which account, what could not
be read).  So the AWS CLI's output is a snapshot as it is.  Documents may be
objects or URL-encoded JSON strings (the raw API form).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from diagnostics.errors import InputError
from diagnostics.snapshot.model import (
    Document,
    Entity,
    NamedPolicy,
    OrgPolicy,
    OrgTarget,
    ResourcePolicy,
    Snapshot,
)

_GAAD_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


def document(raw: Any) -> Document | None:
    """A policy document from an object, JSON text, or URL-encoded JSON text."""
    if isinstance(raw, Mapping):
        return raw if "Statement" in raw else None
    if not isinstance(raw, str):
        return None
    for text in (raw, urllib.parse.unquote(raw)):
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        return parsed if isinstance(parsed, Mapping) and "Statement" in parsed else None
    return None


def _items(raw: Any) -> list[Mapping[str, Any]]:
    return [x for x in raw if isinstance(x, Mapping)] if isinstance(raw, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _inline(raw: Any, entity: str, notes: list[str]) -> tuple[NamedPolicy, ...]:
    out = []
    for item in _items(raw):
        name = _str(item.get("PolicyName")) or "(unnamed)"
        doc = document(item.get("PolicyDocument"))
        if doc is None:
            notes.append(f"inline policy {name} of {entity} has no readable document")
        out.append(NamedPolicy("inline", doc, name=name, entity=entity))
    return tuple(out)


def _entity(item: Mapping[str, Any], kind: str, notes: list[str]) -> Entity | None:
    arn = _str(item.get("Arn"))
    name = _str(item.get(f"{kind.capitalize()}Name"))
    if arn is None or name is None:
        notes.append(f"a {kind} without Arn or {kind.capitalize()}Name; skipped")
        return None
    inline_key = {"user": "UserPolicyList", "group": "GroupPolicyList", "role": "RolePolicyList"}
    boundary = item.get("PermissionsBoundary")
    return Entity(
        arn=arn,
        name=name,
        kind=kind,
        inline=_inline(item.get(inline_key[kind]), arn, notes),
        managed=tuple(
            a
            for a in (_str(m.get("PolicyArn")) for m in _items(item.get("AttachedManagedPolicies")))
            if a
        ),
        groups=tuple(g for g in item.get("GroupList") or [] if isinstance(g, str)),
        boundary=_str(boundary.get("PermissionsBoundaryArn"))
        if isinstance(boundary, Mapping)
        else None,
    )


def _managed(raw: Any, notes: list[str]) -> dict[str, NamedPolicy]:
    out: dict[str, NamedPolicy] = {}
    for item in _items(raw):
        arn = _str(item.get("Arn"))
        if arn is None:
            continue
        versions = _items(item.get("PolicyVersionList"))
        wanted = _str(item.get("DefaultVersionId"))
        chosen = next((v for v in versions if v.get("IsDefaultVersion") is True), None)
        chosen = chosen or next((v for v in versions if v.get("VersionId") == wanted), None)
        doc = document(chosen.get("Document")) if chosen else None
        if doc is None:
            notes.append(f"managed policy {arn} has no readable default version")
        out[arn] = NamedPolicy("managed", doc, arn=arn, name=_str(item.get("PolicyName")))
    return out


def _target(raw: Mapping[str, Any]) -> OrgTarget | None:
    ident = _str(raw.get("Id"))
    return None if ident is None else OrgTarget(ident, _str(raw.get("Arn")), str(raw.get("Type")))


def _organization(
    raw: Any, notes: list[str]
) -> tuple[dict[str, tuple[OrgTarget, ...]], list[OrgPolicy]]:
    if not isinstance(raw, Mapping):
        return {}, []
    chains: dict[str, tuple[OrgTarget, ...]] = {}
    accounts = raw.get("Accounts")
    for account, chain in accounts.items() if isinstance(accounts, Mapping) else []:
        chains[str(account)] = tuple(t for t in map(_target, _items(chain)) if t)
    policies = []
    for item in _items(raw.get("Policies")):
        kind = str(item.get("Type", "SERVICE_CONTROL_POLICY"))
        layer = "rcp" if kind == "RESOURCE_CONTROL_POLICY" else "scp"
        arn = _str(item.get("Arn"))
        doc = document(item.get("Content"))
        if doc is None:
            notes.append(f"{layer.upper()} {arn or item.get('Id')} has no readable content")
        named = NamedPolicy(
            layer, doc, arn=arn, name=_str(item.get("Name")) or _str(item.get("Id"))
        )
        targets = tuple(t for t in item.get("Targets") or [] if isinstance(t, str))
        policies.append(OrgPolicy(named, kind, targets))
    return chains, policies


def _resources(raw: Any, notes: list[str]) -> list[ResourcePolicy]:
    out = []
    for item in _items(raw):
        arn = _str(item.get("Resource"))
        doc = document(item.get("Policy"))
        if arn is None or doc is None:
            notes.append(
                f"resource policy of {arn or 'an unnamed resource'} is unreadable; skipped"
            )
            continue
        out.append(
            ResourcePolicy(arn, _str(item.get("Account")), NamedPolicy("resource", doc, arn=arn))
        )
    return out


def parse_snapshot(obj: Any, source: str) -> Snapshot:
    """A snapshot from parsed JSON; ``InputError`` naming ``source`` when it holds none."""
    if not isinstance(obj, Mapping) or not any(k in obj for k in (*_GAAD_KEYS, "Organization")):
        raise InputError(
            f"{source} is not a snapshot: expected the JSON of `aws iam "
            "get-account-authorization-details` (UserDetailList, RoleDetailList, Policies ...) "
            "or of `authz-diag snapshot --out FILE`"
        )
    notes: list[str] = []
    users = [_entity(i, "user", notes) for i in _items(obj.get("UserDetailList"))]
    groups = [_entity(i, "group", notes) for i in _items(obj.get("GroupDetailList"))]
    roles = [_entity(i, "role", notes) for i in _items(obj.get("RoleDetailList"))]
    chains, org_policies = _organization(obj.get("Organization"), notes)
    meta = obj.get("AuthzDiag") if isinstance(obj.get("AuthzDiag"), Mapping) else {}
    assert isinstance(meta, Mapping)
    found = [*users, *groups, *roles]
    accounts = {e.account for e in found if e is not None}
    if _str(meta.get("Account")):
        accounts.add(str(meta["Account"]))
    return Snapshot(
        users=tuple(u for u in users if u),
        roles=tuple(r for r in roles if r),
        groups=tuple(g for g in groups if g),
        managed=_managed(obj.get("Policies"), notes),
        chains=chains,
        org_policies=tuple(org_policies),
        resource_policies=tuple(_resources(obj.get("ResourcePolicies"), notes)),
        collected_at=_str(meta.get("CollectedAt")),
        accounts=frozenset(accounts),
        unreadable=tuple(str(x) for x in meta.get("Unreadable") or [] if isinstance(x, str)),
        notes=tuple(dict.fromkeys(notes)),
    )


def merge(snapshots: Iterable[Snapshot]) -> Snapshot:
    """Several accounts' snapshots as one (a cross-account request needs both sides)."""
    parts = list(snapshots)
    managed: dict[str, NamedPolicy] = {}
    chains: dict[str, tuple[OrgTarget, ...]] = {}
    for part in parts:
        managed.update(part.managed)
        chains.update(part.chains)
    times = sorted(p.collected_at for p in parts if p.collected_at)
    return Snapshot(
        users=tuple(u for p in parts for u in p.users),
        roles=tuple(r for p in parts for r in p.roles),
        groups=tuple(g for p in parts for g in p.groups),
        managed=managed,
        chains=chains,
        org_policies=tuple(dict.fromkeys(o for p in parts for o in p.org_policies)),
        resource_policies=tuple(r for p in parts for r in p.resource_policies),
        collected_at=times[0] if times else None,
        accounts=frozenset(a for p in parts for a in p.accounts),
        unreadable=tuple(u for p in parts for u in p.unreadable),
        notes=tuple(n for p in parts for n in p.notes),
    )


def load_snapshot(paths: Iterable[str | Path]) -> Snapshot:
    """Read every ``--policies`` file (a directory: its ``*.json`` files) into one snapshot."""
    files: list[Path] = []
    for spec in paths:
        path = Path(spec)
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    if not files:
        raise InputError(
            "--policies names no snapshot file; give a file or a directory of .json files"
        )
    parts = []
    for path in files:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise InputError(
                f"cannot read snapshot {path}: {exc.strerror}; check the path"
            ) from None
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InputError(
                f"{path} is not JSON ({exc}); save `aws iam get-account-authorization-details` "
                "or `authz-diag snapshot --out FILE` output as it is"
            ) from None
        parts.append(parse_snapshot(obj, str(path)))
    return parts[0] if len(parts) == 1 else merge(parts)
