"""Tests for the rule engine: loading, schema errors, overrides, templates, crashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnostics.errors import RuleError
from diagnostics.model import Failure, SourceRef
from diagnostics.request.context import build_context
from diagnostics.rules import RuleSet, bundled_rules_dir, lint
from diagnostics.rules.registry import Matcher
from diagnostics.rules.tables import matchers_table

RULE = """
id = "{id}"
title = "t"
severity = "low"
status = "test"
description = "d"
explanation = "{explanation}"
{extra}
[match]
{match}

[[fix]]
target = "identity"
applies_to = "{{policy_principal}}"
[[fix.statements]]
Sid = "{{sid}}"
Effect = "Allow"
Action = "{{action}}"
Resource = "{{resource}}"

[[case]]
name = "p"
expect = true
[case.failure]
principal_arn = "arn:aws:iam::111122223333:user/alice"
action = "s3:GetObject"
resource = "arn:aws:s3:::b/k"

[[case]]
name = "n"
expect = false
[case.failure]
action = "ec2:DescribeInstances"
"""


def write_rule(
    directory: Path,
    rule_id: str = "my-rule",
    *,
    match: str = 'action = "s3:*"',
    explanation: str = "denied {action}",
    extra: str = "",
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{rule_id}.toml"
    path.write_text(
        RULE.format(id=rule_id, match=match, explanation=explanation, extra=extra),
        encoding="utf-8",
    )
    return path


def failure(**fields: object) -> Failure:
    base: dict[str, object] = {
        "principal_arn": "arn:aws:sts::111122223333:assumed-role/app/sess",
        "action": "s3:GetObject",
        "resource": "arn:aws:s3:::b/k",
    }
    base.update(fields)
    return Failure(kind="plain", source=SourceRef("-", 1), **base)  # type: ignore[arg-type]


def diagnose(rs: RuleSet, f: Failure) -> dict[str, object]:
    return {x.rule: x for x in rs.diagnose(f, build_context(f))}


def test_bundled_rules_load_and_lint_clean() -> None:
    """The shipped rules load and `rules lint` finds nothing to complain about."""
    rs = RuleSet.load([bundled_rules_dir()])
    assert len(rs) >= 3
    assert lint([bundled_rules_dir()]) == []


def test_fix_uses_the_request_values_and_role_for_session(tmp_path: Path) -> None:
    """A fix names the session's role, the exact action and resource, and a readable Sid."""
    write_rule(tmp_path)
    rs = RuleSet.load([tmp_path])
    (fix,) = rs.diagnose(failure(), build_context(failure()))[0].fixes
    assert fix.applies_to == "arn:aws:iam::111122223333:role/app"
    assert fix.statements == (
        {
            "Sid": "AllowS3GetObject",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/k",
        },
    )


def test_unknown_matcher_is_rejected_with_file_rule_field_and_hint(tmp_path: Path) -> None:
    """A misspelt matcher fails loading with the file, rule id, field and a suggestion."""
    path = write_rule(tmp_path, match='acton = "s3:*"')
    with pytest.raises(RuleError) as exc:
        RuleSet.load([tmp_path])
    msg = str(exc.value)
    assert f"{path}: rule my-rule: field match.acton: unknown matcher" in msg
    assert "did you mean 'action'?" in msg


def test_unknown_placeholder_and_unknown_field_are_lint_errors(tmp_path: Path) -> None:
    """Lint names an unknown placeholder and an unknown top-level field."""
    write_rule(tmp_path, explanation="denied {actoin}", extra='colour = "red"')
    problems = lint([tmp_path])
    assert any("field explanation: unknown placeholder {actoin}" in p for p in problems)
    assert any("field colour: unknown field" in p for p in problems)


def test_bad_matcher_value_names_the_expected_type(tmp_path: Path) -> None:
    """A matcher given the wrong kind of value says what it takes."""
    write_rule(tmp_path, match='principal_type = "robot"')
    problems = lint([tmp_path])
    assert len(problems) == 1
    assert "field match.principal_type: unknown value 'robot'" in problems[0]


