"""Findings from an Access Troubleshooter answer: exact attribution and per-layer fixes.

Explicit deny: quote the denying statement from the captured document, say
which of its conditions matched the request, and offer no Allow (none can
override a Deny).  Implicit deny: one fix per IMPLICIT_DENY check of each
denied evaluation, aimed at that layer, each evaluation allowed with its own
context keys (``iam:PassedToService``, ``ec2:CreateAction``) as conditions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from diagnostics.iam.arns import parse_arn
from diagnostics.iam.grantee import is_trust_action, policy_holder
from diagnostics.model import Failure, Finding, Fix, JSONObject, RequestContext
from diagnostics.policy import request_keys, statement_matches, statements_of
from diagnostics.policy.conditions import UnknownOperator, condition_matches
from diagnostics.troubleshooter import findings as kinds
from diagnostics.troubleshooter.attribution import (
    LAYER_WORDS,
    check_policies,
    deny_phrase,
    denying_statements,
    describe_check,
    short_policy,
    short_target,
)
from diagnostics.troubleshooter.details import (
    AuthorizationDetails,
    Check,
    Evaluation,
    PolicyInfo,
    parse_details,
)
from diagnostics.troubleshooter.layers import evaluation_context, role_of

#: Evaluation context keys that say what a sub-evaluation is for, so a fix
#: allows it for that purpose only (Service Authorization Reference: IAM
#: iam:PassedToService, EC2 ec2:CreateAction, KMS kms:ViaService and
#: kms:GrantIsForAWSResource).  Other keys (tags, times) would over-narrow it.
PURPOSE_KEYS = {
    "iam:passedtoservice": "StringEquals",
    "ec2:createaction": "StringEquals",
    "kms:viaservice": "StringEquals",
    "kms:grantisforawsresource": "Bool",
}

#: The AWS managed RCP that allows everything; RCPs of your own may only Deny
#: (AWS Organizations User Guide, "Resource control policies").
RCP_FULL_ACCESS = "arn:aws:organizations::aws:policy/resource_control_policy/p-RCPFullAWSAccess"

# The ids, severities and which evaluation gets which finding live in
# ``findings.py``, which the rule files in rules/troubleshooter/ declare.
EXPLICIT_RULE = kinds.EXPLICIT.rule
IMPLICIT_RULE = kinds.IMPLICIT.rule
UNATTRIBUTED = kinds.UNATTRIBUTED.rule


def _find_statement(
    document: Mapping[str, Any] | None, sid: str | None
) -> Mapping[str, Any] | None:
    if document is None or sid is None:
        return None
    return next((s for s in statements_of(document) if s.get("Sid") == sid), None)


def _condition_lines(statement: Mapping[str, Any], ctx: RequestContext) -> list[str]:
    """Which condition of the statement held against the request, one line per key."""
    block = statement.get("Condition")
    if not isinstance(block, Mapping) or not block:
        return ["it has no Condition, so it applies to every such request"]
    keys = request_keys(ctx)
    variables = {k: v[0] for k, v in keys.items() if len(v) == 1}
    out = []
    for operator, entries in block.items():
        if not isinstance(entries, Mapping):
            continue
        for key, wanted in entries.items():
            try:
                held = condition_matches({operator: {key: wanted}}, keys, variables)
            except UnknownOperator:
                out.append(f"{operator} on {key}: an operator IAM does not define")
                continue
            seen = keys.get(str(key).lower())
            got = ", ".join(seen) if seen else "absent"
            verdict = "holds" if held else "does not hold"
            out.append(f"{operator} {key} {json.dumps(wanted)} {verdict} (request: {got})")
    return out


def _fetch_hint(details: AuthorizationDetails, uri: str) -> str:
    auth = details.authorization_id or "ID"
    return (
        f"its document was not captured; get it with `aws iam-toolbox "
        f"get-request-authorization-policy --authorization-id {auth} --policy-uri {uri}` "
        f"and pass it to `authz-diag explain` with --policy {uri}=FILE"
    )


def _explicit(
    details: AuthorizationDetails, evaluation: Evaluation, ctx: RequestContext
) -> Finding:
    checks = [c for c in evaluation.checks if c.effect == "EXPLICIT_DENY"]
    paragraphs = []
    if not checks:
        paragraphs.append(
            f"{evaluation.label()} was explicitly denied, but no check of the answer says "
            "which layer: open the console link of the authorization ID to see the full "
            "evaluation. No Allow can fix an explicit deny."
        )
    for check in checks:
        lines = [f"{evaluation.label()} was {deny_phrase(details, check)}."]
        named = denying_statements(check)
        for uri, sid in named:
            policy = details.policy(uri)
            statement = _find_statement(policy.document if policy else None, sid)
            if statement is None and policy is not None and policy.document is not None:
                # AWS generates a Sid for a statement without one: find it by the request.
                found = _matching_denies([policy], ctx)
                statement = found[0][1] if len(found) == 1 else None
            if statement is None:
                lines.append(
                    f"Statement {sid or '(no Sid)'} of {short_policy(policy, uri)}: "
                    f"{_fetch_hint(details, uri)}."
                )
                continue
            lines += _quote(statement, ctx)
        if not named:
            for uri, statement in _matching_denies(check_policies(details, check), ctx):
                lines.append(f"AWS named no statement; the re-check finds this one in {uri}.")
                lines += _quote(statement, ctx)
        lines.append(_no_allow(check))
        paragraphs.append("\n".join(lines))
    phrases = "; ".join(deny_phrase(details, c) for c in checks) or "explicitly denied"
    title = f"{evaluation.action} {phrases}"
    return Finding(EXPLICIT_RULE, title, kinds.EXPLICIT.severity, "\n\n".join(paragraphs), ())


def _matching_denies(
    policies: list[PolicyInfo], ctx: RequestContext
) -> list[tuple[str, Mapping[str, Any]]]:
    """(uri, statement) of every captured Deny statement that applies to the request."""
    return [
        (policy.uri, statement)
        for policy in policies
        for statement in statements_of(policy.document or {})
        if str(statement.get("Effect", "")).lower() == "deny" and statement_matches(statement, ctx)
    ]


def _quote(statement: Mapping[str, Any], ctx: RequestContext) -> list[str]:
    quoted = json.dumps(statement, separators=(", ", ": "))
    return [
        f"The denying statement: {quoted}",
        *(f"Condition: {line}." for line in _condition_lines(statement, ctx)),
    ]


def _no_allow(check: Check) -> str:
    where = LAYER_WORDS.get(check.layer, check.layer)
    head = "No Allow can fix this: an explicit Deny overrides every Allow in every policy."
    place = f"the {where} (AWS Organizations, management account)"
    if check.layer not in {"scp", "rcp"}:
        place = f"the {where}"
    return f"{head} Change or narrow the denying statement in {place}, or meet its conditions."


def _condition(evaluation: Evaluation) -> JSONObject:
    block: dict[str, dict[str, Any]] = {}
    for key, values in evaluation.context:
        operator = PURPOSE_KEYS.get(key.lower())
        if operator and values:
            block.setdefault(operator, {})[key] = values[0] if len(values) == 1 else list(values)
    return block


def _allow(evaluation: Evaluation, principal: Any = None) -> JSONObject:
    # A Sid from the action, as the rules' fixes have (letters and digits only).
    words = re.split(r"[^A-Za-z0-9]+", evaluation.action)
    statement: JSONObject = {
        "Sid": "Allow" + "".join(w[:1].upper() + w[1:] for w in words),
        "Effect": "Allow",
    }
    if principal is not None:
        statement["Principal"] = principal
    statement["Action"] = evaluation.action
    statement["Resource"] = evaluation.resource or "*"
    condition = _condition(evaluation)
    if condition:
        statement["Condition"] = condition
    return statement


def _vpc_endpoint(details: AuthorizationDetails, check: Check) -> str | None:
    endpoint = details.context_value("aws:SourceVpce")
    if endpoint:
        return endpoint
    policies = check_policies(details, check)
    return next((a for p in policies for a in p.attached_to), check.target_arn)


def fix_for_check(
    details: AuthorizationDetails, evaluation: Evaluation, check: Check, principal: str | None
) -> tuple[Fix | None, str]:
    """The add-a-statement fix for one IMPLICIT_DENY check, and the sentence naming what to edit.

    ``check`` is one layer of ``evaluation`` (identity, boundary, session,
    resource or trust, SCP, RCP, VPC endpoint) and ``principal`` the caller's
    ARN.  The fix is None where no statement can be written safely (a
    resource policy with no principal to name); the sentence still says what
    to do.  Used for Access Troubleshooter answers and for policy snapshots.
    """
    role = role_of(principal)
    layer = check.layer
    policies = check_policies(details, check)
    names = ", ".join(short_policy(p, p.uri) for p in policies)
    edit = f"edit {names} or add a policy" if names else "add a policy"
    if layer == "identity":
        return Fix("identity", role, (_allow(evaluation),)), (
            f"the identity-based policies of {role or 'the principal'} allow no such request: "
            f"{edit} there"
        )
    if layer == "permissions_boundary":
        return Fix("permissions_boundary", role, (_allow(evaluation),)), (
            f"the permissions boundary of {role or 'the principal'} ({names or 'not named'}) "
            "does not allow it: add the statement to the boundary policy"
        )
    if layer == "session":
        return Fix("session", role, (_allow(evaluation),)), (
            "the session policy passed when the role was assumed does not allow it: pass one "
            "that does (AssumeRole Policy parameter), or none"
        )
    if layer in {"resource", "vpc_endpoint"} and role is None:
        # Principal "*" would open the resource (or endpoint) to everyone.
        return None, (
            f"the {LAYER_WORDS[layer]} does not allow it, and the answer names no principal "
            "to allow: add a statement naming the caller's role or user ARN as Principal"
        )
    if layer == "resource" and is_trust_action(evaluation.action):
        who = {"AWS": role}
        return Fix("trust", evaluation.resource, (_allow(evaluation, who),)), (
            f"the trust policy of {evaluation.resource} ({names or 'none captured'}) does not "
            "allow the caller to assume it: add the statement to the role's trust policy "
            "(`aws iam update-assume-role-policy`)"
        )
    if layer == "resource":
        who = {"AWS": role}
        holder = policy_holder(evaluation.resource)
        return Fix("resource", holder, (_allow(evaluation, who),)), (
            f"the resource-based policy of {holder} ({names or 'none captured'}) "
            "must allow the caller separately (cross-account, or a KMS key): add the statement"
        )
    if layer == "scp":
        where = short_target(check.target_arn) or "the target"
        return Fix("scp", check.target_arn, (_allow(evaluation),)), (
            f"no SCP attached at {where} ({names or 'none captured'}) allows it: every target "
            "from the root to the account must allow it; add the statement to one SCP there"
        )
    if layer == "rcp":
        where = short_target(check.target_arn) or "the target"
        statement = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}
        return Fix("rcp", check.target_arn, (statement,)), (
            f"no RCP attached at {where} allows it: RCPs of your own may only deny, so attach "
            f"the AWS managed RCPFullAWSAccess ({RCP_FULL_ACCESS}) there again"
        )
    if layer == "vpc_endpoint":
        endpoint = _vpc_endpoint(details, check)
        who = {"AWS": role}
        return Fix("vpc_endpoint", endpoint, (_allow(evaluation, who),)), (
            f"the VPC endpoint policy of {endpoint or 'the endpoint'} does not allow it: "
            "add the statement to the endpoint's policy"
        )
    return None, f"the {check.check_type} check denied it; authz-diag has no fix for that layer"


def _wildcard_pass_role(evaluation: Evaluation) -> bool:
    resource = evaluation.resource or "*"
    return evaluation.action.lower() == "iam:passrole" and (
        "*" in resource or parse_arn(resource) is None
    )


def _implicit(
    details: AuthorizationDetails, evaluation: Evaluation, principal: str | None, others: int
) -> Finding:
    checks = [c for c in evaluation.checks if c.effect == "IMPLICIT_DENY"]
    fixes: list[Fix] = []
    lines = []
    if _wildcard_pass_role(evaluation):
        lines.append(
            f"{evaluation.label()}: the evaluation names no single role, and iam:PassRole on "
            "a wildcard lets the caller hand any role to a service; find the role the call "
            "passes and allow iam:PassRole on that role's ARN only."
        )
    else:
        for check in checks:
            fix, sentence = fix_for_check(details, evaluation, check, principal)
            lines.append(sentence[:1].upper() + sentence[1:] + ".")
            if fix is not None:
                fixes.append(fix)
    context = _condition(evaluation)
    if context and fixes:
        keys = ", ".join(k for block in context.values() for k in block)
        lines.append(
            f"The statements carry the evaluation's own context ({keys}), so they "
            "allow this use and no other."
        )
    if len(checks) > 1:
        layers = ", ".join(describe_check(details, c) for c in checks)
        lines.append(
            f"Every one of these layers must allow it ({layers}): apply all of the fixes; "
            "any one alone leaves the request blocked by the others."
        )
    if others:
        lines.append(
            f"The same request has {others} other denied evaluation(s); "
            "their fixes are listed with them and apply together."
        )
    if not checks:
        lines.append(
            "AWS recorded an implicit deny, but no check of this evaluation says which "
            "layer: open the console link of the authorization ID to see the full evaluation."
        )
    phrases = "; ".join(deny_phrase(details, c) for c in checks) or "denied"
    title = f"{evaluation.label()} {phrases}"
    return Finding(IMPLICIT_RULE, title, kinds.IMPLICIT.severity, " ".join(lines), tuple(fixes))


def diagnose_details(
    failure: Failure,
    details: AuthorizationDetails | Mapping[str, Any],
    ctx: RequestContext | None = None,
) -> tuple[Finding, ...]:
    """A finding per denied evaluation of the request, attributed to the layer that denied.

    ``details`` is the parsed answer or the dict ``Diagnosis.authorization_details`` holds.
    """
    if not isinstance(details, AuthorizationDetails):
        details = parse_details(details, authorization_id=failure.authorization_id)
    principal = (
        details.principal_arn or failure.principal_arn or (ctx.principal_arn if ctx else None)
    )
    denied = [e for e in details.evaluations if e.denied]
    findings = []
    for evaluation in denied:
        kind = kinds.kind_of(evaluation)
        if kind is kinds.UNATTRIBUTED:
            findings.append(
                Finding(
                    UNATTRIBUTED,
                    f"{evaluation.label()} denied (no checks returned)",
                    kinds.UNATTRIBUTED.severity,
                    "The answer lists no checks for this evaluation, which happens when the "
                    "caller is outside the denied principal's account or organization: resolve "
                    "the ID with credentials of that account or organization to see which "
                    "layer denied.",
                )
            )
        elif kind is kinds.EXPLICIT:
            findings.append(
                _explicit(details, evaluation, evaluation_context(details, evaluation, principal))
            )
        else:
            findings.append(_implicit(details, evaluation, principal, len(denied) - 1))
    from diagnostics.policy.aim import aimed_findings

    # The policy the user edits (trust policy, bucket, permission set, role
    # path), in its policy type's grammar, as the rules' fixes are.
    aim = RequestContext(
        action=None,
        resource=None,
        principal_arn=principal,
        account_id=None,
        conditions=dict(details.request_context),
    )
    return aimed_findings(findings, aim)
