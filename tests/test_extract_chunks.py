"""Chunk boundaries never split, lose or change a failure (issue 7).

The incremental ``Extractor`` is fed the same bytes cut at arbitrary points;
what it returns must equal the one-shot result, field for field, including
the line number and byte offset of every failure.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnostics.extract import Extractor
from diagnostics.model import Failure, InputStats

FORMATS = Path(__file__).resolve().parent / "fixtures" / "formats"

#: Line-oriented fixtures; whole JSON documents are parsed whole by extract_stream instead.
_TEXT_CASES = sorted(
    p
    for p in FORMATS.iterdir()
    if p.suffix in (".log", ".txt", ".md", ".jsonl") and not p.name.endswith(".expected.json")
)
CORPUS = b"".join(p.read_bytes().rstrip(b"\n") + b"\n" for p in _TEXT_CASES)

#: Self-contained samples for the exhaustive split tests (independent of the corpus).
BLOB = "AbC-dEf_" * 90 + "XyZ0123456789"
WRAPPED = (
    "provision.sh: run-instances failed: Encoded authorization failure message: "
    + "\\\n".join(BLOB[i : i + 131] for i in range(0, len(BLOB), 131))
    + "\nprovision.sh: giving up\n"
).encode()
TWO_ON_ONE_LINE = (
    b"sync: copy failed (User: arn:aws:sts::123456789012:assumed-role/r/alice is not authorized to "
    b'perform: s3:GetObject on resource: "arn:aws:s3:::reports/q1.csv" because no identity-based '
    b"policy allows the s3:GetObject action); publish failed (User: arn:aws:sts::123456789012:"
    b"assumed-role/r/alice is not authorized to perform: sns:Publish on resource: arn:aws:sns:"
    b"eu-west-1:123456789012:ready with an explicit deny in an identity-based policy)\n"
)
BOXED = (
    "╷\n│ Error: creating EC2 Instance: operation error EC2: RunInstances, https response error "
    "StatusCode: 403, RequestID: 5b7f, api error UnauthorizedOperation: You are not authorized to "
    "perform this operation. User: arn:aws:sts::123456789012:assumed-role/tf/s is not "
    "authorized to perform: ec2:RunInstances on resource: "
    "arn:aws:ec2:us-east-1:123456789012:instance/* because no "
    f"identity-based policy allows the ec2:RunInstances action. Encoded authorization failure "
    f"message: {BLOB}\n│ \n╵\n"
).encode()


def _key(f: Failure) -> tuple[object, ...]:
    return (*f.dedup_key(), f.source, f.truncated, f.operation, f.error_code, f.excerpt)


def _run(data: bytes, cuts: list[int]) -> tuple[list[tuple[object, ...]], InputStats]:
    stats = InputStats()
    ext = Extractor("corpus.log", stats=stats, max_line_bytes=64 * 1024)
    out: list[Failure] = []
    last = 0
    safe = 0
    for cut in [*sorted(cuts), len(data)]:
        out.extend(ext.feed(data[last:cut]))
        assert safe <= ext.safe_offset <= cut  # the checkpoint never runs ahead or back
        safe = ext.safe_offset
        last = cut
    out.extend(ext.finish())
    assert ext.safe_offset == len(data)
    return [_key(f) for f in out], stats


ONE_SHOT, ONE_SHOT_STATS = _run(CORPUS, [])


def test_one_shot_finds_the_corpus() -> None:
    """The concatenated line-oriented corpus yields failures, and counts every line."""
    assert len(_TEXT_CASES) >= 20
    assert len(ONE_SHOT) >= len(_TEXT_CASES) // 2
    assert ONE_SHOT_STATS.lines == CORPUS.count(b"\n") + (0 if CORPUS.endswith(b"\n") else 1)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=len(CORPUS)), max_size=40))
def test_arbitrary_chunking_matches_one_shot(cuts: list[int]) -> None:
    """Feeding the corpus cut at any points gives exactly the one-shot failures."""
    got, stats = _run(CORPUS, cuts)
    assert got == ONE_SHOT
    assert stats.lines == ONE_SHOT_STATS.lines


def test_every_split_point_of_a_wrapped_failure() -> None:
    """A two-chunk split at every byte of a wrapped blob and a plain sentence changes nothing."""
    data = WRAPPED + TWO_ON_ONE_LINE
    expected, _ = _run(data, [])
    assert len(expected) == 3
    assert expected[0][1] == BLOB
    for cut in range(0, len(data) + 1, 3):
        got, _ = _run(data, [cut])
        assert got == expected, cut


def test_multibyte_characters_split_between_chunks() -> None:
    """A chunk that ends inside a UTF-8 character (Terraform's box) is not counted invalid."""
    data = BOXED
    box = data.index("│".encode())
    got, stats = _run(data, [box + 1, box + 2])
    assert got == _run(data, [])[0]
    assert stats.invalid_utf8 == 0


def test_byte_at_a_time() -> None:
    """Feeding one byte per call still finds the modern EC2 failure exactly once."""
    data = BOXED
    got, _ = _run(data, list(range(len(data))))
    assert got == _run(data, [])[0]
    assert len(got) == 1
