"""``explain --policies`` on a log: the failures in any text ``scan`` reads, diagnosed."""

from __future__ import annotations

import gzip
from typing import TYPE_CHECKING

from diagnostics.errors import InputError
from diagnostics.model import Diagnosis

if TYPE_CHECKING:
    from diagnostics.rules import RuleSet


def diagnose_log(raw: bytes, name: str, ruleset: RuleSet | None) -> list[Diagnosis]:
    """Every failure in ``raw`` (text, CloudTrail JSON, gzip of either), diagnosed."""
    from diagnostics.diagnose.pipeline import Pipeline
    from diagnostics.extract import extract_text

    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(f"{name}: a broken gzip file ({exc}); check the file") from None
    failures = extract_text(raw.decode("utf-8", errors="surrogateescape"), name)
    if not failures:
        raise InputError(
            f"{name}: no authorization failure found; give a decoded message, saved "
            "authorization details, or a log holding AccessDenied errors"
        )
    return list(Pipeline(ruleset).diagnose(failures))
