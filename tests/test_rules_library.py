"""Every bundled rule's cases, its fixes proven by the evaluator, and a benign baseline."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from diagnostics.model import Failure, SourceRef
from diagnostics.request.context import build_context
from diagnostics.rules import RuleSet, bundled_rules_dir, lint, run_cases
from diagnostics.rules.cases import case_input, check_case
from diagnostics.rules.docs import schema_markdown
from diagnostics.rules.tables import matchers_table, placeholders_table

RULES = RuleSet.load([bundled_rules_dir()])
CASES = [(r, i, c) for r in RULES.rules for i, c in enumerate(r.cases)]
# Cases with an Access Troubleshooter answer get their fixes re-checked across every
# layer by the Troubleshooter itself (tests/test_troubleshooter_rules.py).
POSITIVE = [(r, i, c) for r, i, c in CASES if c["expect"] and "details" not in c]
ROOT = Path(__file__).resolve().parents[1]


def test_library_has_at_least_25_rules_and_lints_clean() -> None:
    """The shipped library holds 25 or more rules and `lint` reports nothing."""
    assert len(RULES) >= 25
    assert lint([bundled_rules_dir()]) == []


@pytest.mark.parametrize(("rule", "index", "case"), CASES, ids=lambda v: getattr(v, "id", None))
def test_bundled_case(rule: Any, index: int, case: dict[str, Any]) -> None:
    """Each case beside a bundled rule gives the expected verdict and fix."""
    result = check_case(RULES, rule, index, case)
    assert result.ok, f"{rule.id} / {result.case}: {result.message}"


def _without_conditions(statement: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in statement.items() if k != "Condition"}


@pytest.mark.parametrize(("rule", "index", "case"), POSITIVE, ids=lambda v: getattr(v, "id", None))
def test_suggested_allow_allows_the_failed_request(
    rule: Any, index: int, case: dict[str, Any]
) -> None:
    """Each fix of a positive case has an Allow that the evaluator says covers the request."""
    from diagnostics.policy import statement_allows

    failure, decoded = case_input(rule, index, case)
    ctx = build_context(failure, decoded)
    finding = next(f for f in RULES.diagnose(failure, ctx) if f.rule == rule.id)
    for fix in finding.fixes:
        allows = [st for st in fix.statements if st["Effect"] == "Allow"]
        # Trust policies carry no Resource: the role is the policy's owner.
        vctx = dataclasses.replace(ctx, resource=None) if fix.target == "trust" else ctx
        known = {k.lower() for k in ctx.conditions}
        checked = [
            st
            if all(k.lower() in known for block in st.get("Condition", {}).values() for k in block)
            # A key only the service sets at call time cannot be checked from the log line.
            else _without_conditions(st)
            for st in allows
        ]
        assert any(statement_allows(st, vctx) for st in checked), (rule.id, fix.to_json())


@pytest.mark.parametrize(("rule", "index", "case"), POSITIVE, ids=lambda v: getattr(v, "id", None))
def test_no_positive_case_prints_a_fix_the_evaluator_rejects(
    rule: Any, index: int, case: dict[str, Any]
) -> None:
    """No bundled rule's positive case shows a "!" (does_not_cover) fix in the scan output.

    Conditions on keys only the service sets at call time (iam:PassedToService)
    cannot be disproved from a log line; verify.py should report those as
    unchecked, which ``statement_allows_if_set`` models until it does.
    """
    from diagnostics.diagnose.verify import check_fixes
    from diagnostics.model import Diagnosis
    from diagnostics.policy import statement_allows_if_set

    failure, decoded = case_input(rule, index, case)
    ctx = build_context(failure, decoded)
    findings = RULES.diagnose(failure, ctx)
    failure = dataclasses.replace(
        failure,
        principal_arn=ctx.principal_arn,
        action=ctx.action,
        resource=ctx.resource,
    )
    checked = check_fixes(Diagnosis(failure, decoded, None, findings))
    vctx = build_context(failure, decoded)
    bad = []
    for entry in checked.verification:
        fix = next(
            x
            for f in findings
            for x in f.fixes
            if f.rule == entry.rule
            and x.target == entry.target
            and x.applies_to == entry.applies_to
        )
        if entry.status != "allows" and not any(
            st.get("Effect") == "Allow" and statement_allows_if_set(st, vctx)
            for st in fix.statements
        ):
            bad.append((entry.target, entry.message, fix.to_json()))
    assert bad == [], (rule.id, bad)


def _baseline() -> list[Failure]:
    data = tomllib.loads((bundled_rules_dir() / "baseline" / "benign.toml").read_text())
    return [
        Failure(
            kind=b.pop("kind", "plain"),
            source=SourceRef("baseline", i),
            **{k: v for k, v in b.items() if k != "_"},
        )
        for i, b in enumerate(data["failure"])
    ]


@pytest.mark.parametrize("failure", _baseline(), ids=lambda f: f"{f.action}")
def test_benign_baseline_fires_only_allowed_rules(failure: Failure) -> None:
    """Every rule runs over the benign baseline and none fires outside its expected set."""
    data = tomllib.loads((bundled_rules_dir() / "baseline" / "benign.toml").read_text())
    allowed = set(data["failure"][failure.source.line or 0].get("_", []))
    fired = {f.rule for f in RULES.diagnose(failure, build_context(failure))}
    assert fired <= allowed | {"identity-missing-allow"}, fired


def test_run_cases_reports_every_case_and_a_broken_expectation(tmp_path: Path) -> None:
    """run_cases passes the bundled set and fails a user rule whose case is wrong."""
    assert run_cases([bundled_rules_dir()]).ok
    src = (bundled_rules_dir() / "sts" / "get-caller-identity.toml").read_text()
    (tmp_path / "gci.toml").write_text(
        src.replace(
            'name = "AssumeRole is a real permission"\nexpect = false',
            'name = "AssumeRole is a real permission"\nexpect = true',
        )
    )
    report = run_cases([bundled_rules_dir(), tmp_path])
    assert [r.case for r in report.failed] == ["AssumeRole is a real permission"]


def test_schema_lists_every_registered_matcher_and_placeholder() -> None:
    """`rules schema` names every matcher and placeholder in the registry."""
    text = schema_markdown()
    for name in matchers_table():
        assert f"`{name}`" in text, name
    for name in placeholders_table():
        assert f"{{{name}" in text, name


def test_docs_schema_section_is_the_generated_text() -> None:
    """docs/rules.md's schema section is exactly the `authz-diag rules schema` output."""
    marker = "<!-- generated by `authz-diag rules schema`: do not edit below this line -->\n\n"
    doc = (ROOT / "docs" / "rules.md").read_text()
    assert marker in doc
    assert doc.split(marker, 1)[1] == schema_markdown(), (
        "docs/rules.md is stale: paste `authz-diag rules schema` output below the marker"
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "diagnostics", "rules", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_lint_and_test_exit_zero_on_bundled_rules() -> None:
    """`authz-diag rules lint` and `rules test` exit 0 on the shipped rules."""
    assert _cli("lint").returncode == 0
    out = _cli("test")
    assert out.returncode == 0, out.stdout
    assert "ok   identity-missing-allow" in out.stdout


def test_cli_lint_exits_one_with_one_line_per_problem(tmp_path: Path) -> None:
    """A bad user rule makes `rules lint DIR` exit 1 and print file, rule, field, hint."""
    (tmp_path / "bad.toml").write_text(
        'id = "bad"\ntitle = "t"\nseverity = "urgent"\nstatus = "test"\ndescription = "d"\n'
        'explanation = "x"\n[match]\naction = "s3:*"\n'
    )
    out = _cli("lint", str(tmp_path), "--only")
    assert out.returncode == 1
    assert (
        f"{tmp_path / 'bad.toml'}: rule bad: field severity: is 'urgent'"
        " — expected info | low | medium | high" in out.stdout.splitlines()
    )


def test_cli_test_exits_one_on_a_failing_case(tmp_path: Path) -> None:
    """`rules test DIR` exits 1 and names the failing rule and case."""
    src = (bundled_rules_dir() / "sts" / "get-caller-identity.toml").read_text()
    (tmp_path / "gci.toml").write_text(
        src.replace(
            'action = "sts:GetCallerIdentity"\npolicy_type',
            'action = "sts:GetSessionToken"\npolicy_type',
        )
    )
    out = _cli("test", str(tmp_path))
    assert out.returncode == 1
    assert "FAIL get-caller-identity" in out.stdout
