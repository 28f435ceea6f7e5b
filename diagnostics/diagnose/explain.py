"""``authz-diag explain``'s work: already decoded input in, diagnoses out.

The CLI command and the MCP server both call :func:`explain_bytes`, so an
agent and a person get the same diagnosis for the same pasted text.  Two
inputs, told apart by shape: STS DecodeAuthorizationMessage's output, or IAM
Access Troubleshooter's GetRequestAuthorizationDetails answer (an object with
``evaluations``), optionally with the policy documents beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from diagnostics.diagnose.pipeline import Pipeline
from diagnostics.errors import InputError, UsageError
from diagnostics.model import DecodeResult, Diagnosis, Failure, JSONObject, SourceRef
from diagnostics.request.context import DecodedMessageError, parse_decoded

if TYPE_CHECKING:
    from diagnostics.rules import RuleSet


def details_of(raw: bytes | str) -> JSONObject | None:
    """The Access Troubleshooter answer ``raw`` holds, or None when it holds none.

    Accepts the CLI's get-request-authorization-details output and a line of
    ``scan --format json`` that carries resolved ``authorization_details``.
    """
    from diagnostics.troubleshooter import looks_like_details

    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if isinstance(obj, dict) and looks_like_details(obj.get("authorization_details")):
        obj = obj["authorization_details"]
    return dict(obj) if looks_like_details(obj) else None


def explain_bytes(
    raw: bytes | str,
    source: str,
    ruleset: RuleSet | None,
    *,
    documents: Mapping[str, Any] | None = None,
) -> list[Diagnosis]:
    """Diagnose a decoded message or saved authorization details.

    ``documents`` (policy URI -> document) go with authorization details only.
    Raises ``InputError`` naming ``source`` when ``raw`` is neither.
    """
    details = details_of(raw)
    if details is not None:
        return [_explain_details(details, source, ruleset, documents or {})]
    if documents:
        raise UsageError(
            "policy documents go with saved authorization details (aws iam-toolbox "
            "get-request-authorization-details output), not with a decoded message"
        )
    try:
        decoded = parse_decoded(raw)
    except DecodedMessageError as exc:
        raise InputError(
            f"{source}: {exc}; or the output of aws iam-toolbox "
            "get-request-authorization-details (an object with evaluations)"
        ) from None
    failure = Failure(kind="decoded", source=SourceRef(source), decoded=decoded)
    return [Pipeline(ruleset).diagnose_one(failure, DecodeResult(decoded=decoded))]


def _explain_details(
    raw: JSONObject, source: str, ruleset: RuleSet | None, documents: Mapping[str, Any]
) -> Diagnosis:
    from diagnostics.troubleshooter import failure_from_details

    if documents:
        own = raw.get("documents")
        raw = {**raw, "documents": {**(own if isinstance(own, dict) else {}), **documents}}
    failure = failure_from_details(raw, source)
    return Pipeline(ruleset).diagnose_one(failure, DecodeResult(), authorization_details=raw)
