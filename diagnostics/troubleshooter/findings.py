"""The findings an Access Troubleshooter answer gives: stable ids, severities, and which applies.

``diagnose.py`` builds each finding's title, explanation and fixes from the
answer (that computes: it quotes statements, re-checks conditions, writes a
statement per layer).  Which finding a denied evaluation gets is a pattern
over the answer, so it is named here once: the rule files in
``rules/troubleshooter/`` declare the same ids with a ``troubleshooter``
matcher, and ``rules lint`` checks them against this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from diagnostics.model import Severity
from diagnostics.troubleshooter.details import Evaluation

#: What a denied evaluation's checks say: no layer, an explicit Deny, or no Allow.
Verdict = Literal["unattributed", "explicit", "implicit"]
VERDICTS: tuple[Verdict, ...] = ("unattributed", "explicit", "implicit")


@dataclass(frozen=True, slots=True)
class FindingKind:
    """One kind of Troubleshooter finding: its rule id, severity and the verdict it reports."""

    rule: str
    severity: Severity
    verdict: Verdict


EXPLICIT = FindingKind("troubleshooter-explicit-deny", "high", "explicit")
IMPLICIT = FindingKind("troubleshooter-implicit-deny", "medium", "implicit")
UNATTRIBUTED = FindingKind("troubleshooter-unattributed", "medium", "unattributed")

#: Every kind, by rule id.
KINDS: dict[str, FindingKind] = {k.rule: k for k in (EXPLICIT, IMPLICIT, UNATTRIBUTED)}
_BY_VERDICT: dict[Verdict, FindingKind] = {k.verdict: k for k in KINDS.values()}


def verdict_of(evaluation: Evaluation) -> Verdict | None:
    """The verdict of one evaluation, or None when it was allowed.

    No checks at all happens when the caller is outside the denied
    principal's account or organization; any EXPLICIT_DENY (of the
    evaluation or one check) wins over the implicit denies beside it.
    """
    if not evaluation.denied:
        return None
    if not evaluation.checks:
        return "unattributed"
    if evaluation.effect == "EXPLICIT_DENY" or any(
        c.effect == "EXPLICIT_DENY" for c in evaluation.checks
    ):
        return "explicit"
    return "implicit"


def kind_of(evaluation: Evaluation) -> FindingKind | None:
    """The finding a denied evaluation gets; None when it was allowed."""
    verdict = verdict_of(evaluation)
    return _BY_VERDICT[verdict] if verdict else None
