"""The evaluator never proves a fix IAM would reject: bad Principal or Resource values."""

from __future__ import annotations

from diagnostics.model import RequestContext
from diagnostics.policy import principal_matches, statement_allows
from diagnostics.policy.evaluate import valid_principal_entry

USER = "arn:aws:iam::111122223333:user/alice"


def _ctx(
    resource: str | None, principal: str | None = USER, action: str = "s3:PutObject"
) -> RequestContext:
    return RequestContext(
        principal_arn=principal, account_id=None, action=action, resource=resource
    )


def test_anonymous_as_principal_never_matches() -> None:
    """A Principal of "anonymous" (an unsigned caller's name) is invalid and names nobody."""
    assert not principal_matches({"AWS": "anonymous"}, "anonymous")
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": "anonymous"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::pub/x",
    }
    assert not statement_allows(statement, _ctx("arn:aws:s3:::pub/x", principal="anonymous"))


def test_valid_principal_entries_are_arns_accounts_star_and_services() -> None:
    """ARNs, account ids, "*" and service principals are valid; bare names are not."""
    for ok in (USER, "111122223333", "*", "ec2.amazonaws.com"):
        assert valid_principal_entry(ok), ok
    for bad in ("anonymous", "alice", "1111", "policy path /"):
        assert not valid_principal_entry(bad), bad


def test_a_description_as_resource_does_not_match_itself() -> None:
    """Resource "policy path /" is not an ARN, so it matches nothing, even the same text."""
    statement = {"Effect": "Allow", "Action": "iam:ListPolicies", "Resource": "policy path /"}
    assert not statement_allows(statement, _ctx("policy path /", action="iam:ListPolicies"))


def test_the_mapped_iam_path_arn_allows_the_path_request() -> None:
    """The ARN pattern a fix uses for "user path /division_abc/" allows that request."""
    statement = {
        "Effect": "Allow",
        "Action": "iam:ListUsers",
        "Resource": "arn:aws:iam::111122223333:user/division_abc/*",
    }
    assert statement_allows(statement, _ctx("user path /division_abc/", action="iam:ListUsers"))
    other = dict(statement, Resource="arn:aws:iam::111122223333:user/other/*")
    assert not statement_allows(other, _ctx("user path /division_abc/", action="iam:ListUsers"))
