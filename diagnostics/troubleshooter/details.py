"""Parse IAM Access Troubleshooter answers into frozen dataclasses.

Input is ``GetRequestAuthorizationDetails``' answer (the dict the resolver
stores in ``Diagnosis.authorization_details``, or the JSON that ``aws
iam-toolbox get-request-authorization-details`` prints: the same camelCase
keys), optionally with ``documents`` (policy URI -> policy document, from
``GetRequestAuthorizationPolicy``).  Field names follow botocore's
``iam-toolbox`` service model.

The dataclasses are in diagnostics/model.py: ``Diagnosis`` carries the
parsed answer, parsed once here, and the renderers, sinks and alerts read it.

Parsing is lenient: the API is in preview and users paste by hand, so a
missing or odd field becomes a parse note and never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from diagnostics.model import (
    CHECK_EFFECTS,
    CHECK_LAYERS,
    DENIED,
    POLICY_CHECKS,
    AuthorizationDetails,
    Check,
    Evaluation,
    PolicyInfo,
    PolicyMatch,
    StatementRef,
)

__all__ = [
    "CHECK_EFFECTS",
    "CHECK_LAYERS",
    "DENIED",
    "POLICY_CHECKS",
    "AuthorizationDetails",
    "Check",
    "Evaluation",
    "PolicyInfo",
    "PolicyMatch",
    "StatementRef",
    "context_values",
    "looks_like_details",
    "parse_details",
    "parse_document",
]


def context_values(value: Any) -> tuple[str, ...]:
    """A context value (string, list, bool, number) as the evaluator's strings."""
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            out.append(str(item))
    return tuple(out)