def test_lint_requires_positive_and_negative_cases(tmp_path: Path) -> None:
    """A rule whose cases are all positive fails lint with a hint to add a negative one."""
    path = write_rule(tmp_path)
    path.write_text(path.read_text().replace("expect = false", "expect = true"))
    problems = lint([tmp_path])
    assert problems == [
        f"{path}: rule my-rule: field case: no negative case — add a [[case]] with expect = false"
    ]


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    """A file that is not TOML is reported with its path, not a traceback."""
    (tmp_path / "broken.toml").write_text("id = [unclosed\n")
    with pytest.raises(RuleError, match=r"broken\.toml: rule \?: invalid TOML"):
        RuleSet.load([tmp_path])


def test_user_dir_overrides_and_disables_bundled_rules(tmp_path: Path) -> None:
    """A later dir replaces a rule by id, `disabled = true` and a disable list drop rules."""
    base, user = tmp_path / "base", tmp_path / "user"
    write_rule(base, "a")
    write_rule(base, "b")
    write_rule(base, "c")
    write_rule(user, "a", explanation="overridden {action}")
    (user / "off.toml").write_text('id = "b"\ndisabled = true\n')
    (user / "_list.toml").write_text('disable = ["c"]\n')
    rs = RuleSet.load([base, user])
    found = diagnose(rs, failure())
    assert set(found) == {"a"}
    assert found["a"].explanation == "overridden s3:GetObject"  # type: ignore[attr-defined]
    assert lint([base, user]) == []


def test_disabling_an_unknown_id_is_a_lint_problem(tmp_path: Path) -> None:
    """A disable list naming no rule is flagged as a probable typo."""
    write_rule(tmp_path, "a")
    (tmp_path / "off.toml").write_text('disable = ["no-such-rule"]\n')
    assert lint([tmp_path]) == [
        f"{tmp_path / 'off.toml'}: rule no-such-rule: field disable: no rule has this id"
        " — check for a typo"
    ]


def test_crashing_rule_becomes_a_finding_and_others_still_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A matcher that raises yields a finding naming the rule; other rules still report."""
    write_rule(tmp_path, "a-crashes", match="decoded = false")
    write_rule(tmp_path, "b-works")

    def boom(_: object, __: object) -> bool:
        raise RuntimeError("bug")

    orig = matchers_table()["decoded"]
    monkeypatch.setitem(
        matchers_table(),
        "decoded",
        Matcher("decoded", orig.doc, orig.arg, orig.check, orig.prepare, boom),
    )
    found = diagnose(RuleSet.load([tmp_path]), failure())
    assert found["a-crashes"].title == "rule a-crashes failed"  # type: ignore[attr-defined]
    assert "RuntimeError" in found["a-crashes"].explanation  # type: ignore[attr-defined]
    assert found["b-works"].fixes  # type: ignore[attr-defined]


def test_fix_needing_an_unknown_value_is_left_out_and_said(tmp_path: Path) -> None:
    """Without a resource, a fix that needs `{resource}` is omitted and the explanation says why."""
    write_rule(tmp_path)
    (finding,) = RuleSet.load([tmp_path]).diagnose(
        failure(resource=None), build_context(failure(resource=None))
    )
    assert finding.fixes == ()
    assert "does not say its resource" in finding.explanation


def test_supersedes_drops_the_generic_finding(tmp_path: Path) -> None:
    """When a specific rule matches, the generic rule it supersedes is not reported."""
    write_rule(tmp_path, "generic")
    write_rule(
        tmp_path, "specific", extra='supersedes = ["generic"]', match='action = "s3:GetObject"'
    )
    assert set(diagnose(RuleSet.load([tmp_path]), failure())) == {"specific"}
    assert set(diagnose(RuleSet.load([tmp_path]), failure(action="s3:PutObject"))) == {"generic"}


def test_iam_policy_variables_are_left_alone(tmp_path: Path) -> None:
    """`${aws:username}` in a template stays literal: it is IAM's variable, not ours."""
    write_rule(tmp_path, explanation="home is ${aws:username} for {action}")
    (finding,) = RuleSet.load([tmp_path]).diagnose(failure(), build_context(failure()))
    assert finding.explanation == "home is ${aws:username} for s3:GetObject"


def test_action_matching_is_case_insensitive(tmp_path: Path) -> None:
    """`SNS:Publish` as AWS prints it matches a rule written for `sns:publish`."""
    write_rule(tmp_path, match='action = "sns:publish"')
    assert diagnose(RuleSet.load([tmp_path]), failure(action="SNS:Publish"))
