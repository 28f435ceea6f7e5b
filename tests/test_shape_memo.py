"""The shape memo: failures differing only in the digits of their names share a verdict.

``Pipeline(shape_memo_size=0)`` turns it off; ``ShapeMemo.probation = None``
keeps it on however little it hits, so these tests exercise it on every input.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from diagnostics.diagnose.pipeline import JUDGED_FIELDS, Pipeline, Verdict
from diagnostics.diagnose.shape_memo import SLOTTED, ShapeMemo, ShapeReader
from diagnostics.extract import extract_path
from diagnostics.model import Diagnosis, Failure, Finding, InputStats, SourceRef
from diagnostics.render import jsonl
from diagnostics.rules import RuleSet, bundled_rules_dir
from diagnostics.run.scan import folded

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT / "bench"))


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return RuleSet.load([bundled_rules_dir()])


def _pipeline(ruleset: RuleSet, *, memo: bool) -> Pipeline:
    # No exact-verdict memo either way: every failure reaches the shape memo or the rules.
    pipeline = Pipeline(ruleset, memo_size=0, shape_memo_size=4096 if memo else 0)
    if pipeline.shapes is not None:
        pipeline.shapes.probation = None
    return pipeline


def _json(pipeline: Pipeline, failures: Iterable[Failure]) -> bytes:
    return b"".join(jsonl.render(d) for d in pipeline.diagnose(failures))


def _distinct(files: list[Path]) -> list[Failure]:
    stats = InputStats()
    failures = (f for p in files for f in extract_path(p, stats))
    return [e.failure for e in folded(failures, stats)]


def _same_json_with_and_without(files: list[Path], ruleset: RuleSet) -> ShapeMemo:
    distinct = _distinct(files)
    want = _json(_pipeline(ruleset, memo=False), distinct)
    on = _pipeline(ruleset, memo=True)
    got = _json(on, distinct)
    assert got == want
    assert on.shapes is not None
    return on.shapes


def test_fixtures_and_real_corpus_give_the_same_json_with_the_shape_memo(ruleset: RuleSet) -> None:
    """Every fixture and real pasted text prints the same bytes with the memo on and off."""
    files = sorted(
        p
        for p in FIXTURES.rglob("*")
        if p.is_file() and not p.name.endswith((".expected.json", ".expect.json"))
    )
    assert len(files) > 400
    assert len(list((FIXTURES / "real").glob("*.txt"))) > 0
    memo = _same_json_with_and_without(files, ruleset)
    assert memo.misses > 0  # templates were built and checked at all


def test_generated_dense_and_application_logs_give_the_same_json(
    ruleset: RuleSet, tmp_path: Path
) -> None:
    """P7's dense generator and the application-log generator: same bytes, and fills happen."""
    from gen_dense import ensure_dense  # type: ignore[import-not-found]
    from generate import ensure_applog  # type: ignore[import-not-found]

    dense, app = tmp_path / "dense.log", tmp_path / "app.log"
    ensure_dense(dense, 600_000, 3)
    ensure_applog(app, 1 << 20, 5, 200.0)
    for log in (dense, app):
        memo = _same_json_with_and_without([log], ruleset)
        assert memo.hits > 0, log.name


def _denial(resource: str, session: str = "run-8", **changes: object) -> Failure:
    failure = Failure(
        kind="plain",
        source=SourceRef("app.log", 1, 0),
        principal_arn=f"arn:aws:sts::111122223333:assumed-role/orders-api/{session}",
        account_id="111122223333",
        action="dynamodb:GetItem",
        resource=resource,
        policy_type="identity",
        explicit_deny=False,
        error_code="AccessDeniedException",
        region="eu-west-1",
    )
    return dataclasses.replace(failure, **changes)  # type: ignore[arg-type]


def _table(n: int) -> str:
    return f"arn:aws:dynamodb:eu-west-1:111122223333:table/Orders{n}"


