"""Every fix is checked against its policy type's grammar before it is printed (issue 24)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from diagnostics.model import Fix
from diagnostics.policy.grammar import problems, repaired
from diagnostics.rules import RuleSet
from diagnostics.rules.cases import diagnose_case
from diagnostics.testing.corpus import load_cases

ROOT = Path(__file__).resolve().parents[1]
ROLE = "arn:aws:iam::111122223333:role/app"
CALLER = "arn:aws:iam::444455556666:role/ci"


def _fix_problems(fixes: list[tuple[str, Fix]]) -> list[str]:
    return [
        f"{where}: {fix.target} {fix.applies_to}: {p}"
        for where, fix in fixes
        for p in problems(fix)
    ]


def test_a_trust_policy_with_resource_is_refused_and_repaired() -> None:
    """A trust statement naming Resource is what IAM rejects ("Has prohibited field Resource")."""
    statement = {
        "Sid": "AllowStsAssumeRole",
        "Effect": "Allow",
        "Principal": {"AWS": CALLER},
        "Action": "sts:AssumeRole",
        "Resource": ROLE,
    }
    fix = Fix("trust", ROLE, (statement,))
    assert any("prohibited field Resource" in p for p in problems(fix))
    assert problems(repaired(fix)) == []
    assert "Resource" not in repaired(fix).statements[0]


def test_identity_statements_never_name_a_principal_and_sids_are_alphanumeric() -> None:
    """An identity statement with Principal or a Sid with dashes is flagged and cleaned."""
    fix = Fix(
        "identity",
        ROLE,
        (
            {
                "Sid": "allow-s3",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "*",
            },
        ),
    )
    found = problems(fix)
    assert any("prohibited field Principal" in p for p in found)
    assert any("letters and digits" in p for p in found)
    assert problems(repaired(fix)) == []


def test_a_fix_over_the_trust_quota_says_so() -> None:
    """A trust policy over 2,048 characters is named with its quota."""
    statements = tuple(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{n:012d}:role/r"},
            "Action": "sts:AssumeRole",
        }
        for n in range(40)
    )
    found = problems(Fix("trust", ROLE, statements))
    assert any("2,048-character quota" in p for p in found)


def test_every_fix_the_rules_cases_produce_is_well_formed() -> None:
    """The grammar check passes on every fix of every bundled rule case."""
    ruleset = RuleSet.bundled()
    fixes = []
    for rule in ruleset.rules:
        for index, case in enumerate(rule.cases):
            if "line" in case:
                continue  # needs the extractor; the corpus and examples cover lines
            _, findings = diagnose_case(ruleset, rule, index, case)
            fixes += [(f"{rule.id}#{index}", fix) for finding in findings for fix in finding.fixes]
    assert fixes
    assert _fix_problems(fixes) == []


@pytest.mark.parametrize("where", ["examples", "tests/fixtures/real"])
def test_every_fix_of_the_examples_and_the_real_corpus_is_well_formed(where: str) -> None:
    """The grammar check passes on every fix `scan` prints for the examples and the corpus."""
    from diagnostics.run.scan import scan

    paths = [str(ROOT / where)] if where == "examples" else [str(c.text_path) for c in load_cases()]
    _, diagnoses = scan(paths, ruleset=RuleSet.bundled(), decoder=None, err=io.StringIO())
    fixes = [
        (d.failure.source.label(), fix)
        for d in diagnoses
        for finding in d.findings
        for fix in finding.fixes
    ]
    assert fixes
    assert _fix_problems(fixes) == []
