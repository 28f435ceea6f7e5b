"""A built-in IAM evaluator for one request against a set of statements.

It answers "does this statement cover the failed request?" so every fix we
print can be checked against the request that failed.  It models one policy
set: an explicit Deny wins, then any Allow, else the implicit deny (IAM User
Guide, "Policy evaluation logic").  It does not combine policy types (SCPs,
boundaries, session policies); callers evaluate each type on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from diagnostics.iam.arns import (
    Arn,
    iam_path_arn,
    parse_arn,
    principal_for_policy,
    role_name,
    user_name,
)
from diagnostics.model import RequestContext
from diagnostics.policy.arn_match import UnresolvedVariable, action_matches, arn_matches
from diagnostics.policy.conditions import UnknownOperator, condition_matches
from diagnostics.support.logconfig import get_logger

_NO_ARN = Arn("aws", "", "", "", "")

Decision = Literal["allow", "implicit_deny", "explicit_deny"]

log = get_logger()


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def request_keys(ctx: RequestContext) -> dict[str, tuple[str, ...]]:
    """The request's condition keys, lower-cased, with the keys we can derive.

    Derived: ``aws:PrincipalArn`` (a session's role ARN, as IAM reports it),
    ``aws:PrincipalAccount``, ``aws:RequestedRegion`` (from ``ctx.region``),
    ``aws:userid``, ``aws:username`` for IAM users.  Keys in the decoded
    message win over derived ones.
    """
    derived: dict[str, tuple[str, ...]] = {}
    if ctx.principal_arn:
        derived["aws:principalarn"] = (principal_for_policy(ctx.principal_arn),)
        parsed = parse_arn(ctx.principal_arn)
        if parsed and parsed.account:
            derived["aws:principalaccount"] = (parsed.account,)
        name = user_name(ctx.principal_arn)
        if name:
            derived["aws:username"] = (name,)
    if ctx.account_id and "aws:principalaccount" not in derived:
        derived["aws:principalaccount"] = (ctx.account_id,)
    if ctx.region:
        derived["aws:requestedregion"] = (ctx.region,)
    if ctx.principal_id:
        derived["aws:userid"] = (ctx.principal_id,)
    for key, values in ctx.conditions.items():
        derived[key.lower()] = tuple(values)
    return derived


def _variables(keys: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    # Only single-valued keys can fill a ${...} variable.
    return {k: v[0] for k, v in keys.items() if len(v) == 1}


def _action_ok(statement: Mapping[str, Any], action: str | None) -> bool:
    if action is None:
        return False
    if "Action" in statement:
        return any(action_matches(p, action) for p in _as_list(statement["Action"]))
    if "NotAction" in statement:
        return not any(action_matches(p, action) for p in _as_list(statement["NotAction"]))
    return False


def _resource_ok(
    statement: Mapping[str, Any], resource: str | None, variables: Mapping[str, str]
) -> bool:
    def hits(patterns: list[str]) -> bool:
        for pattern in patterns:
            if pattern == "*":
                return True
            if resource is None or parse_arn(pattern) is None:
                # IAM accepts only ARNs and "*" in Resource: a description such as
                # "policy path /" is an invalid policy, never a match.
                continue
            try:
                if arn_matches(pattern, resource, variables):
                    return True
            except UnresolvedVariable:
                continue  # IAM treats an unresolvable Resource entry as matching nothing
        return False

    if "Resource" in statement:
        return hits(_as_list(statement["Resource"]))
    if "NotResource" in statement:
        # With no resource known we cannot show it lies outside the list.
        return resource is not None and not hits(_as_list(statement["NotResource"]))
    # Resource-based and trust policies may omit Resource: the policy's own
    # resource is implied (IAM User Guide, "IAM JSON policy elements: Resource").
    return "Principal" in statement or "NotPrincipal" in statement


def valid_principal_entry(entry: str) -> bool:
    """Is ``entry`` a value IAM accepts in a Principal element?

    ARNs, 12-digit account ids, ``*`` and service principals
    (``*.amazonaws.com``); anything else (``anonymous``, a user name) makes the
    policy invalid, so it can never prove a fix.
    """
    entry = entry.strip()
    if entry == "*" or parse_arn(entry) is not None:
        return True
    if entry.isdigit() and len(entry) == 12:
        return True
    if len(entry) == 64 and set(entry.lower()) <= set("0123456789abcdef"):
        return True  # an S3 canonical user id
    return entry.endswith((".amazonaws.com", ".amazonaws.com.cn")) and " " not in entry


def _aws_principal_ok(entry: str, principal_arn: str) -> bool:
    entry = entry.strip()
    if entry == "*":
        return True
    if not valid_principal_entry(entry) or entry.endswith(".amazonaws.com"):
        return False
    if entry == principal_arn:
        return True
    principal = parse_arn(principal_arn)
    if principal is None:
        return False
    if entry.isdigit() and len(entry) == 12:
        return principal.account == entry
    wanted = parse_arn(entry)
    if wanted is None or wanted.account != principal.account:
        return False
    if wanted.service == "iam" and wanted.resource == "root":
        return True  # the account root stands for every principal in the account
    if wanted.service == "iam" and wanted.resource.startswith("role/"):
        return role_name(principal_arn) == wanted.resource.rsplit("/", 1)[-1]
    return False


def _federated_ok(entry: str, principal_arn: str) -> bool:
    # Web identity providers are named by host (IAM User Guide, "AWS JSON policy
    # elements: Principal"): accounts.google.com, graph.facebook.com, www.amazon.com.
    entry = entry.strip().lower()
    hosts = {"accounts.google.com", "graph.facebook.com", "www.amazon.com"}
    return entry in hosts and entry == principal_arn.lower()


def principal_matches(principal_block: Any, principal_arn: str | None) -> bool:
    """Does a Principal element name the caller?

    ``"*"`` names everyone.  ``{"AWS": "111122223333"}`` or the account's
    ``:root`` ARN names every principal of that account.  A role ARN names the
    role and every session of it (``arn:aws:sts::A:assumed-role/Role/session``).
    ``Service``, ``Federated`` and ``CanonicalUser`` entries must equal the caller.
    An entry IAM would reject (``anonymous``, a bare name) names nobody.
    """
    if principal_block == "*":
        return True
    if principal_arn is None or not isinstance(principal_block, Mapping):
        return False
    for kind, raw in principal_block.items():
        for entry in _as_list(raw):
            if str(kind).upper() == "FEDERATED" and _federated_ok(entry, principal_arn):
                return True
            if not valid_principal_entry(entry):
                continue
            if str(kind).upper() == "AWS":
                if _aws_principal_ok(entry, principal_arn):
                    return True
            elif entry == "*" or entry.lower() == principal_arn.lower():
                return True
    return False


def _request_resource(ctx: RequestContext) -> str | None:
    """The request's resource as an ARN: IAM's "policy path /" is every policy under /."""
    resource = ctx.resource
    if resource is None or parse_arn(resource) is not None:
        return resource
    account = ctx.account_id or (parse_arn(ctx.principal_arn or "") or _NO_ARN).account
    mapped = iam_path_arn(resource, account or None)
    # The trailing "*" of the pattern stands for the names under the path.
    return mapped[:-1] if mapped else resource


def statement_matches(statement: Mapping[str, Any], ctx: RequestContext) -> bool:
    """Does the statement apply to the request (action, resource, principal, condition)?

    An invalid statement (unknown condition operator, no Action) matches nothing.
    """
    if not _action_ok(statement, ctx.action):
        return False
    keys = request_keys(ctx)
    variables = _variables(keys)
    if not _resource_ok(statement, _request_resource(ctx), variables):
        return False
    if "Principal" in statement and not principal_matches(
        statement["Principal"], ctx.principal_arn
    ):
        return False
    if "NotPrincipal" in statement and principal_matches(
        statement["NotPrincipal"], ctx.principal_arn
    ):
        return False
    condition = statement.get("Condition")
    if condition is not None and not isinstance(condition, Mapping):
        return False
    try:
        return condition_matches(condition, keys, variables)
    except UnknownOperator as exc:
        log.warning("policy.unknown_condition_operator", operator=str(exc))
        return False


def _effect(statement: Mapping[str, Any]) -> str:
    return str(statement.get("Effect", "")).strip().lower()


def statement_allows(statement: Mapping[str, Any], ctx: RequestContext) -> bool:
    """True when ``statement`` is an Allow that covers the request."""
    return _effect(statement) == "allow" and statement_matches(statement, ctx)


def evaluate(statements: Iterable[Mapping[str, Any]], ctx: RequestContext) -> Decision:
    """``explicit_deny`` if any Deny applies, else ``allow`` if any Allow does."""
    allowed = False
    for statement in statements:
        effect = _effect(statement)
        if effect not in {"allow", "deny"} or not statement_matches(statement, ctx):
            continue
        if effect == "deny":
            return "explicit_deny"
        allowed = True
    return "allow" if allowed else "implicit_deny"


def statements_of(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The statements of a policy document (a single statement object is allowed)."""
    raw = document.get("Statement", [])
    if isinstance(raw, Mapping):
        return [raw]
    return [s for s in raw if isinstance(s, Mapping)] if isinstance(raw, list) else []


def statement_allows_if_set(statement: Mapping[str, Any], ctx: RequestContext) -> bool:
    """Like ``statement_allows``, setting aside conditions on keys the request lacks.

    Keys such as ``iam:PassedToService`` or ``kms:GrantIsForAWSResource`` are set
    by the service at call time and never appear in a log line: a fix testing
    them cannot be disproved from the failure, only from a decoded context.
    """
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return statement_allows(statement, ctx)
    known = set(request_keys(ctx))
    kept = {
        op: block
        for op, block in condition.items()
        if isinstance(block, Mapping) and all(str(k).lower() in known for k in block)
    }
    trimmed = {k: v for k, v in statement.items() if k != "Condition"}
    if kept:
        trimmed["Condition"] = kept
    return statement_allows(trimmed, ctx)
