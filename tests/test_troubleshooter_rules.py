"""Access Troubleshooter findings as rules: declared in rule files, linted, run by `rules test`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import toolbox_shapes as shapes

from diagnostics.model import Failure, SourceRef
from diagnostics.request.context import build_context
from diagnostics.rules import Rule, RuleSet, bundled_rules_dir, lint, run_cases
from diagnostics.rules.cases import case_input
from diagnostics.rules.index import facets_of
from diagnostics.rules.subject import Subject
from diagnostics.rules.troubleshooter_rules import parse_case_details
from diagnostics.troubleshooter.details import parse_details
from diagnostics.troubleshooter.findings import KINDS
from diagnostics.troubleshooter.verdict import judge_details

RULES = RuleSet.bundled()


def _rule_file(
    rule_id: str = "troubleshooter-explicit-deny",
    severity: str = "high",
    verdict: str = "explicit",
    details: dict[str, object] | None = None,
    expect: bool = True,
) -> str:
    answer = json.dumps(details or shapes.scp_explicit_deny())
    return f"""
id = "{rule_id}"
title = "An explicit Deny"
severity = "{severity}"
status = "stable"
description = "x"
explanation = "x"
[match]
troubleshooter = "{verdict}"
[[case]]
name = "the region SCP"
expect = {str(expect).lower()}
details = '''{answer}'''
[case.failure]
principal_arn = "{shapes.SESSION}"
[[case]]
name = "an allowed request"
expect = false
details = '''{json.dumps(shapes.answer([], []))}'''
[case.failure]
principal_arn = "{shapes.SESSION}"
"""


def test_every_troubleshooter_finding_has_a_bundled_rule_with_its_severity() -> None:
    """Each finding the Troubleshooter gives is a bundled rule with the same id and severity."""
    for kind in KINDS.values():
        rule = RULES.get(kind.rule)
        assert rule is not None, kind.rule
        assert rule.severity == kind.severity
        assert rule.doc["match"] == {"troubleshooter": kind.verdict}


def test_rules_test_runs_the_troubleshooter_cases_and_they_pass() -> None:
    """`rules test` runs a positive and a negative case for each Troubleshooter finding."""
    report = run_cases([bundled_rules_dir()])
    by_rule = report.by_rule()
    for rule_id in KINDS:
        results = by_rule[rule_id]
        assert len(results) >= 2 and all(r.ok for r in results), results


def test_a_case_the_troubleshooter_disagrees_with_fails_naming_what_fired(tmp_path: Path) -> None:
    """A positive case whose answer gives another finding fails with the findings that fired."""
    implicit = shapes.run_instances()
    (tmp_path / "x.toml").write_text(_rule_file(details=implicit))
    report = run_cases([bundled_rules_dir(), tmp_path])
    (bad,) = report.failed
    assert bad.rule_id == "troubleshooter-explicit-deny"
    assert "troubleshooter-implicit-deny" in bad.message


def test_lint_rejects_a_troubleshooter_rule_with_another_severity_or_verdict(
    tmp_path: Path,
) -> None:
    """Overriding a Troubleshooter rule's severity or verdict is a lint problem, never a no-op."""
    (tmp_path / "sev.toml").write_text(_rule_file(severity="low"))
    problems = lint([tmp_path])
    assert any("severity" in p and "high" in p for p in problems), problems
    (tmp_path / "sev.toml").write_text(_rule_file(verdict="implicit"))
    problems = lint([tmp_path])
    assert any("troubleshooter" in p and "explicit" in p for p in problems), problems


def test_lint_rejects_a_troubleshooter_matcher_on_an_unknown_finding(tmp_path: Path) -> None:
    """A new rule id with the troubleshooter matcher names no finding the Troubleshooter gives."""
    (tmp_path / "new.toml").write_text(_rule_file(rule_id="my-scp-rule"))
    problems = lint([tmp_path])
    assert any("my-scp-rule" in p and "troubleshooter-explicit-deny" in p for p in problems)


def test_lint_rejects_an_unknown_verdict(tmp_path: Path) -> None:
    """An unknown verdict for the troubleshooter matcher is reported with the allowed ones."""
    (tmp_path / "v.toml").write_text(_rule_file(verdict="maybe"))
    problems = lint([tmp_path])
    assert any("'maybe'" in p and "unattributed" in p for p in problems), problems


def test_lint_wants_a_negative_troubleshooter_case(tmp_path: Path) -> None:
    """A Troubleshooter rule file with only a positive case fails lint."""
    text = _rule_file().split('[[case]]\nname = "an allowed request"')[0]
    (tmp_path / "one.toml").write_text(text)
    assert any("no negative case" in p for p in lint([tmp_path]))


