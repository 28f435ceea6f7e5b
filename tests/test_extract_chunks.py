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

#: Line-oriented fixtures (not whole JSON documents, which extract_stream parses whole).
_TEXT_CASES = (
    "aws_cli_modern_ec2.txt",
    "terraform_box_go_sdk_v2.txt",
    "terraform_wrapped_blob.txt",
    "packer_three_times_decoded.txt",
    "wrapped_backslash.txt",
    "wrapped_plain_breaks.txt",
    "wrapped_fixed_column.txt",
    "two_failures_one_line.txt",
    "karpenter_json_line.log",
    "crlf_kms_this_resource.txt",
    "ansi_colour_terraform.txt",
    "cloudtrail_json_lines.jsonl",
    "negative_unrelated_access_denied.log",
    "decoded_cli_output_pasted.txt",
    "cut_off_at_eof.txt",
)
CORPUS = b"".join((FORMATS / name).read_bytes() for name in _TEXT_CASES)


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
    """The concatenated corpus yields every printed failure of its fixtures (Packer's three)."""
    # 1 per positive fixture, 2 for two_failures_one_line and the JSON lines, 4 for Packer.
    assert len(ONE_SHOT) == 19
    assert ONE_SHOT_STATS.lines == CORPUS.count(b"\n") + (0 if CORPUS.endswith(b"\n") else 1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=len(CORPUS)), max_size=40))
def test_arbitrary_chunking_matches_one_shot(cuts: list[int]) -> None:
    """Feeding the corpus cut at any points gives exactly the one-shot failures."""
    got, stats = _run(CORPUS, cuts)
    assert got == ONE_SHOT
    assert stats.lines == ONE_SHOT_STATS.lines


def test_every_split_point_of_a_wrapped_failure() -> None:
    """A two-chunk split at every byte of a wrapped blob and a plain sentence changes nothing."""
    data = (FORMATS / "wrapped_backslash.txt").read_bytes() + (
        FORMATS / "two_failures_one_line.txt"
    ).read_bytes()
    expected, _ = _run(data, [])
    assert len(expected) == 3
    for cut in range(0, len(data) + 1, 3):
        got, _ = _run(data, [cut])
        assert got == expected, cut


def test_multibyte_characters_split_between_chunks() -> None:
    """A chunk that ends inside a UTF-8 character (Terraform's box) is not counted invalid."""
    data = (FORMATS / "terraform_box_go_sdk_v2.txt").read_bytes()
    box = data.index("│".encode())
    got, stats = _run(data, [box + 1, box + 2])
    assert got == _run(data, [])[0]
    assert stats.invalid_utf8 == 0


def test_byte_at_a_time() -> None:
    """Feeding one byte per call still finds the modern EC2 failure exactly once."""
    data = (FORMATS / "aws_cli_modern_ec2.txt").read_bytes()
    got, _ = _run(data, list(range(len(data))))
    assert got == _run(data, [])[0]
    assert len(got) == 1