def test_each_failure_gets_its_own_resource_in_the_fix(ruleset: RuleSet) -> None:
    """Three tables of one shape: the third is filled, and names its own table, not the first's."""
    pipeline = _pipeline(ruleset, memo=True)
    failures = [_denial(_table(n), session=f"run-{n}") for n in (17, 42, 93)]
    diagnoses = list(pipeline.diagnose(failures))
    assert pipeline.shapes is not None and pipeline.shapes.hits == 1
    for n, diagnosis in zip((17, 42, 93), diagnoses, strict=True):
        [finding] = [f for f in diagnosis.findings if f.fixes]
        [statement] = finding.fixes[0].statements
        assert statement["Resource"] == _table(n)
        assert _table(n) in finding.explanation
        assert f"run-{n}" in finding.explanation
        others = [_table(m) for m in (17, 42, 93) if m != n]
        assert not any(o in finding.explanation for o in others)
        assert all(_table(n) in v.message for v in diagnosis.verification)
    # And byte for byte what the rules say without the memo.
    assert _json(_pipeline(ruleset, memo=False), failures) == _json(
        _pipeline(ruleset, memo=True), failures
    )


def _key(failure: Failure, ruleset: RuleSet) -> tuple[object, ...]:
    shape = ShapeReader(JUDGED_FIELDS, ruleset.name_tests).shape(failure)
    assert shape is not None
    return shape.key


#: A different value for each judged field the slots do not cover.
CHANGES: dict[str, object] = {
    "kind": "cloudtrail",
    "action": "dynamodb:PutItem",
    "policy_type": "resource",
    "explicit_deny": True,
    "operation": "GetItem",
    "event_source": "dynamodb.amazonaws.com",
    "region": "eu-west-2",
    "error_code": "AccessDenied",
}


def test_every_judged_field_is_in_the_key_or_a_slotted_field() -> None:
    """A new judged field must be keyed: this list and the slots cover them all."""
    assert set(JUDGED_FIELDS) == set(CHANGES) | set(SLOTTED) | {"conditions"}


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_a_change_in_a_field_the_rules_read_misses_the_shape(field: str, ruleset: RuleSet) -> None:
    """Same names' shape, one judged field changed: another key, and no fill."""
    base = _denial(_table(17))
    changed = dataclasses.replace(base, **{field: CHANGES[field]})  # type: ignore[arg-type]
    assert _key(changed, ruleset) != _key(base, ruleset)
    pipeline = _pipeline(ruleset, memo=True)
    list(pipeline.diagnose([_denial(_table(n)) for n in (11, 12)]))
    changed = dataclasses.replace(_denial(_table(13)), **{field: CHANGES[field]})  # type: ignore[arg-type]
    list(pipeline.diagnose([changed]))
    assert pipeline.shapes is not None and pipeline.shapes.hits == 0


@pytest.mark.parametrize(
    ("other", "why"),
    [
        (_denial(_table(170)), "a longer number"),
        (_denial("arn:aws:dynamodb:eu-west-1:111122223333:table/Orders1a"), "a hex letter"),
        (_denial(_table(17), session="run-17"), "two slots now equal"),
        (_denial("arn:aws:dynamodb:eu-west-1:444455556666:table/Orders17"), "another account"),
        (_denial("arn:aws:dynamodb:eu-west-1:111122223333:table/Carts17"), "another word"),
        (_denial(_table(17), principal_arn="arn:aws:iam::111122223333:user/orders-api"), "a user"),
    ],
)
def test_what_the_key_keeps_of_the_names(other: Failure, why: str, ruleset: RuleSet) -> None:
    """Length, mask, equalities, accounts and words split shapes; digits alone do not."""
    base = _denial(_table(17))
    assert _key(_denial(_table(42), session="run-8"), ruleset) == _key(base, ruleset)
    assert _key(other, ruleset) != _key(base, ruleset), why


