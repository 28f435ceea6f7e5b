"""Check that each suggested fix allows the request that failed.

Every fix aimed at an identity, resource or trust policy is run through the
built-in evaluator against the failed request's action, resource and
condition context.  ``--verify`` adds IAM's SimulateCustomPolicy as a second
opinion from AWS itself.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from diagnostics.context import build_context
from diagnostics.model import Diagnosis, Fix, JSONObject, RequestContext
from diagnostics.policy import statement_allows, statement_allows_if_set

#: Targets whose Allow statements grant access; guardrail fixes (SCP, boundary,
#: session) only stop denying and cannot be proved by an Allow alone.
PROVABLE_TARGETS = frozenset({"identity", "resource", "trust"})


def _judge(fix_statements: tuple[JSONObject, ...], ctx: RequestContext) -> tuple[str, str]:
    """(status, message) of the evaluator for one fix's statements."""
    allows = [s for s in fix_statements if s.get("Effect") == "Allow"]
    target = f"{ctx.action} on {ctx.resource or '*'}"
    if any(statement_allows(s, ctx) for s in allows):
        return "allows", f"allows {target} with the request's conditions"
    if any(statement_allows_if_set(s, ctx) for s in allows):
        # Keys such as iam:PassedToService are set by the service at call time
        # and never appear in a log line: say what was and was not checked.
        return (
            "allows_if_conditions_hold",
            f"allows {target}; its conditions on keys the log does not show "
            "(set by the service at call time) could not be checked",
        )
    return (
        "does_not_cover",
        f"does not by itself allow {ctx.action}; it covers a related permission",
    )


def _entry(rule: str, fix: Fix, checker: str, status: str, message: str) -> JSONObject:
    return {
        "rule": rule,
        "target": fix.target,
        "applies_to": fix.applies_to,
        "checker": checker,
        "status": status,
        "message": message,
    }


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
    ctx = build_context(f, diagnosis.decoded)
    entries: list[JSONObject] = []
    for finding in diagnosis.findings:
        for fix in finding.fixes:
            if fix.target not in PROVABLE_TARGETS:
                continue
            # A fix for another action (a dependent call) is checked by its own failure.
            status, message = _judge(fix.statements, ctx)
            entries.append(_entry(finding.rule, fix, "evaluator", status, message))
            if simulator is not None and fix.target == "identity":
                from diagnostics.policy.simulate import verify_with_simulator

                result = verify_with_simulator(
                    fix.statements, ctx, session=simulator, endpoint_url=endpoint_url
                )
                entries.append(
                    _entry(finding.rule, fix, "simulator", result.status, result.message)
                )
    return dataclasses.replace(diagnosis, verification=tuple(entries))
