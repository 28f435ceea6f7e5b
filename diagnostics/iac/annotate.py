"""Attach to a diagnosis where the IaC tree defines each of its fixes' targets."""

from __future__ import annotations

import dataclasses

from diagnostics.iac.search import IacIndex
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