def _context(raw: Any, where: str, notes: list[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        notes.append(f"{where} is not an object of context keys; ignored")
        return ()
    out = []
    for key, value in raw.items():
        values = context_values(value)
        if not values and value not in ([], None):
            notes.append(f"{where} key {key} has a value of an unknown shape; ignored")
            continue
        out.append((str(key), values))
    return tuple(out)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _list(raw: Any, where: str, notes: list[str]) -> list[Mapping[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        notes.append(f"{where} is not a list; ignored")
        return []
    items = [x for x in raw if isinstance(x, Mapping)]
    if len(items) != len(raw):
        notes.append(f"{where} has {len(raw) - len(items)} entries that are not objects; skipped")
    return items


def _matches(raw: Any, where: str, notes: list[str]) -> tuple[PolicyMatch, ...]:
    out = []
    for item in _list(raw, where, notes):
        uri = _str(item.get("uri"))
        if uri is None:
            notes.append(f"{where} has an entry without a uri; skipped")
            continue
        statements = tuple(
            StatementRef(_str(s.get("sid")), _str(s.get("evaluatedEffect")))
            for s in _list(item.get("matchedStatements"), f"{where} matchedStatements", notes)
        )
        out.append(PolicyMatch(uri, statements))
    return tuple(out)


def _check(raw: Mapping[str, Any], where: str, notes: list[str]) -> Check | None:
    check_type = _str(raw.get("checkType"))
    effect = _str(raw.get("evaluatedEffect"))
    if check_type is None:
        notes.append(f"{where} has no checkType; skipped")
        return None
    if effect not in CHECK_EFFECTS:
        notes.append(f"{where} ({check_type}) has an unknown evaluatedEffect {effect!r}; skipped")
        return None
    if check_type not in CHECK_LAYERS:
        notes.append(f"{where} has an unknown checkType {check_type}; kept as is")
    types = raw.get("relevantPolicyTypes")
    return Check(
        check_type=check_type,
        effect=effect,
        target_arn=_str(raw.get("targetArn")),
        relevant_policy_types=tuple(t for t in types if isinstance(t, str))
        if isinstance(types, list)
        else (),
        matched=_matches(raw.get("matchedPolicies"), f"{where} matchedPolicies", notes),
    )


def _evaluation(raw: Mapping[str, Any], where: str, notes: list[str]) -> Evaluation | None:
    action = _str(raw.get("action"))
    if action is None:
        notes.append(f"{where} has no action; skipped")
        return None
    checks = []
    for i, item in enumerate(_list(raw.get("checks"), f"{where} checks", notes)):
        check = _check(item, f"{where} check {i + 1}", notes)
        if check is not None:
            checks.append(check)
    effect = _str(raw.get("evaluatedEffect"))
    if effect is None and checks:
        # Derive it the way the model documents: any EXPLICIT_DENY check wins.
        effects = {c.effect for c in checks}
        effect = next((e for e in ("EXPLICIT_DENY", "IMPLICIT_DENY") if e in effects), "ALLOW")
        notes.append(f"{where} has no evaluatedEffect; {effect} derived from its checks")
    if not checks and raw.get("checks") is None:
        notes.append(
            f"{where} ({action}) has no checks: the caller is likely outside the principal's "
            "account or organization, so the layer that denied cannot be named"
        )
    return Evaluation(
        action=action,
        resource=_str(raw.get("resource")),
        effect=effect,
        context=_context(raw.get("context"), f"{where} context", notes),
        checks=tuple(checks),
    )


def parse_document(raw: Any) -> Mapping[str, Any] | None:
    """A policy document: an object, a JSON string of one, or ``{"policyDocument": ...}``."""
    if isinstance(raw, str | bytes):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
    if isinstance(raw, Mapping) and "policyDocument" in raw:
        return parse_document(raw["policyDocument"])
    # A policy has a Statement (IAM JSON policy grammar); anything else is no policy.
    return raw if isinstance(raw, Mapping) and "Statement" in raw else None


def _policy(
    raw: Mapping[str, Any], documents: Mapping[str, Any], where: str, notes: list[str]
) -> PolicyInfo | None:
    uri = _str(raw.get("uri"))
    if uri is None:
        notes.append(f"{where} has no uri; skipped")
        return None
    attached = tuple(
        a for a in (_str(x.get("arn")) for x in _list(raw.get("attachedTo"), where, notes)) if a
    )
    source = raw.get("policySource")
    document = None
    if uri in documents:
        document = parse_document(documents[uri])
        if document is None:
            notes.append(f"the document given for {uri} is not a policy object; ignored")
    inline = raw.get("inline")
    return PolicyInfo(
        uri=uri,
        policy_type=_str(raw.get("type")),
        inline=inline if isinstance(inline, bool) else None,
        attached_to=attached,
        source_type=_str(source.get("type")) if isinstance(source, Mapping) else None,
        document=document,
    )


def looks_like_details(obj: Any) -> bool:
    """Is ``obj`` a GetRequestAuthorizationDetails answer (by shape)?"""
    return isinstance(obj, Mapping) and isinstance(obj.get("evaluations"), list)


def parse_details(
    raw: Mapping[str, Any],
    documents: Mapping[str, Any] | None = None,
    *,
    authorization_id: str | None = None,
) -> AuthorizationDetails:
    """Parse an answer; ``documents`` adds to (and wins over) its own ``documents`` map."""
    notes: list[str] = []
    own = raw.get("documents")
    docs: dict[str, Any] = dict(own) if isinstance(own, Mapping) else {}
    docs.update(documents or {})
    evaluations = []
    for i, item in enumerate(_list(raw.get("evaluations"), "evaluations", notes)):
        evaluation = _evaluation(item, f"evaluation {i + 1}", notes)
        if evaluation is not None:
            evaluations.append(evaluation)
    if not evaluations:
        notes.append("the answer has no evaluations; nothing to attribute")
    policies = []
    for i, item in enumerate(_list(raw.get("policies"), "policies", notes)):
        policy = _policy(item, docs, f"policy {i + 1}", notes)
        if policy is not None:
            policies.append(policy)
    known = {p.uri for p in policies}
    for uri in sorted(set(docs) - known):
        notes.append(f"a document was given for {uri}, which no evaluated policy names; ignored")
    for evaluation in evaluations:
        for check in evaluation.checks:
            for match in check.matched:
                if match.uri not in known:
                    notes.append(
                        f"{check.check_type} of {evaluation.action} names policy {match.uri}, "
                        "which the policies list lacks"
                    )
    return AuthorizationDetails(
        authorization_id=authorization_id or _str(raw.get("authorizationId")),
        request_context=_context(raw.get("requestContext"), "requestContext", notes),
        evaluations=tuple(evaluations),
        policies=tuple(policies),
        notes=tuple(dict.fromkeys(notes)),
        raw=raw if isinstance(raw, dict) else dict(raw),
    )
