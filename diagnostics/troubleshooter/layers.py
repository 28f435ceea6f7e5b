"""Re-run every check of every evaluation with suggested fixes added (all layers).

An evaluation is allowed when none of its checks denies (IAM User Guide,
"Policy evaluation logic": an explicit deny anywhere wins; every SCP and RCP
target of the chain, the VPC endpoint, the resource owner when required, the
identity, the boundary and the session must each allow).  The recorded
effect of a check is AWS's verdict; a fix changes it only when the built-in
evaluator, run on the captured documents of that check plus the fix's
statements, says the request is now allowed there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from diagnostics.iam.arns import principal_for_policy
from diagnostics.iam.grantee import policy_holder
from diagnostics.model import (
    Evaluated,
    Finding,
    Fix,
    RequestContext,
    Verification,
    VerificationStatus,
)
from diagnostics.policy import evaluate, statement_matches, statements_of
from diagnostics.policy.arn_match import UnresolvedVariable, action_matches, arn_matches
from diagnostics.troubleshooter.attribution import check_policies, deciding_checks, deny_phrase
from diagnostics.troubleshooter.details import (
    DENIED,
    AuthorizationDetails,
    Check,
    Evaluation,
    PolicyMatch,
    StatementRef,
)


def evaluation_context(
    details: AuthorizationDetails, evaluation: Evaluation, principal_arn: str | None = None
) -> RequestContext:
    """The request context with the evaluation's own keys on top (they win)."""
    conditions: dict[str, tuple[str, ...]] = {}
    for key, values in (*details.request_context, *evaluation.context):
        for old in [k for k in conditions if k.lower() == key.lower()]:
            del conditions[old]
        conditions[key] = values
    principal = details.principal_arn or principal_arn
    return RequestContext(
        action=evaluation.action,
        resource=evaluation.resource or None,
        principal_arn=principal,
        account_id=details.context_value("aws:PrincipalAccount"),
        region=details.context_value("aws:RequestedRegion"),
        principal_id=details.context_value("aws:userid"),
        conditions=conditions,
        decoded=True,
    )


def fix_applies(fix: Fix, check: Check, evaluation: Evaluation) -> bool:
    """Does ``fix`` change a policy this check evaluates?"""
    # A role's trust policy is its resource policy; a permission set's inline
    # policy becomes its role's identity policy.
    layer = {"trust": "resource", "permission_set": "identity"}.get(fix.target, fix.target)
    if layer != check.layer:
        return False
    if check.layer in {"scp", "rcp"}:
        return fix.applies_to == check.target_arn
    if check.layer == "resource":
        return fix.applies_to in {None, evaluation.resource, policy_holder(evaluation.resource)}
    return True


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


def _covers(patterns: list[str], resource: str | None) -> bool:
    for pattern in patterns:
        if pattern in ("*", resource):
            return True
        if resource and resource != "*":
            try:
                if arn_matches(pattern, resource):
                    return True
            except UnresolvedVariable:
                continue
    return False


def fix_aims_at(fix: Fix, evaluation: Evaluation) -> bool:
    """Is ``fix`` meant for this evaluation (an Allow names its action and resource)?"""
    for statement in fix.statements:
        if statement.get("Effect") != "Allow":
            continue
        if not any(action_matches(a, evaluation.action) for a in _listed(statement.get("Action"))):
            continue
        if "Resource" not in statement or _covers(
            _listed(statement["Resource"]), evaluation.resource
        ):
            return True
    return False


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: Check
    effect: str
    #: "recorded" (AWS's verdict kept), "evaluator" (re-run with a fix).
    basis: str
    #: Deny statements the re-run found in the captured documents (uri, Sid).
    found: tuple[PolicyMatch, ...] = ()


def check_with_fixes(
    details: AuthorizationDetails,
    evaluation: Evaluation,
    check: Check,
    fixes: Sequence[Fix],
    ctx: RequestContext,
) -> CheckResult:
    """The check's effect once ``fixes`` are added to its captured documents."""
    added = [s for f in fixes if fix_applies(f, check, evaluation) for s in f.statements]
    if not added:
        return CheckResult(check, check.effect, "recorded")
    statements: list[Any] = []
    found: list[PolicyMatch] = []
    for policy in check_policies(details, check):
        for statement in statements_of(policy.document or {}):
            statements.append(statement)
            if str(statement.get("Effect", "")).lower() == "deny" and statement_matches(
                statement, ctx
            ):
                sid = statement.get("Sid")
                found.append(
                    PolicyMatch(
                        policy.uri, (StatementRef(sid if isinstance(sid, str) else None, "DENY"),)
                    )
                )
    decision = evaluate([*statements, *added], ctx)
    if decision == "explicit_deny" or check.effect == "EXPLICIT_DENY":
        # A deny AWS recorded stays even when its document was not captured.
        return CheckResult(check, "EXPLICIT_DENY", "evaluator", tuple(found))
    if decision == "allow":
        return CheckResult(check, "ALLOW", "evaluator")
    return CheckResult(check, check.effect, "evaluator")


