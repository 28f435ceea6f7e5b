"""The reader against real texts users pasted in public threads (tests/fixtures/real/).

One test per case: the offline scan must find exactly the expected failures,
with every field the case sets.  A case marked ``known_gap`` must still fail
(strict xfail), so fixing the reader forces removing the mark.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import orjson
import pytest

from diagnostics.rules import RuleSet
from diagnostics.testing.corpus import REAL_DIR, Case, load_cases, problems, scan_case
from diagnostics.testing.scoring import align, score, total, verdict

#: The corpus is done when it has this many cases, about a tenth of them negatives.
MIN_CASES = 150
NEGATIVE_SHARE = (0.08, 0.20)

CASES = load_cases()
BENCH = Path(__file__).resolve().parents[1] / "bench" / "accuracy.py"


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return RuleSet.bundled()


@pytest.mark.parametrize("case", CASES, ids=[c.slug for c in CASES])
def test_real_case(case: Case, ruleset: RuleSet) -> None:
    """Scanning a real pasted text finds each expected failure with its fields, and no other."""
    bad_files = problems(case)
    assert not bad_files, f"{case.slug}: fix the case files: " + "; ".join(bad_files)
    status, message = verdict(case, score(case, scan_case(case, ruleset)))
    if status == "xfail":
        pytest.xfail(message)
    if status == "fail":
        pytest.fail(message, pytrace=False)


def test_corpus_is_big_enough_with_about_a_tenth_negatives() -> None:
    """The corpus holds at least MIN_CASES cases, about 10% of them negatives."""
    negatives = sum(c.negative for c in CASES)
    assert len(CASES) >= MIN_CASES, (
        f"the real corpus has {len(CASES)} cases, needs {MIN_CASES}: "
        "merge the collectors' branches or add cases"
    )
    low, high = NEGATIVE_SHARE
    share = negatives / len(CASES)
    assert low <= share <= high, (
        f"{negatives} of {len(CASES)} cases are negatives ({share:.0%}); "
        f"keep it between {low:.0%} and {high:.0%}"
    )


def test_sources_md_lists_every_case_with_its_url() -> None:
    """SOURCES.md has a row naming each case's slug and URL (regenerate: tools/real_sources.py)."""
    sources = REAL_DIR / "SOURCES.md"
    assert sources.is_file(), "tests/fixtures/real/SOURCES.md is missing: run tools/real_sources.py"
    rows = {}
    for line in sources.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 4:
            rows[cells[0]] = cells[3]
    stale = [
        c.slug
        for c in CASES
        if rows.get(c.slug) != str(c.expect.get("url", "")).replace("|", "\\|")
    ]
    assert not stale, f"SOURCES.md lacks or misstates {stale}; run python tools/real_sources.py"


def _found(**fields: object) -> dict[str, object]:
    return {"kind": "plain", "source": {"line": 1}, **fields}


def test_alignment_does_not_shift_after_a_missed_failure() -> None:
    """When the reader misses the first of three failures, the other two still pair with theirs."""
    expected = [
        {"kind": "plain", "action": "s3:GetObject", "principal_arn": None},
        {"kind": "plain", "action": "ec2:RunInstances", "principal_arn": None},
        {"kind": "plain", "action": "kms:Decrypt", "principal_arn": None},
    ]
    found = [_found(action="ec2:RunInstances"), _found(action="kms:Decrypt")]
    aligned = align(expected, found)
    assert aligned.pairs == ((1, 0), (2, 1))
    assert aligned.missed == (0,)
    assert aligned.extra == ()


def test_score_counts_a_missed_failure_as_wrong_on_each_field() -> None:
    """A missed failure lowers recall and every measured field it set, and the miss is named."""
    fields = dict.fromkeys(("principal_arn", "account_id", "resource", "policy_type"))
    case = Case(
        "x-demo",
        REAL_DIR / "x-demo.txt",
        {
            "failures": [
                {"kind": "plain", "action": "s3:GetObject", "explicit_deny": None, **fields}
            ]
        },
    )
    result = score(case, [])
    assert (result.matched, result.expected) == (0, 1)
    assert all(asked == 1 and right == 0 for right, asked in result.fields.values())
    assert result.misses == ["missed failure 1: plain s3:GetObject"]
    summary = total([result]).summary()
    assert summary.startswith("recall 0.0% (0/1), false alarms 0")


