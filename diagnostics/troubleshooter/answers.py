"""What one resolve makes of the API's answers: pages combined, documents chosen.

Pure functions over the camelCase dicts botocore returns (``iam-toolbox``
model); no I/O.
"""

from __future__ import annotations

from typing import Any

from diagnostics.model import JSONObject

_DENIED_EFFECTS = frozenset({"IMPLICIT_DENY", "EXPLICIT_DENY"})
#: checkType -> the PolicyInfo.type its policies have.
_CHECK_POLICY_TYPES = {
    "SERVICE_CONTROL_POLICY": "SERVICE_CONTROL_POLICY",
    "RESOURCE_CONTROL_POLICY": "RESOURCE_CONTROL_POLICY",
    "VPC_ENDPOINT": "VPC_ENDPOINT_POLICY",
    "RESOURCE": "RESOURCE_BASED_POLICY",
    "PRINCIPAL": "IDENTITY_BASED_POLICY",
    "PERMISSIONS_BOUNDARY": "PERMISSIONS_BOUNDARY",
    "SESSION": "SESSION_POLICY",
}


def policies_to_fetch(details: JSONObject) -> list[str]:
    """URIs of the policies whose documents the diagnosis needs, in answer order.

    Every policy a check (or, in the older model, an evaluation) matched, and
    for each denied check the policies of its layer: the ones a fix edits.
    """
    wanted: dict[str, None] = {}
    denied_layers: list[tuple[str, str | None]] = []
    for evaluation in details.get("evaluations") or []:
        if not isinstance(evaluation, dict):
            continue
        for mp in evaluation.get("matchedPolicies") or []:
            if isinstance(mp, dict) and isinstance(mp.get("uri"), str):
                wanted[mp["uri"]] = None
        for check in evaluation.get("checks") or []:
            if not isinstance(check, dict):
                continue
            for mp in check.get("matchedPolicies") or []:
                if isinstance(mp, dict) and isinstance(mp.get("uri"), str):
                    wanted[mp["uri"]] = None
            if check.get("evaluatedEffect") in _DENIED_EFFECTS:
                ptype = _CHECK_POLICY_TYPES.get(str(check.get("checkType")))
                if ptype is not None:
                    target = check.get("targetArn")
                    denied_layers.append((ptype, target if isinstance(target, str) else None))
    for info in details.get("policies") or []:
        if not isinstance(info, dict) or not isinstance(info.get("uri"), str):
            continue
        attached = {a.get("arn") for a in info.get("attachedTo") or [] if isinstance(a, dict)}
        for ptype, target in denied_layers:
            if info.get("type") == ptype and (target is None or not attached or target in attached):
                wanted[info["uri"]] = None
    return list(wanted)


def combine_pages(key: str, pages: list[JSONObject]) -> JSONObject:
    """One details dict from all pages: evaluations concatenated, policies once each."""
    first = pages[0] if pages else {}
    evaluations: list[Any] = []
    policies: list[Any] = []
    seen: set[str] = set()
    for page in pages:
        evaluations.extend(page.get("evaluations") or [])
        for info in page.get("policies") or []:
            uri = info.get("uri") if isinstance(info, dict) else None
            if isinstance(uri, str):
                if uri in seen:
                    continue
                seen.add(uri)
            policies.append(info)
    return {
        "authorizationId": key,
        "requestContext": first.get("requestContext") or {},
        "evaluations": evaluations,
        "policies": policies,
    }
