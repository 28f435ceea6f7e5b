"""Which rules can apply to a failure, decided before any matcher runs.

A failure is reduced to a few facets (kind, service, policy type, explicit
deny, decoded, matched statements, principal, Troubleshooter answer): values every failure has and
that are cheap to read.  A rule's ``[match]`` table is checked against the
facets only, with the matchers that speak about them; the answer is "cannot
match" or "may match", never "matches", so the real matchers still decide.
Facets repeat across a storm of distinct failures, so the candidate list
for a facet tuple is computed once and reused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

if TYPE_CHECKING:
    from diagnostics.rules.subject import Subject


class Facets(NamedTuple):
    kind: str
    service: str | None
    policy_type: str
    explicit_deny: str
    decoded: bool
    has_statements: bool
    has_principal: bool
    principal_type: str
    #: An Access Troubleshooter answer came with the failure.
    has_details: bool = False


_DENY = {True: "true", False: "false", None: "unknown"}


def facets_of(s: Subject) -> Facets:
    """The facets of one failure, as the matchers would read them."""
    deny = s.ctx.explicit_deny if s.ctx.explicit_deny is not None else s.failure.explicit_deny
    return Facets(
        kind=s.failure.kind,
        # Without an action there is no service, and every action glob fails.
        service=s.service if s.action else None,
        policy_type=s.ctx.policy_type or s.failure.policy_type or "none",
        explicit_deny=_DENY[deny],
        decoded=s.ctx.decoded,
        has_statements=bool(s.ctx.matched_statements),
        has_principal=bool(s.principal_arn),
        principal_type=s.principal_type,
        has_details=s.details is not None,
    )


def _as_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, (str, bool)) else list(value)


def _glob_service(glob: str) -> str | None:
    """The literal service prefix an action glob fixes ("s3:Get*" -> "s3"), else None."""
    service, colon, _ = glob.partition(":")
    if not colon or any(ch in service for ch in "*?["):
        return None
    return service.lower()


def _explicit_deny_may(value: Any, f: Facets) -> bool:
    want = {True: "true", False: "false"}.get(value, value)
    return bool(want == f.explicit_deny)


#: matcher name -> (raw TOML value, facets) -> False when the test cannot hold.
_FACET_TESTS: dict[str, Callable[[Any, Facets], bool]] = {
    "kind": lambda v, f: f.kind in _as_list(v),
    "policy_type": lambda v, f: f.policy_type in _as_list(v),
    "explicit_deny": _explicit_deny_may,
    "decoded": lambda v, f: f.decoded == v,
    "has_principal": lambda v, f: f.has_principal == v,
    "principal_type": lambda v, f: f.principal_type in _as_list(v),
    # Statement matchers look only at the decoded message's matched statements.
    "statement_effect": lambda v, f: f.has_statements,
    "statement_condition_key": lambda v, f: f.has_statements,
    # The Troubleshooter's own findings: never a candidate for a failure without an answer.
    "troubleshooter": lambda v, f: f.has_details,
}


def _action_test(value: Any, f: Facets) -> bool:
    if f.service is None:
        # s.action is None or has no "service:" prefix; a glob may still match a bare
        # word only if its service part is a wildcard, so stay conservative there.
        return any(_glob_service(g) is None for g in _as_list(value))
    return any(_glob_service(g) in (None, f.service) for g in _as_list(value))


_FACET_TESTS["action"] = _action_test


def may_match(table: Mapping[str, Any], f: Facets) -> bool:
    """False when the ``[match]`` table cannot hold for a failure with these facets."""
    for name, value in table.items():
        if name == "any":
            continue
        test = _FACET_TESTS.get(name)
        if test is not None and not test(value, f):
            return False
    branches = table.get("any", ())
    return not branches or any(may_match(b, f) for b in branches)


T = TypeVar("T")


class RuleIndex(Generic[T]):
    """Candidate rules per facet tuple, in the rule set's order.

    The memo is bounded (facets hold a service name taken from the input, so
    a hostile log could make many), and cleared rather than evicted: a storm
    uses a handful of tuples, which come straight back.
    """

    def __init__(self, rules: Sequence[tuple[T, Mapping[str, Any]]], size: int = 4096) -> None:
        self._rules = tuple(rules)
        self._memo: dict[Facets, tuple[T, ...]] = {}
        self._size = size

    def candidates(self, f: Facets) -> tuple[T, ...]:
        found = self._memo.get(f)
        if found is None:
            if len(self._memo) >= self._size:
                self._memo.clear()
            found = tuple(rule for rule, table in self._rules if may_match(table, f))
            self._memo[f] = found
        return found