def outcome(
    details: AuthorizationDetails,
    evaluation: Evaluation,
    fixes: Sequence[Fix],
    principal_arn: str | None = None,
) -> list[CheckResult]:
    """Every check of ``evaluation`` re-run with ``fixes``; the denying ones decide."""
    ctx = evaluation_context(details, evaluation, principal_arn)
    return [check_with_fixes(details, evaluation, c, fixes, ctx) for c in evaluation.checks]


def blockers(details: AuthorizationDetails, results: Iterable[CheckResult]) -> list[str]:
    """What still denies, in the words of the attribution (``denied by SCP p-... at ...``)."""
    return [
        deny_phrase(
            details,
            dataclasses.replace(r.check, effect=r.effect, matched=r.found or r.check.matched),
        )
        for r in results
        if r.effect in DENIED
    ]


def _entry(
    rule: str,
    fix: Fix | None,
    target: str,
    status: VerificationStatus,
    message: str,
    *,
    ev: Evaluation,
) -> Verification:
    return Verification(
        rule,
        fix.target if fix else target,
        fix.applies_to if fix else None,
        "evaluator",
        status,
        message,
        Evaluated(ev.action, ev.resource),
    )


def _layers(results: Sequence[CheckResult]) -> str:
    return ", ".join(dict.fromkeys(r.check.layer for r in results)) or "no layer"


def verify_details(
    details: AuthorizationDetails,
    findings: Sequence[Finding],
    principal_arn: str | None = None,
) -> tuple[Verification, ...]:
    """One entry per fix and denied evaluation it aims at (or per unfixable evaluation).

    Each fix is re-checked alone and with every other fix of the diagnosis, so
    a fix that still needs another layer (an SCP, a boundary) says so.
    """
    everything = [fix for finding in findings for fix in finding.fixes]
    rule_of = {id(fix): finding.rule for finding in findings for fix in finding.fixes}
    default_rule = findings[0].rule if findings else "troubleshooter"
    entries: list[Verification] = []
    denied = [e for e in details.evaluations if e.denied]
    # diagnose_details gives one finding per denied evaluation, in order.
    paired = len(findings) == len(denied)
    rule_for = {i: f.rule for i, f in enumerate(findings)} if paired else {}
    for index, evaluation in enumerate(denied):
        label = evaluation.label()
        if not evaluation.checks:
            entries.append(
                _entry(
                    rule_for.get(index, default_rule),
                    None,
                    "unknown",
                    "unavailable",
                    f"cannot re-check {label}: the answer lists no checks",
                    ev=evaluation,
                )
            )
            continue
        # Paired: a finding's fixes are for its evaluation; else match by coverage.
        own = list(findings[index].fixes) if paired else []
        own = own or [f for f in everything if not paired and fix_aims_at(f, evaluation)]
        if not own:
            still = "; ".join(
                blockers(details, outcome(details, evaluation, everything, principal_arn))
            )
            why = (
                "no Allow can change that"
                if evaluation.effect == "EXPLICIT_DENY"
                else "no fix was offered for it (the finding says why)"
            )
            entries.append(
                _entry(
                    rule_for.get(index, default_rule),
                    None,
                    deciding_checks(evaluation)[0].layer
                    if deciding_checks(evaluation)
                    else "unknown",
                    "still_denied",
                    f"{label} stays blocked: {still or 'denied'}; {why}",
                    ev=evaluation,
                )
            )
            continue
        together = outcome(details, evaluation, everything, principal_arn)
        together_blocked = blockers(details, together)
        status: VerificationStatus
        for fix in own:
            alone = outcome(details, evaluation, [fix], principal_arn)
            alone_blocked = blockers(details, alone)
            rule = rule_of.get(id(fix), default_rule)
            if not alone_blocked:
                status = "allows"
                message = f"allows {label}: every layer now allows ({_layers(alone)})"
            elif not together_blocked:
                status = "allows_with_other_fixes"
                message = (
                    f"allows {label} only together with the other fixes; alone it is still "
                    f"blocked: {'; '.join(alone_blocked)}"
                )
            else:
                status = "still_denied"
                message = f"{label} would still be blocked: {'; '.join(together_blocked)}"
            entries.append(_entry(rule, fix, fix.target, status, message, ev=evaluation))
    return tuple(entries)


def role_of(principal_arn: str | None) -> str | None:
    """The ARN whose policies a fix edits: an assumed-role session's role."""
    return principal_for_policy(principal_arn) if principal_arn else None