def test_troubleshooter_rules_never_fire_on_a_failure_without_an_answer() -> None:
    """A scan of a plain failure never reports a Troubleshooter finding; the index skips them."""
    failure = Failure(
        kind="plain",
        source=SourceRef("app.log", 1),
        principal_arn=shapes.SESSION,
        action="s3:GetObject",
        resource=f"{shapes.BUCKET}/k",
        explicit_deny=True,
        policy_type="scp",
    )
    ctx = build_context(failure, None)
    assert not any(f.rule in KINDS for f in RULES.diagnose(failure, ctx))
    facets = facets_of(Subject(failure, ctx))
    assert not any(r.id in KINDS for r in RULES._index.candidates(facets))


def test_the_matcher_holds_for_the_verdict_of_a_denied_evaluation() -> None:
    """The troubleshooter matcher holds on an answer with that kind of denied evaluation only."""
    failure = Failure(kind="plain", source=SourceRef("app.log", 1), principal_arn=shapes.SESSION)
    ctx = build_context(failure, None)
    explicit = Subject(failure, ctx, details=parse_details(shapes.scp_explicit_deny()))
    implicit = Subject(failure, ctx, details=parse_details(shapes.run_instances()))
    rule = RULES.get("troubleshooter-explicit-deny")
    assert rule is not None
    assert rule.matches(explicit) and not rule.matches(implicit)


def test_cli_rules_test_lists_the_troubleshooter_rules() -> None:
    """`authz-diag rules test` prints a passing line for each Troubleshooter finding."""
    out = subprocess.run(
        [sys.executable, "-m", "diagnostics", "rules", "test"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for rule_id in KINDS:
        assert f"ok   {rule_id} (" in out.stdout


TS_POSITIVE = [
    (rule, i, case)
    for rule in RULES.rules
    if rule.id in KINDS
    for i, case in enumerate(rule.cases)
    if case["expect"]
]


@pytest.mark.parametrize(
    ("rule", "index", "case"), TS_POSITIVE, ids=lambda v: getattr(v, "id", None)
)
def test_every_fix_of_a_positive_troubleshooter_case_passes_its_recheck(
    rule: Rule, index: int, case: dict[str, Any]
) -> None:
    """Each fix a Troubleshooter case suggests is allowed through every layer by the re-check."""
    failure, decoded = case_input(rule, index, case)
    raw = parse_case_details(case["details"])
    verdict = judge_details(failure, raw, build_context(failure, decoded))
    assert verdict is not None
    _, findings, verification = verdict
    fixes = [e for e in verification if e.applies_to is not None]
    assert len(fixes) == sum(len(f.fixes) for f in findings)
    assert all(e.status in {"allows", "allows_with_other_fixes"} for e in fixes), fixes


DETAILS_CASES = [(rule, case) for rule in RULES.rules if rule.id in KINDS for case in rule.cases]


@pytest.mark.parametrize(("rule", "case"), DETAILS_CASES, ids=lambda v: getattr(v, "id", None))
def test_every_case_answer_fits_the_service_model(rule: Rule, case: dict[str, Any]) -> None:
    """Each case's answer is shaped as the iam-toolbox model's GetRequestAuthorizationDetails."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("iam-toolbox")
    shape = model.operation_model("GetRequestAuthorizationDetails").output_shape
    answer = parse_case_details(case["details"])
    # The captured documents ride beside the answer (get-request-authorization-policy).
    body = {k: v for k, v in answer.items() if k != "documents"}
    report = ParamValidator().validate(body, shape)
    assert not report.has_errors(), report.generate_report()


def test_sarif_describes_a_troubleshooter_finding_by_its_rule_file() -> None:
    """A SARIF run names a Troubleshooter finding's rule with the rule file's title and text."""
    import orjson

    from diagnostics.model import Diagnosis
    from diagnostics.render import sarif

    failure = Failure(kind="plain", source=SourceRef("app.log", 1), principal_arn=shapes.SESSION)
    verdict = judge_details(failure, shapes.scp_explicit_deny())
    assert verdict is not None
    filled, findings, verification = verdict
    log = orjson.loads(
        sarif.render(
            [Diagnosis(filled, findings=findings, verification=verification)],
            rules=sarif.rule_infos(RULES),
        )
    )
    (descriptor,) = log["runs"][0]["tool"]["driver"]["rules"]
    rule = RULES.get("troubleshooter-explicit-deny")
    assert rule is not None
    assert descriptor["shortDescription"]["text"] == rule.title
    assert descriptor["helpUri"].startswith("https://docs.aws.amazon.com/")
