"""Turn a failure and its decoded message into the request context rules see.

The decoded message (STS DecodeAuthorizationMessage's ``DecodedMessage``) is
the authority where it speaks; the failure's own text fills the gaps.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import orjson

from diagnostics.model import (
    ConditionEntry,
    Failure,
    JSONObject,
    MatchedStatement,
    RequestContext,
)

# Linear: anchored; each class stops at the ':' that follows it.
_ACCOUNT_IN_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:(\d{12}):")
# Linear: anchored; '-' separates disjoint [a-z] and digit runs.
_REGION_IN_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:([a-z]{2}(?:-[a-z]+)+-\d+):")


class DecodedMessageError(ValueError):
    """The text is not a decoded authorization message."""


def parse_decoded(value: str | bytes | Mapping[str, Any]) -> JSONObject:
    """Accept every shape users paste and return the DecodedMessage object.

    Shapes: the raw DecodedMessage JSON, the CLI's ``{"DecodedMessage": "..."}``
    output, or the DecodedMessage as a JSON string literal.
    """
    obj: Any = value
    for _ in range(3):  # unwrap at most: string literal -> envelope -> message
        if isinstance(obj, (str, bytes)):
            try:
                obj = orjson.loads(obj)
            except orjson.JSONDecodeError as exc:
                raise DecodedMessageError(f"not JSON: {exc}") from None
            continue
        if isinstance(obj, Mapping) and "DecodedMessage" in obj:
            obj = obj["DecodedMessage"]
            continue
        break
    if not isinstance(obj, Mapping) or not ("context" in obj or "allowed" in obj):
        raise DecodedMessageError(
            "expected a decoded authorization message: an object with "
            '"allowed" and "context", or the CLI output {"DecodedMessage": "..."}'
        )
    return dict(obj)


def _items(node: Any) -> list[Any]:
    """AWS wraps every list as ``{"items": [...]}``; tolerate a bare list too."""
    if isinstance(node, Mapping):
        node = node.get("items", [])
    return list(node) if isinstance(node, list) else []


def _values(node: Any) -> tuple[str, ...]:
    out: list[str] = []
    for item in _items(node):
        value = item.get("value") if isinstance(item, Mapping) else item
        if value is not None:
            out.append(str(value))
    return tuple(out)


def _conditions(node: Any) -> tuple[ConditionEntry, ...]:
    entries: list[ConditionEntry] = []
    for item in _items(node):
        if isinstance(item, Mapping) and isinstance(item.get("key"), str):
            entries.append(ConditionEntry(item["key"], _values(item.get("values"))))
    return tuple(entries)


def matched_statements(decoded: Mapping[str, Any]) -> tuple[MatchedStatement, ...]:
    out: list[MatchedStatement] = []
    for item in _items(decoded.get("matchedStatements")):
        if not isinstance(item, Mapping):
            continue
        effect = str(item.get("effect", "")).capitalize()
        out.append(
            MatchedStatement(
                statement_id=item.get("statementId") or None,
                effect=effect,
                actions=_values(item.get("actions")),
                not_actions=_values(item.get("notActions")),
                resources=_values(item.get("resources")),
                not_resources=_values(item.get("notResources")),
                principals=_values(item.get("principals")),
                conditions=_conditions(item.get("conditions")),
            )
        )
    return tuple(out)


def account_of(arn: str | None) -> str | None:
    if not arn:
        return None
    m = _ACCOUNT_IN_ARN.match(arn)
    return m.group(1) if m else None


def region_of(arn: str | None) -> str | None:
    if not arn:
        return None
    m = _REGION_IN_ARN.match(arn)
    return m.group(1) if m else None


def _service_of(ctx: Mapping[str, Any], failure: Failure) -> str | None:
    """The service a decoded message is about: ``aws:Service``, else its resource's ARN."""
    for entry in _conditions(ctx.get("conditions")):
        if entry.key.lower() == "aws:service" and entry.values:
            return entry.values[0]
    for arn in (ctx.get("resource"), failure.resource):
        if isinstance(arn, str) and arn.startswith("arn:"):
            parts = arn.split(":", 3)
            if len(parts) > 2 and parts[2]:
                return parts[2]
    if failure.action and ":" in failure.action:
        return failure.action.split(":", 1)[0]
    return failure.event_source


def _matched_action(decoded: Mapping[str, Any], name: str) -> str | None:
    """The ``service:Name`` a matched statement of ``decoded`` lists for a bare ``Name``."""
    statements = decoded.get("matchedStatements")
    items = statements.get("items") if isinstance(statements, Mapping) else None
    tail = ":" + name.lower()
    for statement in items if isinstance(items, list) else ():
        actions = statement.get("actions") if isinstance(statement, Mapping) else None
        values = actions.get("items") if isinstance(actions, Mapping) else None
        for entry in values if isinstance(values, list) else ():
            value = entry.get("value") if isinstance(entry, Mapping) else None
            if isinstance(value, str) and value.lower().endswith(tail) and "*" not in value:
                return value
    return None


