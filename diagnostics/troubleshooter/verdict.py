"""The pipeline's one call for a failure that has authorization details.

The details are AWS's own record of the evaluation, so they replace the
rules' guesses: findings come from ``diagnose_details`` and every fix is
re-checked across all layers by ``verify_details``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from diagnostics.iam.arns import parse_arn
from diagnostics.model import (
    Diagnosis,
    Evaluated,
    Failure,
    Finding,
    RequestContext,
    SourceRef,
    Verification,
    as_policy_type,
)
from diagnostics.troubleshooter.attribution import deciding_checks, denying_statements
from diagnostics.troubleshooter.details import (
    AuthorizationDetails,
    Evaluation,
    looks_like_details,
    parse_details,
)
from diagnostics.troubleshooter.diagnose import diagnose_details
from diagnostics.troubleshooter.layers import verify_details

Verdict = tuple[Failure, tuple[Finding, ...], tuple[Verification, ...]]


def _primary(details: AuthorizationDetails) -> Evaluation | None:
    denied = [e for e in details.evaluations if e.denied]
    explicit = [e for e in denied if e.effect == "EXPLICIT_DENY"]
    ordered = explicit or denied or list(details.evaluations)
    return ordered[0] if ordered else None


def _filled(failure: Failure, details: AuthorizationDetails) -> Failure:
    """The failure with what the details say filled in where the text was silent."""
    primary = _primary(details)
    checks = deciding_checks(primary) if primary else []
    policy_arn = next(
        (uri for c in checks for uri, _ in denying_statements(c) if parse_arn(uri)), None
    )
    principal = failure.principal_arn or details.principal_arn
    first = details.evaluations[0] if details.evaluations else None
    return dataclasses.replace(
        failure,
        principal_arn=principal,
        principal_text=None if principal else failure.principal_text,
        account_id=failure.account_id or details.context_value("aws:PrincipalAccount"),
        action=failure.action or (first.action if first else None),
        resource=failure.resource or (first.resource if first else None),
        region=failure.region or details.context_value("aws:RequestedRegion"),
        explicit_deny=failure.explicit_deny
        if failure.explicit_deny is not None
        else (primary.effect == "EXPLICIT_DENY" if primary and primary.denied else None),
        # A checkType newer than CHECK_LAYERS names no policy type of the contract.
        policy_type=failure.policy_type or (as_policy_type(checks[0].layer) if checks else None),
        policy_arn=failure.policy_arn or policy_arn,
        authorization_id=failure.authorization_id or details.authorization_id,
        parse_notes=tuple(dict.fromkeys((*failure.parse_notes, *details.notes))),
    )


BOTH_ANSWERED = (
    "Both answered: STS decoded the EC2 encoded message and IAM Access Troubleshooter "
    "returned the authorization details; this finding follows the details, which name "
    "every layer that was checked."
)


def judge_details(
    failure: Failure,
    raw: AuthorizationDetails | Mapping[str, Any],
    ctx: RequestContext | None = None,
    *,
    decoded: bool = False,
) -> Verdict | None:
    """(failure filled in, findings, verification), or None when ``raw`` is no answer.

    ``decoded``: STS also decoded the failure's blob; the findings say which answered.
    """
    if isinstance(raw, AuthorizationDetails):
        if not raw.is_answer:
            return None
        # As parse_details(raw, authorization_id=...) would: the failure's ID wins.
        details = raw
        if failure.authorization_id:
            details = dataclasses.replace(raw, authorization_id=failure.authorization_id)
    elif looks_like_details(raw):
        details = parse_details(raw, authorization_id=failure.authorization_id)
    else:
        return None
    filled = _filled(failure, details)
    from diagnostics.policy.risk import with_risk

    # Each fix's privilege-escalation risk, as the rules' fixes get it.
    findings = with_risk(
        Diagnosis(filled, findings=diagnose_details(filled, details, ctx))
    ).findings
    findings = tuple(_no_rcp_risk(f) for f in findings)
    verification = verify_details(details, findings, filled.principal_arn)
    findings = _with_recheck(findings, verification, details)
    if decoded and findings:
        first = findings[0]
        findings = (
            dataclasses.replace(first, explanation=f"{first.explanation}\n{BOTH_ANSWERED}"),
            *findings[1:],
        )
    return filled, findings, verification


def _with_recheck(
    findings: tuple[Finding, ...],
    verification: tuple[Verification, ...],
    details: AuthorizationDetails,
) -> tuple[Finding, ...]:
    """Each finding whose fix the re-check found still blocked says so in its explanation.

    ``diagnose_details`` gives one finding per denied evaluation, in order: a
    finding's entries are the ones that re-checked its evaluation.
    """
    denied = [e for e in details.evaluations if e.denied]
    if len(denied) != len(findings):
        return findings
    out = []
    for finding, evaluation in zip(findings, denied, strict=True):
        own = Evaluated(evaluation.action, evaluation.resource)
        blocked = [
            e.message
            for e in verification
            if e.rule == finding.rule
            and e.applies_to is not None
            and e.status == "still_denied"
            and e.evaluation == own
        ]
        note = " ".join(
            f"Re-check: {m}; the fix does not help until that changes." for m in blocked
        )
        out.append(
            dataclasses.replace(finding, explanation=f"{finding.explanation} {note}")
            if blocked
            else finding
        )
    return tuple(out)


def _no_rcp_risk(finding: Finding) -> Finding:
    """An RCP fix re-attaches AWS's own RCPFullAWSAccess: it grants nothing, so no risk."""
    if not any(f.target == "rcp" and f.risk for f in finding.fixes):
        return finding
    fixes = tuple(
        dataclasses.replace(f, risk=()) if f.target == "rcp" else f for f in finding.fixes
    )
    return dataclasses.replace(finding, fixes=fixes)


def failure_from_details(raw: Mapping[str, Any], path: str) -> Failure:
    """A failure for ``explain`` of a saved answer, named after the request it describes."""
    base = Failure(kind="decoded", source=SourceRef(path))
    return _filled(base, parse_details(raw))
