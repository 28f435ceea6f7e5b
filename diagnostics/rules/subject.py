"""The failure and its request context as rules see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from diagnostics.model import Failure, MatchedStatement, RequestContext
from diagnostics.rules.principals import principal_type

if TYPE_CHECKING:
    from diagnostics.troubleshooter.details import AuthorizationDetails


def _account_of(arn: str | None) -> str | None:
    from diagnostics.request.context import account_of

    return account_of(arn)


def _region_of(arn: str | None) -> str | None:
    from diagnostics.request.context import region_of

    return region_of(arn)


@dataclass(frozen=True, slots=True)
class Subject:
    """What one rule evaluation looks at: the failure, its context and the rule id.

    ``details`` is the Access Troubleshooter answer for the failure, when
    there is one (the ``troubleshooter`` matcher reads it).

    The derived values (principal type, service, account, region) are worked
    out once here: every candidate rule and every placeholder reads them, so
    computing them per read cost more than the matchers themselves.
    """

    failure: Failure
    ctx: RequestContext
    rule_id: str = ""
    details: AuthorizationDetails | None = None
    action: str | None = field(init=False)
    resource: str | None = field(init=False)
    principal_arn: str | None = field(init=False)
    principal_type: str = field(init=False)
    service: str | None = field(init=False)
    account: str | None = field(init=False)
    region: str | None = field(init=False)

    def __post_init__(self) -> None:
        ctx, failure = self.ctx, self.failure
        action = ctx.action or failure.action
        resource = ctx.resource or failure.resource
        principal = ctx.principal_arn or failure.principal_arn
        put = object.__setattr__  # frozen: derived fields are set once, here
        put(self, "action", action)
        put(self, "resource", resource)
        put(self, "principal_arn", principal)
        put(self, "principal_type", principal_type(principal))
        put(
            self,
            "service",
            action.split(":", 1)[0].lower() if action and ":" in action else None,
        )
        put(self, "account", ctx.account_id or _account_of(principal) or _account_of(resource))
        put(self, "region", ctx.region or failure.region or _region_of(resource))

    def statements(self, effect: str | None = None) -> tuple[MatchedStatement, ...]:
        """Matched statements from the decoded message, optionally of one effect."""
        if effect is None:
            return self.ctx.matched_statements
        want = effect.capitalize()
        return tuple(s for s in self.ctx.matched_statements if s.effect == want)
