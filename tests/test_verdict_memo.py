"""The pipeline's verdict memo: a repeat of what the rules read is judged once, same output.

The memo (``Pipeline(memo_size=...)``) keys on the fields of a failure the
rules, the request context and the fix check read; where and how the
failure was printed (source, excerpt, blob, quoted text) is not part of it.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from unittest.mock import patch

import pytest

from diagnostics.diagnose.pipeline import JUDGED_FIELDS, UNJUDGED_FIELDS, Pipeline
from diagnostics.extract import extract_path
from diagnostics.model import Failure, InputStats, SourceRef
from diagnostics.render import jsonl
from diagnostics.rules import RuleSet, bundled_rules_dir
from diagnostics.run.scan import folded

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT / "bench"))


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return RuleSet.load([bundled_rules_dir()])


def _denial(blob: str, line: int) -> Failure:
    return Failure(
        kind="encoded",
        source=SourceRef("ci.log", line, line * 100),
        principal_arn="arn:aws:sts::111122223333:assumed-role/ci-deployer/run-1",
        action="ec2:RunInstances",
        resource="arn:aws:ec2:us-east-1:111122223333:instance/*",
        encoded_message=blob,
        operation="RunInstances",
        error_code="UnauthorizedOperation",
        excerpt=f"attempt {line}: {blob}",
    )


def test_a_retry_with_a_new_blob_is_judged_once(ruleset: RuleSet) -> None:
    """Three retries of one EC2 call, each with its own blob, run the rules once."""
    pipeline = Pipeline(ruleset)
    calls = []
    real = ruleset.diagnose

    def counted(*args: object) -> object:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    with patch.object(ruleset, "diagnose", counted):
        diagnoses = list(pipeline.diagnose([_denial(f"blob{i}", i) for i in (1, 2, 3)]))
    assert len(calls) == 1
    assert [d.failure.source.line for d in diagnoses] == [1, 2, 3]
    assert [d.failure.encoded_message for d in diagnoses] == ["blob1", "blob2", "blob3"]
    assert diagnoses[0].findings and diagnoses[1].findings == diagnoses[0].findings


def test_every_failure_field_is_either_judged_or_not() -> None:
    """A new Failure field must be declared read by the rules or not, so the memo stays right."""
    names = {f.name for f in dataclasses.fields(Failure)}
    assert set(JUDGED_FIELDS) | set(UNJUDGED_FIELDS) == names
    assert not set(JUDGED_FIELDS) & set(UNJUDGED_FIELDS)


def _json_lines(files: list[Path], ruleset: RuleSet, memo_size: int) -> tuple[bytes, int]:
    """The scan's JSON lines for ``files`` (repeats folded) and how often the rules ran."""
    stats = InputStats()
    failures = (f for p in files for f in extract_path(p, stats))
    distinct = [e.failure for e in folded(failures, stats)]
    pipeline = Pipeline(ruleset, memo_size=memo_size)
    calls = [0]
    real = ruleset.diagnose

    def counted(*args: object) -> object:
        calls[0] += 1
        return real(*args)  # type: ignore[arg-type]

    with patch.object(ruleset, "diagnose", counted):
        out = b"".join(jsonl.render(d) for d in pipeline.diagnose(distinct))
    return out, calls[0]


def _same_with_and_without_memo(files: list[Path], ruleset: RuleSet) -> tuple[int, int]:
    """Assert the memo changes no byte; (rule runs with it, without it)."""
    want, unmemoised = _json_lines(files, ruleset, 0)
    got, memoised = _json_lines(files, ruleset, 4096)
    assert got == want
    return memoised, unmemoised


def test_real_corpus_and_fixtures_give_the_same_json_with_the_memo(ruleset: RuleSet) -> None:
    """Every fixture and real pasted text prints the same JSON with and without the memo."""
    files = sorted(
        p
        for p in FIXTURES.rglob("*")
        if p.is_file() and not p.name.endswith((".expected.json", ".expect.json"))
    )
    assert len(files) > 400
    memoised, unmemoised = _same_with_and_without_memo(files, ruleset)
    assert memoised < unmemoised  # the memo is exercised at all


def test_generated_corpora_give_the_same_json_with_the_memo(
    ruleset: RuleSet, tmp_path: Path
) -> None:
    """Generated dense and application logs print the same JSON with and without the memo."""
    from gen_dense import ensure_dense  # type: ignore[import-not-found]
    from generate import ensure_applog  # type: ignore[import-not-found]

    dense, app = tmp_path / "dense.log", tmp_path / "app.log"
    ensure_dense(dense, 400_000, 3)
    ensure_applog(app, 1 << 20, 5, 200.0)
    for log in (dense, app):
        memoised, unmemoised = _same_with_and_without_memo([log], ruleset)
        assert memoised < unmemoised


def test_the_memo_is_bounded(ruleset: RuleSet) -> None:
    """The memo never holds more verdicts than its size, however many distinct failures pass."""
    pipeline = Pipeline(ruleset, memo_size=8)
    failures = [
        dataclasses.replace(_denial("b", i), resource=f"arn:aws:s3:::bucket-{i}/k")
        for i in range(20)
    ]
    assert len(list(pipeline.diagnose(failures))) == 20
    assert len(pipeline._memo) == 8
