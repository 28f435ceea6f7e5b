"""Attach to a diagnosis where the IaC tree defines each of its fixes' targets."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from diagnostics.iac.search import IacIndex
from diagnostics.iac.targets import target_of
from diagnostics.model import Diagnosis, IacLocation


def annotate(diagnosis: Diagnosis, index: IacIndex) -> Diagnosis:
    """``diagnosis`` with ``defined_in`` naming each fix target's defining resource."""
    seen: dict[tuple[str, str, int], IacLocation] = {}
    for finding in diagnosis.findings:
        for fix in finding.fixes:
            if not fix.applies_to:
                continue
            for d in index.find(fix.applies_to):
                key = (fix.applies_to, d.file, d.line)
                seen.setdefault(key, IacLocation(fix.applies_to, d.file, d.line, d.resource))
    if not seen:
        return diagnosis
    return dataclasses.replace(diagnosis, defined_in=tuple(seen.values()))


def defined_notes(applies_to: str | None, diagnoses: Iterable[Diagnosis]) -> list[str]:
    """``defined in infra/iam.tf:12 (aws_iam_role.x)`` per location of ``applies_to``'s target.

    A merged document names its target as the policy sees it (a session's role),
    so locations are matched by the role, user, group or bucket they define.
    """
    target = target_of(applies_to) if applies_to else None
    if target is None:
        return []
    notes: list[str] = []
    for d in diagnoses:
        for loc in d.defined_in:
            note = f"defined in {loc.label()}"
            if target_of(loc.applies_to) == target and note not in notes:
                notes.append(note)
    return notes
