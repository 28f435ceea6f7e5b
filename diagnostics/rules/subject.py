"""The failure and its request context as rules see them."""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.model import Failure, MatchedStatement, RequestContext
from diagnostics.rules.principals import principal_type


@dataclass(frozen=True, slots=True)
class Subject:
    """What one rule evaluation looks at: the failure, its context and the rule id."""

    failure: Failure
    ctx: RequestContext
    rule_id: str = ""

    @property
    def action(self) -> str | None:
        return self.ctx.action or self.failure.action

    @property
    def resource(self) -> str | None:
        return self.ctx.resource or self.failure.resource

    @property
    def principal_arn(self) -> str | None:
        return self.ctx.principal_arn or self.failure.principal_arn

    @property
    def principal_type(self) -> str:
        return principal_type(self.principal_arn)

    @property
    def service(self) -> str | None:
        action = self.action
        return action.split(":", 1)[0].lower() if action and ":" in action else None

    @property
    def account(self) -> str | None:
        from diagnostics.context import account_of

        return self.ctx.account_id or account_of(self.principal_arn) or account_of(self.resource)

    @property
    def region(self) -> str | None:
        from diagnostics.context import region_of

        return self.ctx.region or self.failure.region or region_of(self.resource)

    def statements(self, effect: str | None = None) -> tuple[MatchedStatement, ...]:
        """Matched statements from the decoded message, optionally of one effect."""
        if effect is None:
            return self.ctx.matched_statements
        want = effect.capitalize()
        return tuple(s for s in self.ctx.matched_statements if s.effect == want)
