"""Printing diagnoses for the one-shot commands."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from diagnostics.model import Diagnosis
from diagnostics.render import jsonl, text


def print_diagnoses(diagnoses: Sequence[Diagnosis], fmt: str) -> None:
    out = sys.stdout.buffer
    for i, diagnosis in enumerate(diagnoses, 1):
        if fmt == "json":
            out.write(jsonl.render(diagnosis))
        else:
            out.write(text.render(diagnosis, i if len(diagnoses) > 1 else None).encode())
    out.flush()
