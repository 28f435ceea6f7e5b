"""``--format policy``: one JSON document on stdout, ready for jq and the AWS CLI.

A list with one entry per policy to change, ``{"target", "applies_to",
"document", "notes"}``, and one entry with ``"document": null`` for each
failure no statement can fix (an explicit deny, a call that can never be
allowed, a bare 403 with nothing to go on), so nothing vanishes silently.
``--format policy-text`` keeps the commented, human layout of
``render_policies``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from diagnostics.iam.arns import principal_for_policy
from diagnostics.model import Diagnosis, JSONObject
from diagnostics.policy.merge import PolicyDocument, header, risk_notes


def _where(d: Diagnosis) -> str:
    src = d.failure.source
    return src.path + (f":{src.line}" if src.line is not None else "")


def _what(d: Diagnosis) -> str:
    f = d.failure
    action = f.action or (f"{f.operation} (operation)" if f.operation else None)
    what = action or f.error_code or "access denied"
    return what + (f" on {f.resource}" if f.resource else "")


def unfixable(diagnoses: Iterable[Diagnosis]) -> list[JSONObject]:
    """An entry with ``document: null`` for every failure that no fix covers."""
    out: list[JSONObject] = []
    for d in diagnoses:
        if any(fix.statements for finding in d.findings for fix in finding.fixes):
            continue
        principal = d.failure.principal_arn
        notes = [f"{_where(d)}: {_what(d)}: no policy statement can fix this failure here"]
        notes += [finding.explanation for finding in d.findings]
        if not d.findings:
            notes.append(
                "no rule matched; the message says too little to write a statement "
                "(decode it, or find the full error text)"
            )
        out.append(
            {
                "target": d.failure.policy_type,
                "applies_to": principal_for_policy(principal) if principal else None,
                "document": None,
                "notes": notes,
            }
        )
    return out


def policy_entries(
    documents: Sequence[PolicyDocument], diagnoses: Sequence[Diagnosis]
) -> list[JSONObject]:
    """The whole ``--format policy`` answer: documents first, then what they cannot fix."""
    entries: list[JSONObject] = [
        {
            "target": doc.kind,
            "applies_to": doc.applies_to,
            "document": doc.document,
            # The entry has four keys by contract: the privilege-escalation
            # paths the merged document opens go in its notes.
            "notes": [header(doc), *doc.warnings, *risk_notes(doc.risk)],
        }
        for doc in documents
    ]
    return entries + unfixable(diagnoses)


def explanations(diagnoses: Iterable[Diagnosis]) -> list[str]:
    """One line per failure for stderr: where, what, and the first finding's title."""
    lines = []
    for d in diagnoses:
        title = d.findings[0].title if d.findings else "no rule matched"
        lines.append(f"{_where(d)}: {_what(d)}: {title}")
    return lines
