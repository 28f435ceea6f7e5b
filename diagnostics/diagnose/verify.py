"""Check that each suggested fix allows the request that failed, and the whole call.

Every fix carrying an Allow, whatever the layer (identity, permission set,
resource, trust, boundary, SCP, RCP, session, VPC endpoint), is run through
the built-in evaluator against the failed request's action, resource and
condition context.  A fix for the caller's own policy must also allow the
rest of the call: every resource type the IAM dataset marks required and
every dependent action the request's context shows AWS will check
(``diagnostics.iam.call_needs``).  ``--verify`` adds IAM's
SimulateCustomPolicy as a second opinion from AWS itself.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from diagnostics.iam.call_needs import Need, call_needs
from diagnostics.model import (
    FIX_TARGETS,
    LAYER_WORDS,
    Checker,
    Diagnosis,
    Fix,
    JSONObject,
    RequestContext,
    Verification,
    VerificationStatus,
    simulator_status,
)
from diagnostics.policy import statement_allows, statement_allows_if_set
from diagnostics.request.context import build_context

#: Every target: a guardrail fix (SCP, boundary, session) is proved to stop
#: denying by the same check an identity fix gets.
PROVABLE_TARGETS = frozenset(FIX_TARGETS)

#: Fixes to the caller's own grants, which must cover the whole call.
CALLER_TARGETS = frozenset({"identity", "permission_set"})

#: The guardrail layers a fix's message names ("the SCP would allow ...").
_GUARDRAIL_WORDS = {
    t: f"the {LAYER_WORDS[t]}"
    for t in ("scp", "rcp", "permissions_boundary", "session", "vpc_endpoint")
}


def _covers(allows: list[JSONObject], ctx: RequestContext) -> VerificationStatus | None:
    """ "allows", "allows_if_conditions_hold" or None for ``allows`` against ``ctx``."""
    if any(statement_allows(s, ctx) for s in allows):
        return "allows"
    if any(statement_allows_if_set(s, ctx) for s in allows):
        return "allows_if_conditions_hold"
    return None


def _need_context(need: Need, ctx: RequestContext) -> RequestContext:
    conditions = {**ctx.conditions, **need.conditions}
    return dataclasses.replace(
        ctx, action=need.action, resource=need.resource, conditions=conditions
    )


def missing_needs(fix_statements: tuple[JSONObject, ...], ctx: RequestContext) -> list[Need]:
    """What the call needs besides the denied pair that the statements do not allow."""
    allows = [s for s in fix_statements if s.get("Effect") == "Allow"]
    needs = call_needs(ctx.action, ctx.resource, ctx.account_id, ctx.region, ctx.conditions)
    return [n for n in needs if _covers(allows, _need_context(n, ctx)) is None]


def _judge(
    fix_statements: tuple[JSONObject, ...], ctx: RequestContext, target: str = "identity"
) -> tuple[VerificationStatus, str]:
    """(status, message) of the evaluator for one fix's statements."""
    allows = [s for s in fix_statements if s.get("Effect") == "Allow"]
    what = f"{ctx.action} on {ctx.resource or '*'}"
    status = _covers(allows, ctx)
    if status is None:
        return (
            "does_not_cover",
            f"does not by itself allow {ctx.action}; it covers a related permission",
        )
    if target in CALLER_TARGETS:
        missing = missing_needs(fix_statements, ctx)
        if missing:
            left = "; ".join(n.why for n in missing)
            return (
                "incomplete",
                f"also needs {left}: AWS authorizes the whole call, and the fix allows only {what}",
            )
    layer = _GUARDRAIL_WORDS.get(target)
    if status == "allows":
        if layer:
            return "allows", f"{layer} would allow {what} with the request's conditions"
        return "allows", f"allows {what} with the request's conditions"
    # Keys such as iam:PassedToService are set by the service at call time
    # and never appear in a log line: say what was and was not checked.
    return (
        "allows_if_conditions_hold",
        f"allows {what}; its conditions on keys the log does not show "
        "(set by the service at call time) could not be checked",
    )


def _entry(
    rule: str, fix: Fix, checker: Checker, status: VerificationStatus, message: str
) -> Verification:
    return Verification(rule, fix.target, fix.applies_to, checker, status, message)


def check_fixes(
    diagnosis: Diagnosis, *, simulator: Any = None, endpoint_url: str | None = None
) -> Diagnosis:
    """The diagnosis with each fix's ``risk`` and a ``verification`` entry per provable fix.

    Fixes are final here (after ``--generalize`` widened them), so this is
    where their privilege-escalation risk is computed, for every command.
    ``simulator`` is a boto3 Session for ``--verify``; without it only the
    built-in evaluator runs.
    """
    from diagnostics.policy.risk import with_risk

    diagnosis = with_risk(diagnosis)
    f = diagnosis.failure
    if not f.action or not diagnosis.findings:
        return diagnosis
    entries = verification(
        diagnosis,
        build_context(f, diagnosis.decoded),
        simulator=simulator,
        endpoint_url=endpoint_url,
    )
    return dataclasses.replace(diagnosis, verification=entries)


def verification(
    diagnosis: Diagnosis,
    ctx: RequestContext,
    *,
    simulator: Any = None,
    endpoint_url: str | None = None,
) -> tuple[Verification, ...]:
    """The verification entries of ``check_fixes`` for a context already built."""
    if not ctx.action:
        return ()
    entries: list[Verification] = []
    for finding in diagnosis.findings:
        for fix in finding.fixes:
            if fix.target not in PROVABLE_TARGETS:
                continue
            # A fix for another action (a dependent call) is checked by its own failure.
            if not any(s.get("Effect") == "Allow" for s in fix.statements):
                continue
            status, message = _judge(fix.statements, ctx, fix.target)
            entries.append(_entry(finding.rule, fix, "evaluator", status, message))
            if simulator is not None and fix.target in CALLER_TARGETS:
                from diagnostics.policy.simulate import verify_with_simulator

                result = verify_with_simulator(
                    fix.statements, ctx, session=simulator, endpoint_url=endpoint_url
                )
                # One vocabulary: the simulator's "allowed" is the evaluator's "allows".
                status = simulator_status(result.status) or "unavailable"
                entries.append(_entry(finding.rule, fix, "simulator", status, result.message))
    return tuple(entries)