def _only_matched_action(decoded: Mapping[str, Any]) -> str | None:
    """The one action every matched statement lists, when the context that names it is lost.

    A statement matches a request only if it lists the request's action, so
    statements that each list just ``ec2:RunInstances`` (and nothing else)
    say which action was asked; with any other action listed, it is unsaid.
    """
    statements = decoded.get("matchedStatements")
    items = statements.get("items") if isinstance(statements, Mapping) else None
    seen: set[str] = set()
    for statement in items if isinstance(items, list) else ():
        actions = statement.get("actions") if isinstance(statement, Mapping) else None
        values = actions.get("items") if isinstance(actions, Mapping) else None
        for entry in values if isinstance(values, list) else ():
            value = entry.get("value") if isinstance(entry, Mapping) else None
            if not isinstance(value, str) or "*" in value or "?" in value or ":" not in value:
                return None
            seen.add(value)
    # A message cut inside a value ends with its stump ("ec2:RunIn"): no action of its own.
    from diagnostics.iam import get_action

    whole = {v for v in seen if get_action(v) or not any(o.startswith(v) for o in seen - {v})}
    return whole.pop() if len(whole) == 1 else None


def _qualified_action(
    action: Any, ctx: Mapping[str, Any], failure: Failure, decoded: Mapping[str, Any]
) -> str | None:
    """``service:Action``; a decoded EC2 message may say only ``RunInstances``."""
    if not isinstance(action, str) or not action:
        return None
    if ":" in action:
        return action
    if matched := _matched_action(decoded, action):
        return matched  # the statement that decided names the action in full
    service = _service_of(ctx, failure)
    if not service:
        return action  # nothing says which service: keep what the message says
    from diagnostics.iam import action_for_operation, iam_prefix_for

    mapped = action_for_operation(service, action)
    return mapped or f"{iam_prefix_for(service) or service.lower()}:{action}"


def enrich(failure: Failure, decoded: Mapping[str, Any] | None) -> Failure:
    """The failure with principal, action and resource taken from ``decoded``."""
    if not decoded:
        return failure
    ctx = decoded.get("context") if isinstance(decoded.get("context"), Mapping) else {}
    assert isinstance(ctx, Mapping)
    principal = ctx.get("principal") if isinstance(ctx.get("principal"), Mapping) else {}
    assert isinstance(principal, Mapping)
    principal_arn = principal.get("arn") or failure.principal_arn
    resource = ctx.get("resource") or failure.resource
    principal_text, resource_text = failure.principal_text, failure.resource_text
    # STS decodes whole ARNs: a starred account is a person's redaction in a
    # pasted message, kept as text (a fix must never name it), as for a sentence.
    if isinstance(principal_arn, str) and _redacted_account(principal_arn):
        principal_arn, principal_text = None, principal_arn
    if isinstance(resource, str) and _redacted_account(resource):
        resource, resource_text = None, resource
    action = _qualified_action(ctx.get("action"), ctx, failure, decoded) or failure.action
    if action is None and not ctx.get("action"):
        action = _only_matched_action(decoded)
    explicit = decoded.get("explicitDeny")
    return dataclasses.replace(
        failure,
        principal_arn=principal_arn,
        action=action,
        resource=resource,
        account_id=failure.account_id or account_of(principal_arn) or account_of(resource),
        region=failure.region or region_of(resource),
        explicit_deny=explicit if isinstance(explicit, bool) else failure.explicit_deny,
        principal_text=principal_text,
        resource_text=resource_text,
    )


def _redacted_account(arn: str) -> bool:
    """The ARN's account field is neither 12 digits, empty nor ``aws``: ``**``, ``xxxx``."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return False
    account = parts[4]
    return account not in ("", "aws") and not (len(account) == 12 and account.isdigit())


def build_context(failure: Failure, decoded: Mapping[str, Any] | None = None) -> RequestContext:
    """The request context for rules and the evaluator."""
    return context_of(enrich(failure, decoded), decoded)


def context_of(f: Failure, decoded: Mapping[str, Any] | None = None) -> RequestContext:
    """The request context of a failure ``enrich`` already filled from ``decoded``."""
    conditions: dict[str, tuple[str, ...]] = dict(f.conditions)
    principal_id: str | None = None
    matched: tuple[MatchedStatement, ...] = ()
    if decoded:
        ctx = decoded.get("context")
        if isinstance(ctx, Mapping):
            for entry in _conditions(ctx.get("conditions")):
                conditions[entry.key] = entry.values
            principal = ctx.get("principal")
            if isinstance(principal, Mapping):
                principal_id = principal.get("id")
        matched = matched_statements(decoded)
    region = f.region or conditions.get("aws:RequestedRegion", (None,))[0]
    return RequestContext(
        action=f.action,
        resource=f.resource,
        principal_arn=f.principal_arn,
        account_id=f.account_id,
        region=region,
        principal_id=principal_id,
        policy_type=f.policy_type,
        policy_arn=f.policy_arn,
        explicit_deny=f.explicit_deny,
        conditions=conditions,
        matched_statements=matched,
        decoded=bool(decoded),
    )
