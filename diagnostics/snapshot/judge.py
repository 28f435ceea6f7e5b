"""A diagnosis judged against a snapshot: attribution, fixes as edits, and their re-check.

``SnapshotJudge`` is applied to each diagnosis (scan, explain and watch): a
failure whose principal and action are known, and whose principal or
resource the snapshot holds, gets the snapshot's finding in place of the
rules' reading of the message.  An Access Troubleshooter answer, AWS's own
record, is left as it is.  ``private`` (watch) keeps policy documents out:
edits carry the policy and Sid only, conditions are named by key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from diagnostics.model import (
    Diagnosis,
    Evaluated,
    Finding,
    Fix,
    Risk,
    Verification,
    VerificationStatus,
)
from diagnostics.request.context import context_of
from diagnostics.snapshot.attribute import ALLOWED_RULE, attribute, layer_phrase
from diagnostics.snapshot.edits import apply_edit, apply_statements
from diagnostics.snapshot.evaluate import Layered, evaluate_request
from diagnostics.snapshot.model import Snapshot
from diagnostics.troubleshooter.attribution import LAYER_PLURALS

#: Added to every edit that exempts a caller from a Deny.
GUARDRAIL_RISK = Risk(
    "deny-exemption",
    "high",
    "exempts the caller from an explicit Deny (a guardrail): agree it with its owner",
)


def _with_risk(fix: Fix) -> Fix:
    from diagnostics.policy.risk import fix_risks

    risk = fix_risks(fix) if fix.statements else ()
    if fix.edit is not None and not fix.statements:
        risk = (GUARDRAIL_RISK,)
    return dataclasses.replace(fix, risk=risk)


def _fixed(snap: Snapshot, fixes: Sequence[Fix], principal: str | None) -> Snapshot:
    for fix in fixes:
        if fix.edit is not None and fix.edit.after is not None:
            snap = apply_edit(snap, fix.edit)
        else:
            snap = apply_statements(snap, fix, principal)
    return snap


def _blockers(layered: Layered | None) -> list[str]:
    if layered is None:
        return ["the snapshot no longer holds the request's principal or resource"]
    action = layered.evaluation.action
    return [layer_phrase(c, layered, action) for c in layered.evaluation.checks if c.denied]


def verify(
    snap: Snapshot, layered: Layered, finding: Finding, rule: str
) -> tuple[Verification, ...]:
    """Re-run the request against every layer of the snapshot with each fix in place."""
    ctx = layered.ctx
    label = layered.evaluation.label()
    together = _blockers(evaluate_request(_fixed(snap, finding.fixes, ctx.principal_arn), ctx))
    entries: list[Verification] = []
    status: VerificationStatus
    for fix in finding.fixes:
        alone = _blockers(evaluate_request(_fixed(snap, [fix], ctx.principal_arn), ctx))
        form = "edit" if fix.edit is not None else "statements"
        if not alone:
            status, message = "allows", f"allows {label}: every layer of the snapshot now allows"
        elif not together:
            status = "allows_with_other_fixes"
            message = f"allows {label} only with the other fixes; alone: {'; '.join(alone)}"
        else:
            status = "still_denied"
            message = f"{label} would still be {'; '.join(together)}"
        entries.append(
            Verification(
                rule,
                fix.target,
                fix.applies_to,
                "snapshot",
                status,
                f"{message} (as the {form})",
                Evaluated(layered.evaluation.action, layered.evaluation.resource),
            )
        )
    return tuple(entries)


def _private(fix: Fix) -> Fix:
    if fix.edit is None:
        return fix
    return dataclasses.replace(fix, edit=dataclasses.replace(fix.edit, before=None, after=None))


def _allowed(snap: Snapshot, layered: Layered, said: str | None) -> Finding:
    when = f" (collected {snap.collected_at})" if snap.collected_at else ""
    gaps = f" It lacks {', '.join(layered.gaps)}." if layered.gaps else ""
    held = {c.layer for c in layered.evaluation.checks}
    if said is not None and said not in held:
        # The message names a layer the snapshot has no part of: not staleness.
        why = (
            f"The message says the {LAYER_PLURALS.get(said, said)} denied it, and the snapshot "
            "holds none: collect it with `authz-diag snapshot` (Organizations or the "
            "resource's policy) to name the statement."
        )
    else:
        why = (
            "The snapshot may be stale (collect a fresh one with `authz-diag snapshot`), or a "
            "layer it does not hold denied it (a session policy, a VPC endpoint policy, a "
            "resource policy not collected)."
        )
    return Finding(
        ALLOWED_RULE,
        f"{layered.evaluation.action}: every layer the policy snapshot holds allows it",
        "medium",
        f"Every layer of the snapshot{when} allows {layered.evaluation.label()}, yet AWS "
        f"denied it. {why}{gaps}",
    )


class SnapshotJudge:
    """Judge diagnoses against one snapshot; safe to share between threads (read-only)."""

    def __init__(self, snapshot: Snapshot, *, private: bool = False) -> None:
        self.snapshot = snapshot
        self.private = private

    def __call__(self, diagnosis: Diagnosis) -> Diagnosis:
        from diagnostics.request.action_gate import withheld_reason

        failure = diagnosis.failure
        if diagnosis.authorization_details is not None or withheld_reason(failure.action):
            return diagnosis
        layered = evaluate_request(self.snapshot, context_of(failure, diagnosis.decoded))
        if layered is None:
            return diagnosis
        if layered.allowed:
            return dataclasses.replace(
                diagnosis,
                findings=(
                    _allowed(self.snapshot, layered, failure.policy_type),
                    *diagnosis.findings,
                ),
            )
        full = attribute(layered, self.snapshot, failure)
        fixes = tuple(_with_risk(f) for f in full.fixes)
        full = dataclasses.replace(full, fixes=fixes)
        verification = verify(self.snapshot, layered, full, full.rule)
        shown = full
        if self.private:
            shown = attribute(layered, self.snapshot, failure, private=True)
            shown = dataclasses.replace(shown, fixes=tuple(_private(f) for f in fixes))
        return dataclasses.replace(diagnosis, findings=(shown,), verification=verification)
