"""Name what denied a request in a snapshot, the nearest statement, and the edit that fixes it.

Explicit deny: the policy, its Sid and the condition that matched; the fix
exempts the caller from that statement (an ``ArnNotLike aws:PrincipalArn``
condition), which is a change to a guardrail and says so.  Implicit deny:
the layers with no Allow; for each, the nearest statement of a policy the
account owns (one that allows the action on another resource, the resource
under a condition the request does not meet, or another action of the same
service on the resource) becomes an edit; else a statement to add.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from diagnostics.iam.arns import principal_for_policy
from diagnostics.model import (
    Failure,
    Finding,
    Fix,
    FixEdit,
    JSONObject,
    RequestContext,
    Severity,
)
from diagnostics.policy import request_keys, statement_allows, statement_matches, statements_of
from diagnostics.policy.arn_match import action_matches
from diagnostics.policy.conditions import UnknownOperator, condition_matches
from diagnostics.snapshot.evaluate import Layered
from diagnostics.snapshot.model import NamedPolicy, Snapshot
from diagnostics.troubleshooter.attribution import LAYER_PLURALS, LAYER_WORDS, short_target
from diagnostics.troubleshooter.details import Check

EXPLICIT_RULE = "snapshot-explicit-deny"
IMPLICIT_RULE = "snapshot-implicit-deny"
ALLOWED_RULE = "snapshot-allows"

#: Operators whose list of values a request value can join (IAM condition operators).
_LISTED = frozenset(
    {"stringequals", "stringlike", "stringequalsignorecase", "arnequals", "arnlike"}
)


@dataclass(frozen=True, slots=True)
class Nearest:
    """The statement closest to allowing the request, and that statement edited to allow it."""

    policy: NamedPolicy
    index: int
    before: JSONObject
    after: JSONObject
    why: str


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _base_operator(operator: str) -> str:
    op = operator.split(":", 1)[-1]
    return op[: -len("IfExists")].lower() if op.endswith("IfExists") else op.lower()


def _fixed_condition(statement: JSONObject, ctx: RequestContext) -> JSONObject | None:
    """The statement with each condition the request fails widened to its value, or dropped."""
    block = statement.get("Condition")
    if not isinstance(block, Mapping):
        return None
    keys = request_keys(ctx)
    variables = {k: v[0] for k, v in keys.items() if len(v) == 1}
    fixed: dict[str, dict[str, Any]] = {}
    changed = False
    for operator, entries in block.items():
        if not isinstance(entries, Mapping):
            return None
        for key, wanted in entries.items():
            try:
                holds = condition_matches({operator: {key: wanted}}, keys, variables)
            except UnknownOperator:
                return None
            seen = keys.get(str(key).lower())
            if holds:
                fixed.setdefault(operator, {})[key] = wanted
            elif seen and _base_operator(operator) in _LISTED:
                fixed.setdefault(operator, {})[key] = [*_listed(wanted), *seen]
                changed = True
            else:
                changed = True  # a key the request lacks, or an operator no value can join
    if not changed:
        return None
    after = {k: v for k, v in statement.items() if k != "Condition"}
    if fixed:
        after["Condition"] = fixed
    return after


def _candidates(statement: JSONObject, ctx: RequestContext) -> list[tuple[JSONObject, str]]:
    """Edits of an Allow that would make it cover the request, closest first."""
    out: list[tuple[JSONObject, str]] = []
    resource = ctx.resource
    if "Resource" in statement and resource:
        widened = {**statement, "Resource": "*"}
        if statement_allows(widened, ctx):
            after = {**statement, "Resource": [*_listed(statement["Resource"]), resource]}
            out.append((after, f"allows {ctx.action} on other resources, not on {resource}"))
    if "Condition" in statement and statement_matches({**statement, "Condition": {}}, ctx):
        fixed = _fixed_condition(statement, ctx)
        if fixed is not None:
            out.append((fixed, f"allows {ctx.action} under a condition the request does not meet"))
    service = (ctx.action or "").split(":", 1)[0].lower()
    actions = _listed(statement.get("Action", []))
    same_service = any(str(a).lower().startswith(service + ":") for a in actions)
    if (
        "Action" in statement
        and same_service
        and statement_allows({**statement, "Action": ctx.action}, ctx)
    ):
        after = {**statement, "Action": [*actions, ctx.action]}
        out.append((after, f"allows other {service} actions on the resource, not {ctx.action}"))
    return [(a, why) for a, why in out if statement_allows(a, ctx)]


def nearest(policies: Sequence[NamedPolicy], ctx: RequestContext) -> Nearest | None:
    """The owned Allow statement a single edit turns into one covering the request."""
    found: list[tuple[int, Nearest]] = []
    for policy in policies:
        if not policy.owned or policy.document is None:
            continue
        for index, statement in enumerate(statements_of(policy.document)):
            if str(statement.get("Effect", "")).lower() != "allow":
                continue
            if any(
                action_matches(str(a), ctx.action or "")
                for a in _listed(statement.get("NotAction", []))
            ):
                continue
            for rank, (after, why) in enumerate(_candidates(dict(statement), ctx)):
                found.append((rank, Nearest(policy, index, dict(statement), after, why)))
    found.sort(key=lambda pair: pair[0])
    return found[0][1] if found else None


def exemption(statement: Mapping[str, Any], principal: str) -> JSONObject:
    """The Deny statement, no longer applying to ``principal`` (ArnNotLike aws:PrincipalArn)."""
    after = copy.deepcopy(dict(statement))
    block = after.setdefault("Condition", {})
    arn_not_like = block.setdefault("ArnNotLike", {})
    key = next((k for k in arn_not_like if k.lower() == "aws:principalarn"), "aws:PrincipalArn")
    arn_not_like[key] = [*_listed(arn_not_like.get(key, [])), principal]
    return after


def _edit(
    layer: str,
    *,
    policy: NamedPolicy,
    index: int,
    before: JSONObject,
    after: JSONObject,
    private: bool,
) -> FixEdit:
    sid = before.get("Sid")
    return FixEdit(
        layer=layer,
        sid=sid if isinstance(sid, str) else None,
        index=index,
        policy_arn=policy.arn if policy.kind not in {"inline", "resource"} else None,
        policy_name=policy.name if policy.kind == "inline" else None,
        entity=policy.entity if policy.kind == "inline" else None,
        resource=policy.arn if policy.kind == "resource" else None,
        before=None if private else before,
        after=None if private else after,
    )


def layer_phrase(check: Check, layered: Layered, action: str) -> str:
    """``denied by permissions boundary arn:... (no statement allows s3:PutObject)``."""
    policies = _check_policies(check, layered)
    if check.layer == "permissions_boundary" and policies:
        where = f"permissions boundary {policies[0].label}"
    elif check.layer in {"scp", "rcp"}:
        where = f"the {LAYER_PLURALS[check.layer]} at {short_target(check.target_arn)}"
    elif check.layer == "identity":
        who = principal_for_policy(layered.ctx.principal_arn or "")
        where = f"the identity-based policies of {who}"
    else:
        where = f"the {LAYER_WORDS.get(check.layer, check.layer)} of {layered.ctx.resource}"
    if check.effect != "EXPLICIT_DENY":
        return f"denied by {where} (no statement allows {action})"
    named = [
        f"{_word(check)} {_name(layered.policies[m.uri])}{_at(check)} "
        f"(statement {s.sid or 'without a Sid'})"
        for m in check.matched
        for s in m.statements
    ]
    return "denied by " + ("; ".join(dict.fromkeys(named)) or where)


def _word(check: Check) -> str:
    return LAYER_WORDS.get(check.layer, check.layer)


def _at(check: Check) -> str:
    return f" at {short_target(check.target_arn)}" if check.layer in {"scp", "rcp"} else ""


def _name(policy: NamedPolicy) -> str:
    if policy.kind in {"scp", "rcp"} and policy.name and policy.arn:
        return f"{policy.name} ({policy.arn.rsplit('/', 1)[-1]})"
    return policy.label


def _check_policies(check: Check, layered: Layered) -> list[NamedPolicy]:
    infos = [
        p
        for p in layered.details.policies
        if p.check_type == check.check_type
        and (
            check.target_arn is None
            or check.target_arn in p.attached_to
            or check.layer in {"identity", "resource"}
        )
    ]
    return [layered.policies[p.uri] for p in infos if p.uri in layered.policies]


def _condition_words(statement: Mapping[str, Any], ctx: RequestContext, private: bool) -> str:
    block = statement.get("Condition")
    if not isinstance(block, Mapping) or not block:
        return "it has no Condition, so it applies to every such request"
    keys = request_keys(ctx)
    parts = []
    for operator, entries in block.items():
        for key in entries if isinstance(entries, Mapping) else {}:
            seen = ", ".join(keys.get(str(key).lower(), ())) or "absent"
            parts.append(
                f"{operator} on {key}" if private else f"{operator} on {key} (request: {seen})"
            )
    return "its condition matched: " + "; ".join(parts)


def _principal(layered: Layered, snap: Snapshot) -> str:
    entity = snap.entity(layered.ctx.principal_arn or "")
    return entity.arn if entity else principal_for_policy(layered.ctx.principal_arn or "")


def _explicit(
    layered: Layered, snap: Snapshot, check: Check, private: bool
) -> tuple[list[str], list[Fix]]:
    lines: list[str] = []
    fixes: list[Fix] = []
    principal = _principal(layered, snap)
    for match in check.matched:
        policy = layered.policies[match.uri]
        for index, statement in enumerate(statements_of(policy.document or {})):
            if str(statement.get("Effect", "")).lower() != "deny" or not statement_matches(
                statement, layered.ctx
            ):
                continue
            sid = statement.get("Sid") or "without a Sid"
            lines.append(
                f"Statement {sid} of {_word(check)} {_name(policy)}{_at(check)} denies it; "
                f"{_condition_words(statement, layered.ctx, private)}."
            )
            if not policy.owned:
                lines.append("That policy is AWS's own: only its owner can change it.")
                continue
            after = exemption(statement, principal)
            if statement_matches(after, layered.ctx):
                continue
            target = (
                check.target_arn if check.layer in {"scp", "rcp"} else (policy.arn or policy.entity)
            )
            fixes.append(
                Fix(
                    check.layer,
                    target,
                    (),
                    edit=_edit(
                        check.layer,
                        policy=policy,
                        index=index,
                        before=dict(statement),
                        after=after,
                        private=private,
                    ),
                )
            )
            if not private:
                lines.append(f"After the edit, {sid} reads: {_compact(after)}")
            lines.append(
                f"The edit exempts {principal} from {sid} (ArnNotLike aws:PrincipalArn): that "
                "weakens a guardrail, so agree it with whoever owns it, or meet its condition "
                "instead."
            )
    return lines, fixes


def _implicit(layered: Layered, check: Check, private: bool) -> tuple[list[str], list[Fix]]:
    from diagnostics.troubleshooter.diagnose import fix_for_check

    principal = layered.ctx.principal_arn
    add, sentence = fix_for_check(layered.details, layered.evaluation, check, principal)
    lines = [sentence[:1].upper() + sentence[1:] + "."]
    near = nearest(_check_policies(check, layered), layered.ctx)
    if near is None:
        return lines, [add] if add is not None else []
    sid = near.before.get("Sid") or f"#{near.index + 1} (no Sid)"
    lines.append(
        f"Nearest statement: {sid} of {_name(near.policy)} {near.why}; the fix edits it "
        "(the statements beside it are the add-a-statement alternative)."
    )
    if not private:
        lines.append(f"After the edit, {sid} reads: {_compact(near.after)}")
    edit = _edit(
        check.layer,
        policy=near.policy,
        index=near.index,
        before=near.before,
        after=near.after,
        private=private,
    )
    if add is None:
        target = (
            check.target_arn
            if check.layer in {"scp", "rcp"}
            else principal_for_policy(principal or "")
        )
        return lines, [Fix(check.layer, target, (), edit=edit)]
    return lines, [dataclasses.replace(add, edit=edit)]


def _compact(statement: Mapping[str, Any]) -> str:
    return json.dumps(statement, separators=(", ", ": "))


def stale_note(layered: Layered, failure: Failure, when: str = "") -> str | None:
    """When the message names a layer the snapshot says allows: the snapshot may be stale."""
    said = failure.policy_type
    if said is None:
        return None
    checks = [c for c in layered.evaluation.checks if c.layer == said]
    if checks and not any(c.denied for c in checks):
        words = LAYER_PLURALS.get(said, said)
        deciding = ", ".join(dict.fromkeys(_word(c) for c in layered.evaluation.checks if c.denied))
        return (
            f"The message says the {words} denied it, but in the snapshot they allow it "
            f"(the snapshot denies it by {deciding or 'no layer'}): the snapshot may be stale"
            f"{when}; collect a fresh one with `authz-diag snapshot`."
        )
    return None


def attribute(
    layered: Layered, snap: Snapshot, failure: Failure, *, private: bool = False
) -> Finding:
    """One finding for a request the snapshot denies: the deciding layers, statements and fixes."""
    evaluation = layered.evaluation
    action = evaluation.action
    explicit = [c for c in evaluation.checks if c.effect == "EXPLICIT_DENY"]
    deciding = explicit or [c for c in evaluation.checks if c.effect == "IMPLICIT_DENY"]
    lines: list[str] = []
    fixes: list[Fix] = []
    for check in deciding:
        if explicit:
            more, found = _explicit(layered, snap, check, private)
        else:
            more, found = _implicit(layered, check, private)
        lines += more
        fixes += found
    if not explicit and len(deciding) > 1:
        layers = ", ".join(dict.fromkeys(LAYER_PLURALS.get(c.layer, c.layer) for c in deciding))
        lines.append(f"Layers with no Allow: {layers}; each must allow it, so apply every fix.")
    summary = ", ".join(
        f"{_word(c)}{_at(c)}: {c.effect.lower().replace('_', ' ')}" for c in evaluation.checks
    )
    when = f" (collected {snap.collected_at})" if snap.collected_at else ""
    lines.insert(0, f"Evaluated against the policy snapshot{when}: {summary}.")
    stale = stale_note(layered, failure, when)
    if stale:
        lines.append(stale)
    if layered.gaps:
        lines.append(
            "The snapshot lacks the documents of "
            + ", ".join(layered.gaps)
            + "; the verdict assumes they allow nothing."
        )
    title = f"{action} " + "; ".join(layer_phrase(c, layered, action) for c in deciding)
    rule = EXPLICIT_RULE if explicit else IMPLICIT_RULE
    severity: Severity = "high" if explicit else "medium"
    return Finding(rule, title, severity, "\n".join(lines), tuple(fixes))
