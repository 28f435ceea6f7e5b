"""Aim every fix at the policy the user really edits, then make it well formed.

Applied to the rules' findings and to Access Troubleshooter's alike:

- the caller's role keeps the path the input states (``aws:PrincipalArn``,
  ``sessionIssuer.arn``), in ``applies_to`` and in every ``Principal``;
- a resource policy on an S3 object is the bucket's policy;
- a resource-policy fix for ``sts:AssumeRole`` (and the other trust actions)
  on a role is that role's trust policy;
- an IAM Identity Center role (``AWSReservedSSO_<set>_<hash>``) cannot be
  changed in IAM: its fix targets the permission set, with the
  ``aws sso-admin`` steps;
- then the grammar of the target's policy type holds (``grammar.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from diagnostics.iam.arns import parse_arn, permission_set_name, principal_for_policy
from diagnostics.iam.grantee import is_trust_action, policy_holder, role_with_path
from diagnostics.model import Finding, Fix, JSONObject, RequestContext
from diagnostics.policy.grammar import checked_findings


def permission_set_steps(name: str) -> str:
    """How to apply a statement to permission set ``name`` (IAM Identity Center CLI)."""
    return (
        f"Apply it to the permission set {name} in IAM Identity Center, not to the role: "
        "find the ARNs with `aws sso-admin list-instances` and `aws sso-admin "
        "list-permission-sets --instance-arn INSTANCE_ARN` (then `aws sso-admin "
        "describe-permission-set` to match the name); merge the statement into the set's "
        "current inline policy (`aws sso-admin get-inline-policy-for-permission-set`), since "
        "`aws sso-admin put-inline-policy-to-permission-set --instance-arn INSTANCE_ARN "
        "--permission-set-arn PERMISSION_SET_ARN --inline-policy file://policy.json` replaces "
        "it; then `aws sso-admin provision-permission-set --instance-arn INSTANCE_ARN "
        "--permission-set-arn PERMISSION_SET_ARN --target-type ALL_PROVISIONED_ACCOUNTS`."
    )


def _swap(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return new if value == old else value
    if isinstance(value, list):
        return [_swap(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _swap(v, old, new) for k, v in value.items()}
    return value


def _with_principal(statement: JSONObject, old: str, new: str) -> JSONObject:
    if "Principal" not in statement:
        return statement
    return {**statement, "Principal": _swap(statement["Principal"], old, new)}


def _actions(fix: Fix) -> list[str]:
    out: list[str] = []
    for s in fix.statements:
        if isinstance(s, dict) and s.get("Effect") == "Allow":
            raw = s.get("Action", [])
            out.extend([raw] if isinstance(raw, str) else [str(a) for a in raw])
    return out


def _is_role(arn: str | None) -> bool:
    parsed = parse_arn(arn) if arn else None
    return parsed is not None and parsed.service == "iam" and parsed.resource.startswith("role/")


def aim_fix(fix: Fix, ctx: RequestContext) -> tuple[Fix, list[str]]:
    """``fix`` aimed at the right policy, and the sentences saying how to apply it."""
    notes: list[str] = []
    principal = ctx.principal_arn
    if principal:
        bare = principal_for_policy(principal)
        pathed = role_with_path(principal, ctx.conditions)
        if pathed and pathed != bare:
            statements = tuple(
                _with_principal(s, bare, pathed) if isinstance(s, dict) else s
                for s in fix.statements
            )
            applies_to = pathed if fix.applies_to == bare else fix.applies_to
            fix = dataclasses.replace(fix, applies_to=applies_to, statements=statements)
    if fix.target == "resource":
        actions = _actions(fix)
        if actions and _is_role(fix.applies_to) and all(is_trust_action(a) for a in actions):
            fix = dataclasses.replace(fix, target="trust")
        else:
            fix = dataclasses.replace(fix, applies_to=policy_holder(fix.applies_to))
    if fix.target == "identity":
        pset = permission_set_name(fix.applies_to)
        if pset:
            fix = dataclasses.replace(fix, target="permission_set", applies_to=pset)
            notes.append(permission_set_steps(pset))
    return fix, notes


def aimed_findings(findings: Iterable[Finding], ctx: RequestContext) -> tuple[Finding, ...]:
    """Every finding with its fixes aimed (see the module) and well formed."""
    out: list[Finding] = []
    for finding in findings:
        fixes: list[Fix] = []
        notes: list[str] = []
        for fix in finding.fixes:
            aimed, said = aim_fix(fix, ctx)
            fixes.append(aimed)
            notes.extend(n for n in said if n not in notes and n not in finding.explanation)
        if tuple(fixes) == finding.fixes and not notes:
            out.append(finding)
            continue
        explanation = " ".join([finding.explanation, *notes])
        out.append(dataclasses.replace(finding, fixes=tuple(fixes), explanation=explanation))
    return checked_findings(out)