def test_a_rule_glob_on_a_digit_splits_the_shape(tmp_path: Path) -> None:
    """A user's rule matching Orders1* tells Orders17 from Orders42: they must not share."""
    (tmp_path / "orders-one.toml").write_text(
        'id = "orders-one"\ntitle = "t"\nseverity = "low"\nstatus = "stable"\n'
        'description = "d"\nexplanation = "Orders one: {resource}."\n'
        '[match]\nresource = "arn:aws:dynamodb:*:*:table/Orders1*"\n'
    )
    ruleset = RuleSet.load([bundled_rules_dir(), tmp_path])
    assert _key(_denial(_table(17)), ruleset) != _key(_denial(_table(42)), ruleset)
    assert _key(_denial(_table(17)), ruleset) == _key(_denial(_table(13)), ruleset)
    failures = [_denial(_table(n)) for n in (17, 13, 42, 55, 19)]
    assert _json(_pipeline(ruleset, memo=True), failures) == _json(
        _pipeline(ruleset, memo=False), failures
    )


def test_name_matchers_read_only_the_resource_and_principal(ruleset: RuleSet) -> None:
    """name_tests hands matchers a two-field object: one reading more would raise here."""
    answers = ruleset.name_tests(
        "arn:aws:s3:::bucket-1/key", "arn:aws:iam::111122223333:oidc-provider/oidc.eks.x"
    )
    assert answers and any(answers)


def _fake_compute(cut: bool) -> object:
    def compute(failure: Failure) -> Verdict:
        text = failure.resource or ""
        # A rule that printed only part of a name would put a piece of a stand-in out.
        shown = text[:-1] if cut else text
        return (Finding("r", "t", "low", f"denied on {shown}"),), ()

    return compute


def test_a_verdict_holding_part_of_a_name_never_fills(ruleset: RuleSet) -> None:
    """A cut slot leaves part of the stand-in behind: the shape is unsafe, every failure judged."""
    memo = ShapeMemo(64, JUDGED_FIELDS, probation=None)
    compute = _fake_compute(cut=True)
    for n in (17, 42, 63, 55):
        verdict = memo.judge(_denial(_table(n)), ruleset, compute)  # type: ignore[arg-type]
        assert verdict[0][0].explanation == f"denied on {_table(n)[:-1]}"
    assert memo.unsafe == 1 and memo.hits == 0
    whole = ShapeMemo(64, JUDGED_FIELDS, probation=None)
    for n in (17, 42, 63, 55):
        verdict = whole.judge(_denial(_table(n)), ruleset, _fake_compute(cut=False))  # type: ignore[arg-type]
        assert verdict[0][0].explanation == f"denied on {_table(n)}"
    assert whole.hits == 2 and whole.unsafe == 0


def test_the_shape_memo_is_bounded(ruleset: RuleSet) -> None:
    memo = ShapeMemo(8, JUDGED_FIELDS, probation=None)
    compute = _fake_compute(cut=False)
    for n in range(40):
        actions = f"dynamodb:Action{chr(65 + n % 26)}{n // 26}"
        memo.judge(_denial(_table(n), action=actions), ruleset, compute)  # type: ignore[arg-type]
    assert len(memo) == 8


def test_it_turns_itself_off_when_shapes_do_not_repeat(ruleset: RuleSet) -> None:
    """Every failure a new shape: after its probation the memo stops reading shapes."""
    memo = ShapeMemo(4096, JUDGED_FIELDS, probation=16)
    compute = _fake_compute(cut=False)
    for n in range(40):
        failure = _denial(_table(n), action=f"dynamodb:Get{chr(65 + n % 26)}{n}")
        memo.judge(failure, ruleset, compute)  # type: ignore[arg-type]
    assert not memo.active and memo.shaped == 16 and len(memo) == 0


def test_the_diagnosis_is_unchanged_when_the_memo_turns_off(ruleset: RuleSet) -> None:
    """Turning off mid-run changes no output: the same bytes as a run without it."""
    failures = [_denial(_table(n), action=f"dynamodb:Get{chr(65 + n % 26)}") for n in range(60)]
    pipeline = Pipeline(ruleset, memo_size=0)
    assert pipeline.shapes is not None
    pipeline.shapes.probation = 20
    got = b"".join(jsonl.render(d) for d in pipeline.diagnose(failures))
    assert got == _json(_pipeline(ruleset, memo=False), failures)
    assert isinstance(next(iter(pipeline.diagnose(failures[:1]))), Diagnosis)
