"""Tests for the rule index: it only skips rules that cannot match, never one that would."""

from __future__ import annotations

import itertools
from typing import Any

from diagnostics.model import Failure, Finding, SourceRef
from diagnostics.request.context import build_context
from diagnostics.rules import RuleSet
from diagnostics.rules.cases import case_input
from diagnostics.rules.index import RuleIndex, facets_of
from diagnostics.rules.subject import Subject


def _every_rule(rs: RuleSet, failure: Failure, decoded: Any = None) -> tuple[Finding, ...]:
    """The findings of testing every rule against the failure, no index."""
    subject = Subject(failure, build_context(failure, decoded))
    matched = [r for r in rs.rules if r.matches(subject)]
    superseded = {s for r in matched for s in r.supersedes}
    return tuple(r.finding(subject) for r in matched if r.id not in superseded)


def _inputs(rs: RuleSet) -> list[tuple[Failure, Any]]:
    """Every bundled rule case, plus a grid of failures over the indexed facets."""
    out: list[tuple[Failure, Any]] = []
    for rule in rs.rules:
        for i, case in enumerate(rule.cases):
            out.append(case_input(rule, i, case))
    actions = [None, "s3:GetObject", "S3:ListBucket", "iam:PassRole", "sts:AssumeRole", "weird"]
    principals = [
        None,
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:sts::111122223333:assumed-role/app/s",
        "ec2.amazonaws.com",
        "anonymous",
    ]
    for kind, action, principal, policy, deny in itertools.product(
        ("plain", "encoded", "cloudtrail"),
        actions,
        principals,
        (None, "identity", "resource", "scp", "trust"),
        (None, True, False),
    ):
        out.append(
            (
                Failure(
                    kind=kind,  # type: ignore[arg-type]
                    source=SourceRef("-", 1),
                    principal_arn=principal,
                    action=action,
                    resource="arn:aws:s3:::b/k" if action else None,
                    policy_type=policy,
                    explicit_deny=deny,
                    operation="GetObject",
                    error_code="AccessDenied",
                ),
                None,
            )
        )
    return out


def test_indexed_diagnosis_equals_testing_every_rule() -> None:
    """For every rule case and a grid of failures, the index gives exactly the full findings."""
    rs = RuleSet.bundled()
    inputs = _inputs(rs)
    assert len(inputs) > 1000
    for failure, decoded in inputs:
        assert rs.diagnose(failure, build_context(failure, decoded)) == _every_rule(
            rs, failure, decoded
        ), failure


def test_index_skips_rules_of_other_services() -> None:
    """An S3 failure meets none of the IAM PassRole or STS rules (the index narrows the set)."""
    rs = RuleSet.bundled()
    failure = Failure(
        kind="plain",
        source=SourceRef("-", 1),
        principal_arn="arn:aws:iam::111122223333:user/alice",
        action="s3:GetObject",
        resource="arn:aws:s3:::b/k",
        policy_type="identity",
        explicit_deny=False,
    )
    index = RuleIndex([(r, r.doc["match"]) for r in rs.rules])
    ids = {r.id for r in index.candidates(facets_of(Subject(failure, build_context(failure))))}
    assert "s3-object-arn" in ids and "identity-missing-allow" in ids
    assert not {i for i in ids if i.startswith(("passrole-", "assume-role", "kms-"))}
    assert len(ids) < len(rs) // 3


def test_index_memo_stays_bounded() -> None:
    """Facets holding input-chosen service names never grow the memo past its bound."""
    rs = RuleSet.bundled()
    index = RuleIndex([(r, r.doc["match"]) for r in rs.rules], size=8)
    for n in range(50):
        f = Failure(kind="plain", source=SourceRef("-", 1), action=f"svc{n}:Do")
        index.candidates(facets_of(Subject(f, build_context(f))))
        assert len(index._memo) <= 8
