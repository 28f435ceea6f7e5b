"""Policy grammar per policy type, checked on every fix before it is printed.

The checks are those IAM applies when a policy is saved (and IAM Access
Analyzer's ValidatePolicy reports): a trust policy names a ``Principal`` and
no ``Resource`` (IAM: "MalformedPolicyDocument: Has prohibited field
Resource"); an identity, boundary, session or SCP statement names no
``Principal``; a resource policy names one; a ``Sid`` is letters and digits
only; and the document fits its size quota (IAM User Guide, "IAM and AWS STS
quotas": 2,048 characters for a trust policy, 10,240 for all of a role's
inline policies together, 6,144 for a managed policy).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from diagnostics.model import Finding, Fix, JSONObject
from diagnostics.text.article import with_article

#: Policies attached to a principal (or its session, or its organization):
#: their statements never name a Principal.
PRINCIPAL_FREE = frozenset({"identity", "permission_set", "permissions_boundary", "session", "scp"})
#: Policies attached to a resource: each statement names who it is for.
PRINCIPAL_REQUIRED = frozenset({"resource", "vpc_endpoint", "rcp", "trust"})

# Linear: one class, anchored.
_SID = re.compile(r"^[A-Za-z0-9]*$")
_SID_BAD = re.compile(r"[^A-Za-z0-9]+")


def _a(kind: str) -> str:
    return with_article(kind)


def _statement_problems(kind: str, index: int, statement: Mapping[str, Any]) -> list[str]:
    where = f"statement {index + 1}"
    out: list[str] = []
    sid = statement.get("Sid")
    if sid is not None and (not isinstance(sid, str) or not _SID.match(sid)):
        out.append(f"{where}: Sid {sid!r} may hold only letters and digits")
    if statement.get("Effect") not in ("Allow", "Deny"):
        out.append(f"{where}: Effect must be Allow or Deny")
    if "Action" not in statement and "NotAction" not in statement:
        out.append(f"{where}: has no Action")
    has_principal = "Principal" in statement or "NotPrincipal" in statement
    has_resource = "Resource" in statement or "NotResource" in statement
    if kind == "trust" and has_resource:
        out.append(f"{where}: a trust policy has prohibited field Resource")
    if kind in PRINCIPAL_FREE and has_principal:
        out.append(f"{where}: {_a(kind)} policy has prohibited field Principal")
    if kind in PRINCIPAL_REQUIRED and not has_principal:
        out.append(f"{where}: {_a(kind)} policy statement needs a Principal")
    if kind in PRINCIPAL_FREE and not has_resource:
        out.append(f"{where}: {_a(kind)} policy statement needs a Resource")
    return out


def document_of(fix: Fix) -> JSONObject:
    """The fix as the policy document it adds, for size checks."""
    return {"Version": "2012-10-17", "Statement": list(fix.statements)}


def size_problems(fix: Fix) -> list[str]:
    """Each size quota the fix alone already exceeds, in a sentence."""
    from diagnostics.policy.merge import limits_for, policy_size

    size = policy_size(document_of(fix))
    return [
        f"the statements are {size:,} characters, over the {limit:,}-character quota of a "
        f"{what}: split them over several policies (a managed policy holds 6,144)"
        for limit, what in limits_for(fix.target, fix.applies_to)
        if size > limit
    ]


def problems(fix: Fix) -> list[str]:
    """Everything IAM would refuse about ``fix`` as a policy of its target's type."""
    out: list[str] = []
    for index, statement in enumerate(fix.statements):
        out.extend(_statement_problems(fix.target, index, statement))
    return out + size_problems(fix)


def _repair_statement(kind: str, statement: JSONObject) -> JSONObject:
    out = dict(statement)
    if kind == "trust":
        # The trust policy is the role's own: its resource is implied.
        out.pop("Resource", None)
        out.pop("NotResource", None)
    if kind in PRINCIPAL_FREE:
        out.pop("Principal", None)
        out.pop("NotPrincipal", None)
    sid = out.get("Sid")
    if isinstance(sid, str) and not _SID.match(sid):
        out["Sid"] = _SID_BAD.sub("", sid)
    return out


def repaired(fix: Fix) -> Fix:
    """``fix`` with the fields its policy type prohibits removed and its Sids cleaned."""
    statements = tuple(
        _repair_statement(fix.target, s) if isinstance(s, dict) else s for s in fix.statements
    )
    if statements == fix.statements:
        return fix
    return dataclasses.replace(fix, statements=statements)


def checked_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Findings whose fixes are well formed; a fix over a quota says so in the explanation."""
    out: list[Finding] = []
    for finding in findings:
        fixes = tuple(repaired(f) for f in finding.fixes)
        notes = [
            f"{f.target} fix for {f.applies_to}: {p}." for f in fixes for p in size_problems(f)
        ]
        if fixes == finding.fixes and not notes:
            out.append(finding)
            continue
        explanation = " ".join([finding.explanation, *notes])
        out.append(dataclasses.replace(finding, fixes=fixes, explanation=explanation))
    return tuple(out)
