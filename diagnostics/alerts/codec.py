"""Diagnosis <-> JSON for the alert-group table.

``Diagnosis.to_json`` is the output contract; this reads it back so a group
survives a restart with its representative diagnosis intact.
"""

from __future__ import annotations

from typing import Any

from diagnostics.model import Diagnosis, Failure, Finding, Fix, JSONObject, SourceRef


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _fix(obj: Any) -> Fix:
    obj = obj if isinstance(obj, dict) else {}
    statements = obj.get("statements")
    return Fix(
        target=str(obj.get("target", "")),
        applies_to=_str(obj.get("applies_to")),
        statements=tuple(s for s in statements if isinstance(s, dict))
        if isinstance(statements, list)
        else (),
    )


def _finding(obj: Any) -> Finding:
    obj = obj if isinstance(obj, dict) else {}
    severity = obj.get("severity")
    fixes = obj.get("fixes")
    return Finding(
        rule=str(obj.get("rule", "")),
        title=str(obj.get("title", "")),
        severity=severity if severity in ("info", "low", "medium", "high") else "info",
        explanation=str(obj.get("explanation", "")),
        fixes=tuple(_fix(x) for x in fixes) if isinstance(fixes, list) else (),
    )


def _conditions(raw: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``request_context`` back into ``Failure.conditions``."""
    if not isinstance(raw, dict):
        return ()
    return tuple(
        (str(k), tuple(str(v) for v in values))
        for k, values in raw.items()
        if isinstance(values, list)
    )


def diagnosis_from_json(obj: JSONObject) -> Diagnosis:
    """The inverse of ``Diagnosis.to_json`` (``Failure.excerpt`` is not stored)."""
    src = obj.get("source") if isinstance(obj.get("source"), dict) else {}
    assert isinstance(src, dict)
    kind = obj.get("kind")
    failure = Failure(
        kind=kind if kind in ("encoded", "plain", "cloudtrail", "decoded") else "plain",
        source=SourceRef(
            path=str(src.get("path", "-")),
            line=_int(src.get("line")),
            offset=_int(src.get("offset")),
            event_id=_str(src.get("event_id")),
        ),
        principal_arn=_str(obj.get("principal_arn")),
        account_id=_str(obj.get("account_id")),
        action=_str(obj.get("action")),
        resource=_str(obj.get("resource")),
        policy_type=_str(obj.get("policy_type")),
        policy_arn=_str(obj.get("policy_arn")),
        explicit_deny=_bool(obj.get("explicit_deny")),
        encoded_message=_str(obj.get("encoded_message")),
        truncated=bool(obj.get("truncated", False)),
        operation=_str(obj.get("operation")),
        event_source=_str(obj.get("event_source")),
        region=_str(obj.get("region")),
        error_code=_str(obj.get("error_code")),
        event_time=_str(obj.get("event_time")),
        conditions=_conditions(obj.get("request_context")),
    )
    decoded = obj.get("decoded")
    findings = obj.get("findings")
    verification = obj.get("verification")
    return Diagnosis(
        failure=failure,
        decoded=decoded if isinstance(decoded, dict) else None,
        decode_error=_str(obj.get("decode_error")),
        findings=tuple(_finding(x) for x in findings) if isinstance(findings, list) else (),
        verification=tuple(v for v in verification if isinstance(v, dict))
        if isinstance(verification, list)
        else (),
    )
