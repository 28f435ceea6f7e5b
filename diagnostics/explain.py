"""``authz-diag explain``'s work: already decoded input in, diagnoses out.

The CLI command and the MCP server both call :func:`explain_bytes`, so an
agent and a person get the same diagnosis for the same pasted text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from diagnostics.context import DecodedMessageError, parse_decoded
from diagnostics.errors import InputError
from diagnostics.model import DecodeResult, Diagnosis, Failure, SourceRef
from diagnostics.pipeline import Pipeline

if TYPE_CHECKING:
    from diagnostics.rules import RuleSet


def explain_bytes(raw: bytes | str, source: str, ruleset: RuleSet | None) -> list[Diagnosis]:
    """Diagnose a decoded message (``aws sts decode-authorization-message`` output).

    Raises ``InputError`` naming ``source`` when ``raw`` is not one.
    """
    try:
        decoded = parse_decoded(raw)
    except DecodedMessageError as exc:
        raise InputError(f"{source}: {exc}") from None
    failure = Failure(kind="decoded", source=SourceRef(source), decoded=decoded)
    return [Pipeline(ruleset).diagnose_one(failure, DecodeResult(decoded=decoded))]
