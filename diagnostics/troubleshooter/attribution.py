"""Name what denied a request: which check, policy, statement and organization target.

Shared by the diagnosis, the verification messages and the one-line summary
the text view, stdout and Slack alerts print ("denied by SCP p-... at
ou-... (statement DenyOutsideRegions)").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diagnostics.iam.arns import parse_arn
from diagnostics.model import LAYER_PLURALS as _PLURALS
from diagnostics.model import LAYER_WORDS as _WORDS
from diagnostics.troubleshooter.details import (
    AuthorizationDetails,
    Check,
    Evaluation,
    PolicyInfo,
    looks_like_details,
    parse_details,
)

#: model's layer words, here too: the diagnosis and the snapshot import them from here.
LAYER_WORDS = _WORDS
LAYER_PLURALS = _PLURALS


def short_target(arn: str | None) -> str | None:
    """``ou-ab12-cdef5678``, ``root r-ab12``, ``account 111122223333`` or the ARN itself.

    Organizations ARNs: ``arn:aws:organizations::MGMT:ou/o-ID/ou-ID``,
    ``.../root/o-ID/r-ID``, ``.../account/o-ID/ACCOUNT`` (AWS Organizations
    User Guide, "Resource types defined by AWS Organizations").
    """
    if not arn:
        return None
    parsed = parse_arn(arn)
    if parsed is None or parsed.service != "organizations":
        return arn
    kind, _, rest = parsed.resource.partition("/")
    last = rest.rsplit("/", 1)[-1]
    if kind == "ou":
        return last
    if kind == "root":
        return f"root {last}"
    if kind == "account":
        return f"account {last}"
    return arn


def short_policy(policy: PolicyInfo | None, uri: str) -> str:
    """An SCP/RCP by its id (``p-...``), a managed policy by ARN, an inline one with its entity.

    An inline policy's URI is opaque (iam-toolbox model, PolicyInfo.uri), so
    the entity it is attached to is what tells a reader where to look.
    """
    parsed = parse_arn(uri)
    if parsed is not None and parsed.service == "organizations":
        return parsed.resource.rsplit("/", 1)[-1]
    inline = (policy is not None and policy.inline) or parsed is None
    if inline and policy is not None and policy.attached_to:
        return f"inline {uri} on {policy.attached_to[0]}"
    if inline:
        return f"inline {uri}"
    return uri


def denying_statements(check: Check) -> list[tuple[str, str | None]]:
    """(policy uri, Sid) of every statement that matched with the check's own verdict."""
    want = "DENY" if check.effect == "EXPLICIT_DENY" else None
    out = []
    for match in check.matched:
        for statement in match.statements:
            if want is None or (statement.effect or "").upper() == want:
                out.append((match.uri, statement.sid))
        if not match.statements and want is None:
            out.append((match.uri, None))
    return out


def check_policies(details: AuthorizationDetails, check: Check) -> list[PolicyInfo]:
    """The evaluated policies this check consists of.

    SCP and RCP checks are one per organization target: only the policies
    attached at ``targetArn`` belong to it.
    """
    same = [p for p in details.policies if p.check_type == check.check_type]
    if check.target_arn:
        at_target = [p for p in same if check.target_arn in p.attached_to]
        if at_target or check.check_type in {"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"}:
            return at_target
    return same


def describe_check(details: AuthorizationDetails, check: Check) -> str:
    """``SCP p-123 at ou-ab12 (statement DenyOutsideRegions)`` or the layer and its entity."""
    words = LAYER_WORDS.get(check.layer, check.layer)
    where = short_target(check.target_arn)
    at = f" at {where}" if where and check.layer in {"scp", "rcp"} else ""
    on = f" of {where}" if where and not at else ""
    named = denying_statements(check) if check.effect == "EXPLICIT_DENY" else []
    if named:
        parts = []
        for uri, sid in named:
            policy = short_policy(details.policy(uri), uri)
            parts.append(f"{policy}{at} (statement {sid or 'without a Sid'})")
        return f"{words} " + "; ".join(dict.fromkeys(parts))
    if check.effect == "EXPLICIT_DENY":
        return f"an {words}{at or on} (the matched statement was not reported)"
    plural = LAYER_PLURALS.get(check.layer, words)
    return f"the {plural}{at or on} (no statement allows it)"


def deny_phrase(details: AuthorizationDetails, check: Check) -> str:
    """``denied by SCP p-... at ou-... (statement X)`` or ``not allowed by the ...``."""
    if check.effect == "EXPLICIT_DENY":
        return "denied by " + describe_check(details, check)
    return "not allowed by " + describe_check(details, check)


def deciding_checks(evaluation: Evaluation) -> list[Check]:
    """The checks that decided a denied evaluation: explicit denies, else implicit ones."""
    explicit = [c for c in evaluation.checks if c.effect == "EXPLICIT_DENY"]
    return explicit or [c for c in evaluation.checks if c.effect == "IMPLICIT_DENY"]


def evaluation_summary(details: AuthorizationDetails, evaluation: Evaluation) -> str:
    """One denied evaluation in one line."""
    checks = deciding_checks(evaluation)
    if not checks:
        effect = (evaluation.effect or "denied").lower().replace("_", " ")
        return f"{evaluation.action}: {effect} (the answer names no check)"
    return f"{evaluation.action} {'; '.join(deny_phrase(details, c) for c in checks)}"


def _answer(raw: AuthorizationDetails | Mapping[str, Any] | None) -> AuthorizationDetails | None:
    """The parsed answer (parsed here only when given as JSON), or None for no answer."""
    if isinstance(raw, AuthorizationDetails):
        return raw if raw.is_answer else None
    return parse_details(raw) if looks_like_details(raw) and raw is not None else None


def denial_summary(raw: AuthorizationDetails | Mapping[str, Any] | None) -> str | None:
    """The line alerts print for an authorization-details answer, or None without one."""
    details = _answer(raw)
    if details is None:
        return None
    denied = [e for e in details.evaluations if e.denied]
    if not denied:
        return None
    return "; ".join(evaluation_summary(details, e) for e in denied)


_EFFECT_WORDS = {
    "ALLOW": "allow",
    "NO_IMPACT": "no impact",
    "IMPLICIT_DENY": "implicit deny",
    "EXPLICIT_DENY": "explicit deny",
}


def check_lines(raw: AuthorizationDetails | Mapping[str, Any] | None) -> list[str]:
    """One line per denied evaluation listing every check and its effect, in AWS's order."""
    details = _answer(raw)
    if details is None:
        return []
    lines = []
    for evaluation in details.evaluations:
        if not evaluation.denied:
            continue
        parts = []
        for check in evaluation.checks:
            words = LAYER_WORDS.get(check.layer, check.layer)
            where = short_target(check.target_arn) if check.layer in {"scp", "rcp"} else None
            label = f"{words} at {where}" if where else words
            parts.append(f"{label}: {_EFFECT_WORDS.get(check.effect, check.effect)}")
        lines.append(f"{evaluation.action}: " + (", ".join(parts) or "no checks returned"))
    return lines
