"""The Condition element: operators, IfExists, set qualifiers, missing keys.

Semantics follow the IAM User Guide pages "IAM JSON policy elements:
Condition operators" and "Multivalued context keys" (ForAllValues /
ForAnyValue).  In short: keys in a block are ANDed, the values of one key are
ORed; a missing key makes a positive operator false and a negated one true,
``...IfExists`` makes it true, ``Null`` tests presence; ``ForAllValues`` is
true for an empty or missing key and ``ForAnyValue`` false.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from diagnostics.policy.arn_match import (
    UnresolvedVariable,
    arn_matches,
    match_tokens,
    tokenize,
)

Compare = Callable[[str, str, Mapping[str, str]], bool]


def _resolve(policy_value: str, variables: Mapping[str, str]) -> str:
    return "".join(
        text if kind == "lit" else "*" if kind == "any" else "?"
        for kind, text in tokenize(policy_value, variables)
    )


def _string_equals(req: str, pol: str, v: Mapping[str, str]) -> bool:
    return req == _resolve(pol, v)


def _string_equals_ic(req: str, pol: str, v: Mapping[str, str]) -> bool:
    return req.casefold() == _resolve(pol, v).casefold()


def _string_like(req: str, pol: str, v: Mapping[str, str]) -> bool:
    return match_tokens(tokenize(pol, v), req)


def _arn_like(req: str, pol: str, v: Mapping[str, str]) -> bool:
    return arn_matches(pol, req, v)


def _bool(req: str, pol: str, v: Mapping[str, str]) -> bool:
    return req.strip().lower() == _resolve(pol, v).strip().lower()


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None


def _date(text: str) -> datetime | None:
    text = text.strip()
    number = _number(text)
    if number is not None:  # epoch seconds are allowed (Date condition operators)
        return datetime.fromtimestamp(float(number), tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ordered(parse: Callable[[str], Any], test: Callable[[Any, Any], bool]) -> Compare:
    def compare(req: str, pol: str, v: Mapping[str, str]) -> bool:
        left, right = parse(req), parse(_resolve(pol, v))
        return left is not None and right is not None and bool(test(left, right))

    return compare


def _ip(req: str, pol: str, v: Mapping[str, str]) -> bool:
    try:
        address = ipaddress.ip_address(req.strip())
        network = ipaddress.ip_network(_resolve(pol, v).strip(), strict=False)
    except ValueError:
        return False
    return address.version == network.version and address in network


def _binary(req: str, pol: str, v: Mapping[str, str]) -> bool:
    try:
        return base64.b64decode(req, validate=True) == base64.b64decode(pol, validate=True)
    except (binascii.Error, ValueError):
        return False


def _eq(a: Any, b: Any) -> bool:
    return bool(a == b)


def _lt(a: Any, b: Any) -> bool:
    return bool(a < b)


def _le(a: Any, b: Any) -> bool:
    return bool(a <= b)


def _gt(a: Any, b: Any) -> bool:
    return bool(a > b)


def _ge(a: Any, b: Any) -> bool:
    return bool(a >= b)


_ORDER = {"equals": _eq, "lessthan": _lt, "lessthanequals": _le}
_ORDER |= {"greaterthan": _gt, "greaterthanequals": _ge}

#: operator (lower case) -> (comparison, negated)
OPERATORS: dict[str, tuple[Compare, bool]] = {
    "stringequals": (_string_equals, False),
    "stringnotequals": (_string_equals, True),
    "stringequalsignorecase": (_string_equals_ic, False),
    "stringnotequalsignorecase": (_string_equals_ic, True),
    "stringlike": (_string_like, False),
    "stringnotlike": (_string_like, True),
    "arnequals": (_arn_like, False),
    "arnlike": (_arn_like, False),
    "arnnotequals": (_arn_like, True),
    "arnnotlike": (_arn_like, True),
    "bool": (_bool, False),
    "ipaddress": (_ip, False),
    "notipaddress": (_ip, True),
    "binaryequals": (_binary, False),
    "numericnotequals": (_ordered(_number, _eq), True),
    "datenotequals": (_ordered(_date, _eq), True),
}
for _name, _test in _ORDER.items():
    OPERATORS[f"numeric{_name}"] = (_ordered(_number, _test), False)
    OPERATORS[f"date{_name}"] = (_ordered(_date, _test), False)


class UnknownOperator(ValueError):
    """The Condition block uses an operator IAM does not define."""


def _policy_values(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif item is not None:
            out.append(str(item))
    return out


def _split_operator(operator: str) -> tuple[str | None, str, bool]:
    qualifier: str | None = None
    name = operator.strip()
    head, sep, rest = name.partition(":")
    if sep:
        qualifier = head.lower()
        if qualifier not in {"forallvalues", "foranyvalue"}:
            raise UnknownOperator(operator)
        name = rest
    lowered = name.lower()
    if_exists = lowered.endswith("ifexists") and lowered != "null"
    if if_exists:
        lowered = lowered[: -len("ifexists")]
    return qualifier, lowered, if_exists


def _key_matches(
    operator: str,
    policy_values: list[str],
    request_values: tuple[str, ...] | None,
    variables: Mapping[str, str],
) -> bool:
    qualifier, name, if_exists = _split_operator(operator)
    present = bool(request_values)
    if name == "null":
        wants_absent = any(p.strip().lower() == "true" for p in policy_values)
        return not present if wants_absent else present
    if name not in OPERATORS:
        raise UnknownOperator(operator)
    compare, negated = OPERATORS[name]
    if not present or request_values is None:
        if qualifier == "forallvalues":
            return True
        if if_exists:
            return True
        if qualifier == "foranyvalue":
            return False
        return negated

    def value_ok(req: str) -> bool:
        hit = False
        for pol in policy_values:
            try:
                if compare(req, pol, variables):
                    hit = True
                    break
            except UnresolvedVariable:
                continue  # an unresolvable variable matches nothing
        return not hit if negated else hit

    if qualifier == "forallvalues":
        return all(value_ok(r) for r in request_values)
    if qualifier == "foranyvalue" or not negated:
        return any(value_ok(r) for r in request_values)
    # A negated operator on a multivalued key without a qualifier: true only
    # when no request value matches any policy value.
    return all(value_ok(r) for r in request_values)


def condition_matches(
    block: Mapping[str, Any] | None,
    context: Mapping[str, tuple[str, ...]],
    variables: Mapping[str, str] | None = None,
) -> bool:
    """True when every operator and key of a Condition block holds.

    ``context`` maps lower-cased condition keys to their request values;
    ``variables`` maps lower-cased keys to single values for ``${...}``.
    Raises ``UnknownOperator`` for an operator IAM does not define.
    """
    if not block:
        return True
    variables = variables or {}
    for operator, keys in block.items():
        if not isinstance(keys, Mapping):
            raise UnknownOperator(f"{operator} must map condition keys to values")
        for key, raw in keys.items():
            request = context.get(str(key).lower())
            if not _key_matches(str(operator), _policy_values(raw), request, variables):
                return False
    return True
