"""Run one request against every layer a snapshot holds, as an Access Troubleshooter answer.

The snapshot's layers become the ``AuthorizationDetails`` the troubleshooter
package already reasons about (diagnostics/troubleshooter/layers.py), so the
attribution, fixes and re-checks are the ones built for AWS's own answers.
Each check's effect comes from the built-in evaluator (diagnostics/policy)
run on that layer's documents.  How layers combine follows the IAM User
Guide, "Policy evaluation logic" and "Cross-account policy evaluation
logic": an explicit deny anywhere wins; every SCP and RCP target from the
root to the account must allow; within one account an identity or a
resource policy may allow, across accounts (and for KMS keys) both must;
a permissions boundary must allow.  Session and VPC endpoint policies are
not in a snapshot.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from diagnostics.iam.arns import parse_arn, principal_for_policy
from diagnostics.model import RequestContext
from diagnostics.policy import evaluate, statement_matches, statements_of
from diagnostics.snapshot.model import Entity, NamedPolicy, OrgPolicy, Snapshot
from diagnostics.troubleshooter.details import (
    AuthorizationDetails,
    Check,
    Evaluation,
    PolicyInfo,
    PolicyMatch,
    StatementRef,
)

_EFFECTS = {"allow": "ALLOW", "implicit_deny": "IMPLICIT_DENY", "explicit_deny": "EXPLICIT_DENY"}
_POLICY_TYPES = {
    "scp": "SERVICE_CONTROL_POLICY",
    "rcp": "RESOURCE_CONTROL_POLICY",
    "resource": "RESOURCE_BASED_POLICY",
    "identity": "IDENTITY_BASED_POLICY",
    "permissions_boundary": "PERMISSIONS_BOUNDARY",
}

_CHECK_TYPES = {
    "scp": "SERVICE_CONTROL_POLICY",
    "rcp": "RESOURCE_CONTROL_POLICY",
    "resource": "RESOURCE",
    "identity": "PRINCIPAL",
    "permissions_boundary": "PERMISSIONS_BOUNDARY",
}


@dataclass(frozen=True, slots=True)
class Layered:
    """A request evaluated against a snapshot: the answer, its context and its policies."""

    details: AuthorizationDetails
    evaluation: Evaluation
    ctx: RequestContext
    #: PolicyInfo.uri -> the snapshot's policy, to edit it.
    policies: dict[str, NamedPolicy]
    #: Policies the verdict depends on whose documents the snapshot lacks.
    gaps: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.evaluation.denied


def _account(arn: str | None) -> str | None:
    parsed = parse_arn(arn or "")
    return parsed.account if parsed and parsed.account else None


def identity_policies(snap: Snapshot, entity: Entity) -> list[NamedPolicy]:
    """The entity's inline and managed policies, and for a user its groups' too."""
    out = list(entity.inline)
    arns = list(entity.managed)
    for name in entity.groups:
        group = snap.group(name, entity.account)
        if group is not None:
            out.extend(group.inline)
            arns.extend(group.managed)
    for arn in dict.fromkeys(arns):
        out.append(snap.managed.get(arn) or NamedPolicy("managed", None, arn=arn))
    return out


def _effect(policies: Sequence[NamedPolicy], ctx: RequestContext) -> str:
    statements = [s for p in policies for s in statements_of(p.document or {})]
    return _EFFECTS[evaluate(statements, ctx)]


def _matched(
    policies: Sequence[NamedPolicy], uris: Sequence[str], ctx: RequestContext, effect: str
) -> tuple[PolicyMatch, ...]:
    want = "deny" if effect == "EXPLICIT_DENY" else "allow"
    out = []
    for policy, uri in zip(policies, uris, strict=True):
        refs = []
        for statement in statements_of(policy.document or {}):
            if str(statement.get("Effect", "")).lower() == want and statement_matches(
                statement, ctx
            ):
                sid = statement.get("Sid")
                refs.append(StatementRef(sid if isinstance(sid, str) else None, want.upper()))
        if refs:
            out.append(PolicyMatch(uri, tuple(refs)))
    return tuple(out)


class _Builder:
    def __init__(self, ctx: RequestContext) -> None:
        self.ctx = ctx
        self.checks: list[Check] = []
        self.infos: dict[str, PolicyInfo] = {}
        self.policies: dict[str, NamedPolicy] = {}
        self.gaps: list[str] = []

    def add(
        self, layer: str, policies: Sequence[NamedPolicy], effect: str, target: str | None = None
    ) -> None:
        uris = []
        for policy in policies:
            if policy.document is None:
                self.gaps.append(policy.label)
            # An inline policy is known by its name, as the troubleshooter's answers do.
            uri = policy.arn or policy.name or policy.label
            if self.policies.get(uri, policy) != policy:
                uri = policy.label
            uris.append(uri)
            old = self.infos.get(uri)
            where = target or policy.entity
            attached = (*(old.attached_to if old else ()), *([where] if where else []))
            self.infos[uri] = PolicyInfo(
                uri=uri,
                policy_type=_POLICY_TYPES[layer],
                inline=policy.kind == "inline",
                attached_to=tuple(dict.fromkeys(attached)),
                document=policy.document,
            )
            self.policies[uri] = policy
        self.checks.append(
            Check(
                _CHECK_TYPES[layer],
                effect,
                target_arn=target,
                matched=_matched(policies, uris, self.ctx, effect),
            )
        )

    def org(self, snap: Snapshot, account: str | None, kind: str) -> None:
        chain = snap.chains.get(account or "")
        mine = [o for o in snap.org_policies if o.type == kind]
        if not chain or not mine:
            return
        layer = "rcp" if kind == "RESOURCE_CONTROL_POLICY" else "scp"
        for target in chain:
            at: list[OrgPolicy] = [o for o in mine if target.id in o.targets]
            policies = [o.policy for o in at]
            effect = _effect(policies, self.ctx)
            self.add(layer, policies, effect, target.arn or target.id)


def request_context(ctx: RequestContext) -> RequestContext:
    """``ctx`` with the keys IAM sets for every request that the evaluator derives too."""
    conditions = dict(ctx.conditions)
    if ctx.principal_arn:
        # A session's aws:PrincipalArn is its role's ARN (IAM global condition keys).
        conditions.setdefault("aws:PrincipalArn", (principal_for_policy(ctx.principal_arn),))
    return dataclasses.replace(ctx, conditions=conditions)


def evaluate_request(snap: Snapshot, ctx: RequestContext) -> Layered | None:
    """The request run against every layer of ``snap``; None when it holds none of them."""
    if not ctx.action or not ctx.principal_arn:
        return None
    ctx = request_context(ctx)
    entity = snap.entity(ctx.principal_arn or "")
    held = snap.resource_policy(ctx.resource)
    if entity is None and held is None:
        return None
    principal_account = _account(ctx.principal_arn)
    resource_account = (
        (held.account if held else None) or _account(ctx.resource) or principal_account
    )
    build = _Builder(ctx)
    build.org(snap, principal_account, "SERVICE_CONTROL_POLICY")
    build.org(snap, resource_account, "RESOURCE_CONTROL_POLICY")
    both = resource_account != principal_account or (ctx.action or "").lower().startswith("kms:")
    e_id = _effect(identity_policies(snap, entity), ctx) if entity else None
    e_res = _effect([held.policy], ctx) if held else None
    if entity is None:
        build.gaps.append(f"the identity policies of {ctx.principal_arn} (not in the snapshot)")
    if held is not None and not both and "EXPLICIT_DENY" not in {e_res, e_id}:
        # Within one account either side may allow: the silent one decides nothing,
        # and an identity fix is the one to offer when neither allows.
        if e_res == "ALLOW" and e_id == "IMPLICIT_DENY":
            e_id = "NO_IMPACT"
        elif e_res == "IMPLICIT_DENY" and e_id is not None:
            e_res = "NO_IMPACT"
    if held is not None:
        assert e_res is not None
        build.add("resource", [held.policy], e_res, ctx.resource)
    if entity is not None:
        assert e_id is not None
        build.add("identity", identity_policies(snap, entity), e_id)
        if entity.boundary:
            boundary = snap.managed.get(entity.boundary) or NamedPolicy(
                "managed", None, arn=entity.boundary
            )
            boundary = dataclasses.replace(boundary, kind="boundary")
            build.add("permissions_boundary", [boundary], _effect([boundary], ctx), entity.arn)
    effects = {c.effect for c in build.checks}
    effect = next((e for e in ("EXPLICIT_DENY", "IMPLICIT_DENY") if e in effects), "ALLOW")
    evaluation = Evaluation(ctx.action or "", ctx.resource, effect, checks=tuple(build.checks))
    keys = [(k, tuple(v)) for k, v in ctx.conditions.items()]
    if ctx.region:
        keys.append(("aws:RequestedRegion", (ctx.region,)))
    details = AuthorizationDetails(None, tuple(keys), (evaluation,), tuple(build.infos.values()))
    return Layered(details, evaluation, ctx, build.policies, tuple(dict.fromkeys(build.gaps)))
