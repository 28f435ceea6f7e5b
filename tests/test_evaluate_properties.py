"""Property-based checks of the evaluator (hypothesis)."""

from __future__ import annotations

import fnmatch
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.model import RequestContext
from diagnostics.policy import evaluate, statement_allows
from diagnostics.policy.arn_match import action_matches, arn_matches, wildcard_match

service = st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True)
action_name = st.from_regex(r"[A-Z][A-Za-z0-9]{0,30}", fullmatch=True)
segment = st.from_regex(r"[a-z0-9-]{0,12}", fullmatch=True)
resource_part = st.from_regex(r"[A-Za-z0-9_./:=+-]{1,40}", fullmatch=True)
key = st.from_regex(r"[a-z]{1,8}:[A-Za-z]{1,12}", fullmatch=True)
value = st.from_regex(r"[A-Za-z0-9.-]{1,12}", fullmatch=True)


@st.composite
def requests(draw: st.DrawFn) -> RequestContext:
    svc = draw(service)
    arn = f"arn:aws:{svc}:{draw(segment)}:{draw(segment)}:{draw(resource_part)}"
    return RequestContext(
        action=f"{svc}:{draw(action_name)}",
        resource=arn,
        principal_arn="arn:aws:iam::111122223333:user/u",
        account_id="111122223333",
        # Condition keys are case-insensitive in IAM, so a real request context
        # never holds two keys that differ only in case.
        conditions=draw(
            st.dictionaries(key, st.tuples(value), max_size=3).filter(
                lambda d: len({k.lower() for k in d}) == len(d)
            )
        ),
    )


def exact_statement(ctx: RequestContext) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": ctx.action, "Resource": ctx.resource}


@settings(max_examples=100, deadline=None)
@given(requests())
def test_exact_statement_always_allows(ctx: RequestContext) -> None:
    """A statement naming the request's exact action and resource allows it."""
    assert statement_allows(exact_statement(ctx), ctx)
    assert evaluate([exact_statement(ctx)], ctx) == "allow"


@settings(max_examples=100, deadline=None)
@given(requests())
def test_statement_from_context_conditions_allows(ctx: RequestContext) -> None:
    """Adding StringEquals on every key with the request's own values still allows."""
    condition = {"StringEquals": {k: list(v) for k, v in ctx.conditions.items()}}
    assert statement_allows({**exact_statement(ctx), "Condition": condition}, ctx)


@settings(max_examples=200, deadline=None)
@given(st.text("ab*?", max_size=8), st.text("ab", max_size=8))
def test_wildcards_follow_fnmatch_semantics(pattern: str, text: str) -> None:
    """* and ? behave like fnmatch's, case-sensitively for strings and not for actions."""
    assert wildcard_match(pattern, text) == fnmatch.fnmatchcase(text, pattern)
    upper = text.upper()
    assert action_matches(f"s3:{pattern}", f"S3:{upper}") == fnmatch.fnmatchcase(text, pattern)


@settings(max_examples=100, deadline=None)
@given(segment, segment, segment, resource_part)
def test_star_in_one_segment_never_spans_another(
    region: str, account: str, other: str, rest: str
) -> None:
    """A * in the region segment cannot make a different account match."""
    arn = f"arn:aws:ec2:{region}:{account}:{rest}"
    pattern = f"arn:aws:ec2:*:{other}:*"
    assert arn_matches(pattern, arn) == (account == other)


@settings(max_examples=100, deadline=None)
@given(requests(), key, value, st.lists(value, min_size=1, max_size=4))
def test_non_matching_condition_values_never_allow(
    ctx: RequestContext, cond_key: str, actual: str, wanted: list[str]
) -> None:
    """With the request's value outside the policy's, adding more non-matching values keeps deny."""
    wanted = [w for w in wanted if w != actual] or [actual + "x"]
    conditions = {**ctx.conditions, cond_key: (actual,)}
    request = RequestContext(
        action=ctx.action,
        resource=ctx.resource,
        principal_arn=ctx.principal_arn,
        account_id=ctx.account_id,
        conditions=conditions,
    )
    statement = {**exact_statement(request), "Condition": {"StringEquals": {cond_key: wanted}}}
    assert evaluate([statement], request) == "implicit_deny"
    widened = {**statement, "Condition": {"StringEquals": {cond_key: [*wanted, actual + "y"]}}}
    assert evaluate([widened], request) == "implicit_deny"


@settings(max_examples=100, deadline=None)
@given(requests(), key, value)
def test_adding_a_condition_never_widens(ctx: RequestContext, cond_key: str, want: str) -> None:
    """A statement with an extra condition allows no request its plain form denies."""
    plain = exact_statement(ctx)
    narrowed = {**plain, "Condition": {"StringEquals": {cond_key: want}}}
    if statement_allows(narrowed, ctx):
        assert statement_allows(plain, ctx)
    deny = {**plain, "Effect": "Deny", "Condition": {"StringEquals": {cond_key: want}}}
    # An Allow plus a conditional Deny is never more permissive than the Allow alone.
    assert evaluate([plain, deny], ctx) in {"allow", "explicit_deny"}
