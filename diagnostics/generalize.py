"""``--generalize``: widen instance-specific ARNs in fixes to their resource type's wildcard.

Off by default: a least-privilege fix names the exact resource that failed.
A team that would rather grant "any log group in this account and region"
once than meet the next denial asks for it, and every widened ARN is named
in the finding's explanation so nobody widens a policy without seeing it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from diagnostics.iam import arn_formats, fill_arn, parse_arn, resource_type_for_arn
from diagnostics.model import Diagnosis, Finding, Fix, JSONObject


def widen_arn(arn: str) -> str:
    """The resource type's ARN template filled with the ARN's partition, region and account."""
    parts = parse_arn(arn)
    if parts is None or "*" in parts.resource:
        return arn
    rtype = resource_type_for_arn(parts.service, arn)
    if rtype is None:
        return arn
    formats = arn_formats(parts.service, rtype)
    if not formats:
        return arn
    return fill_arn(
        formats[0],
        partition=parts.partition,
        region=parts.region or None,
        account=parts.account or None,
    )


def _widen_statement(statement: JSONObject, widened: dict[str, str]) -> JSONObject:
    if statement.get("Effect") != "Allow" or "Resource" not in statement:
        return statement
    raw: Any = statement["Resource"]
    resources = [raw] if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for arn in resources:
        wide = widen_arn(arn)
        if wide != arn:
            widened[arn] = wide
        if wide not in out:
            out.append(wide)
    return {**statement, "Resource": out[0] if len(out) == 1 else out}


def _widen_finding(finding: Finding) -> Finding:
    widened: dict[str, str] = {}
    fixes = tuple(
        Fix(
            fix.target,
            fix.applies_to,
            tuple(_widen_statement(s, widened) for s in fix.statements),
        )
        for fix in finding.fixes
    )
    if not widened:
        return finding
    note = "; ".join(f"{old} -> {new}" for old, new in sorted(widened.items()))
    explanation = f"{finding.explanation}\n--generalize widened: {note}."
    return dataclasses.replace(finding, fixes=fixes, explanation=explanation)


def generalize(diagnosis: Diagnosis) -> Diagnosis:
    """The diagnosis with every Allow statement's instance ARNs widened."""
    findings = tuple(_widen_finding(f) for f in diagnosis.findings)
    return dataclasses.replace(diagnosis, findings=findings)