def test_score_reports_a_wrong_field_and_a_false_alarm() -> None:
    """A wrong value is reported with both values; a failure in a negative is a false alarm."""
    positive = Case(
        "x-pos", REAL_DIR / "x-pos.txt", {"failures": [{"kind": "plain", "action": "a:B"}]}
    )
    result = score(positive, [_found(action="a:C")])
    assert result.misses == ['failure 1 action: expected "a:B", got "a:C"']
    negative = Case("x-neg", REAL_DIR / "x-neg.txt", {"failures": []})
    alarm = score(negative, [_found(action="a:C")])
    assert alarm.misses == ["false alarm: plain a:C line 1"]
    assert total([alarm]).false_alarms == 1


def test_accuracy_bench_ends_with_the_summary_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench/accuracy.py prints per-case misses, per-field figures and a one-line summary last."""
    # A two-case corpus of its own: a negative, and a positive with one wrong expectation.
    (tmp_path / "x-neg.txt").write_text("InvalidClientTokenId: The security token is invalid.\n")
    (tmp_path / "x-neg.expect.json").write_bytes(orjson.dumps({"failures": []}))
    (tmp_path / "x-s3.txt").write_text(
        "An error occurred (AccessDenied) when calling the ListObjectsV2 operation: Access Denied\n"
    )
    unsaid = dict.fromkeys(
        ("principal_arn", "account_id", "resource", "policy_type", "explicit_deny")
    )
    expected = {"kind": "plain", "action": "s3:ListAllMyBuckets", **unsaid}  # really s3:ListBucket
    case = {"classes": ["bare-s3"], "failures": [expected]}
    (tmp_path / "x-s3.expect.json").write_bytes(orjson.dumps(case))
    monkeypatch.syspath_prepend(str(BENCH.parent))  # the bench scripts import harness flat
    spec = importlib.util.spec_from_file_location("accuracy", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == 'x-s3: failure 1 action: expected "s3:ListAllMyBuckets", got "s3:ListBucket"'
    assert "  action           0.0% (0/1)" in lines
    assert "cases with a difference, by class: bare-s3 1/1" in lines
    assert lines[-1] == (
        "recall 100.0% (1/1), false alarms 0 (0 in negatives, 0 extra), fields 83.3% (5/6)"
    )
    assert module.main(["--dir", str(tmp_path / "none")]) == 2
    md = module.markdown(module.total([]))
    assert md.startswith("## Reader accuracy on real pasted texts (issues 11 and 21)")
    assert "| recall (expected failures found) | n/a |" in md


def test_a_known_gap_must_still_fail_and_is_reported_when_fixed() -> None:
    """known_gap is a strict xfail: a failing case xfails, a passing one fails until unmarked."""
    expect = {"known_gap": "class 4: wrap inside a token", "failures": [{"action": "a:B"}]}
    gap = Case("x-gap", REAL_DIR / "x-gap.txt", expect)
    still = verdict(gap, score(gap, []))
    assert still[0] == "xfail"
    assert still[1].startswith("known gap: class 4: wrap inside a token (x-gap: missed failure 1")
    fixed = verdict(gap, score(gap, [_found(action="a:B")]))
    assert fixed == (
        "fail",
        "x-gap passes now: remove its known_gap (class 4: wrap inside a token)",
    )
    plain = Case("x-ok", REAL_DIR / "x-ok.txt", {"failures": [{"action": "a:B"}]})
    assert verdict(plain, score(plain, [_found(action="a:B")])) == ("pass", "")
    assert verdict(plain, score(plain, []))[0] == "fail"
