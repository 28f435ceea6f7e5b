"""Smoke tests of the benchmark suite: reproducible corpora, honest manifests, working harness."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
GENERATE = BENCH / "generate.py"
AUTHZ_CODES = {"AccessDenied", "AccessDeniedException", "Client.UnauthorizedOperation"}


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The bench/ modules, importable by their flat names as the scripts import them."""
    monkeypatch.syspath_prepend(str(BENCH))
    import generate

    return generate


def _generate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATE), *args], capture_output=True, text=True, check=False
    )


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_applog_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    """Two runs with one seed write the same log and manifest; another seed writes another log."""
    paths = [tmp_path / "a.log", tmp_path / "b.log", tmp_path / "c.log"]
    for path, seed in zip(paths, ("5", "5", "6"), strict=True):
        done = _generate("applog", "--size", "256K", "--seed", seed, "--out", str(path))
        assert done.returncode == 0, done.stderr
        assert "expected failures:" in done.stdout
    a, b, c = (p.read_bytes() for p in paths)
    assert a == b
    assert a != c
    ma, mb = (json.loads(p.with_name(p.name + ".manifest.json").read_text()) for p in paths[:2])
    ma.pop("path"), mb.pop("path")
    assert ma == mb
    assert len(a) >= 256 * 1024


def test_applog_manifest_matches_what_is_in_the_file(tmp_path: Path) -> None:
    """The manifest's grep count equals real grep's, and each failure block holds its marker."""
    log = tmp_path / "app.log"
    done = _generate(
        "applog", "--size", "512K", "--seed", "2", "--failures-per-mib", "40", "--out", str(log)
    )
    assert done.returncode == 0, done.stderr
    manifest = json.loads(log.with_name("app.log.manifest.json").read_text())
    grep = subprocess.run(
        ["grep", "-cE", "Encoded authorization failure message|is not authorized to perform", log],
        capture_output=True,
        text=True,
        check=False,
    )
    assert int(grep.stdout) == manifest["grep_matching_lines"]
    lines = log.read_bytes().split(b"\n")
    assert len(lines) - 1 == manifest["lines"]
    assert manifest["expected"]["failures"] == len(manifest["failures_at"]) >= 15
    for first, last, fmt, kind, _crlf in manifest["failures_at"]:
        block = b"".join(lines[first - 1 : last]).replace(b"\r", b"").replace("│ ".encode(), b"")
        if kind == "encoded":
            assert b"Encoded authorization failure message: " in block, fmt
        else:
            assert b"is not authorized to perform: " in block, fmt
    assert sum(manifest["near_misses"].values()) > 0


def test_cloudtrail_tree_is_reproducible_and_its_counts_are_true(tmp_path: Path) -> None:
    """Same seed, same tree; the manifest's error and authz counts match the records written."""
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        done = _generate(
            "cloudtrail", "--files", "4", "--records", "200", "--seed", "9", "--out", str(out)
        )
        assert done.returncode == 0, done.stderr
    assert _tree_digest(a) == _tree_digest(b)
    files = sorted(a.rglob("*.json.gz"))
    assert len(files) == 4
    for f in files:
        parts = f.relative_to(a).parts
        assert parts[0] == "AWSLogs" and parts[2] == "CloudTrail" and len(parts[1]) == 12
        assert f.name.startswith(f"{parts[1]}_CloudTrail_{parts[3]}_")
    records = [r for f in files for r in json.loads(gzip.decompress(f.read_bytes()))["Records"]]
    manifest = json.loads((tmp_path / "a.manifest.json").read_text())
    assert len(records) == manifest["records"] == 800
    assert sum(1 for r in records if "errorCode" in r) == manifest["expected"]["records_with_error"]
    authz = sum(1 for r in records if r.get("errorCode") in AUTHZ_CODES)
    assert authz == manifest["expected"]["failures"] > 0
    assert len({r["eventID"] for r in records}) == 800


def test_generator_rejects_a_size_it_cannot_read(tmp_path: Path) -> None:
    """A malformed --size exits 2 and says what a size looks like."""
    done = _generate("applog", "--size", "12X", "--out", str(tmp_path / "x.log"))
    assert done.returncode == 2
    assert "512M" in done.stderr
    assert not (tmp_path / "x.log").exists()


def test_parse_size_uses_binary_units(bench: ModuleType) -> None:
    """512M means 512 MiB, and a bare number is bytes."""
    assert bench.parse_size("512M") == 512 * 1024 * 1024
    assert bench.parse_size("64K") == 65536
    assert bench.parse_size("1G") == 1 << 30
    assert bench.parse_size("1000") == 1000


def test_update_section_replaces_in_place_and_appends_when_missing(
    bench: ModuleType, tmp_path: Path
) -> None:
    """Re-running a benchmark rewrites only its own section of BENCHMARKS.md."""
    import harness

    md = tmp_path / "BENCHMARKS.md"
    md.write_text("# B\n\n<!-- bench:P1 begin -->\nold\n<!-- bench:P1 end -->\n\nkeep me\n")
    harness.update_section("P1", "new table", md)
    harness.update_section("P9", "appended", md)
    text = md.read_text()
    assert "old" not in text
    assert "<!-- bench:P1 begin -->\nnew table\n<!-- bench:P1 end -->" in text
    assert text.index("keep me") < text.index("appended")
    harness.update_section("P1", "newer", md)
    assert md.read_text().count("bench:P1 begin") == 1


def test_max_in_window_counts_the_busiest_second(bench: ModuleType) -> None:
    """The rate-limit check finds the most calls in any one-second window."""
    import p3_decode

    assert p3_decode.max_in_window([]) == 0
    assert p3_decode.max_in_window([0.0, 0.5, 0.99, 1.0, 1.5]) == 3
    assert p3_decode.max_in_window([0.0, 2.0, 4.0]) == 1


def test_p1_harness_runs_on_a_tiny_corpus_and_writes_its_section(tmp_path: Path) -> None:
    """P1 generates its corpus, times scan against grep and records a section with correctness."""
    md = tmp_path / "BENCHMARKS.md"
    md.write_text("# Benchmarks\n")
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH / "p1_scan.py"),
            "--size=256K",
            "--runs=1",
            f"--out={tmp_path}",
            f"--md={md}",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    section = md.read_text()
    assert "<!-- bench:P1 begin -->" in section
    assert "| grep -cE |" in section and "| authz-diag scan |" in section
    assert "Correctness:" in section and "expected" in section
    assert (tmp_path / "p1-scan.jsonl").exists()


def test_line_count_bench_agrees_with_wc_and_writes_its_section(tmp_path: Path) -> None:
    """The watch-start line count matches `wc -l` on a generated log and records the ratio."""
    md = tmp_path / "BENCHMARKS.md"
    md.write_text("# Benchmarks\n")
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH / "line_count.py"),
            "--size=256K",
            "--runs=1",
            f"--out={tmp_path}",
            f"--md={md}",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    section = md.read_text()
    assert "<!-- bench:watch-line-count begin -->" in section
    assert "(agree)" in section
    assert "| wc -l |" in section and "| line_at (watch start) |" in section


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_p2_harness_runs_on_a_tiny_tree(tmp_path: Path) -> None:
    """P2 times scan, zlib, zcat and jq on a two-file tree; jq sees every errored record."""
    md = tmp_path / "BENCHMARKS.md"
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH / "p2_cloudtrail.py"),
            "--files=2",
            "--runs=1",
            f"--out={tmp_path}",
            f"--md={md}",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    text = md.read_text()
    manifest = json.loads((tmp_path / "cloudtrail-2-s1.manifest.json").read_text())
    errored = manifest["expected"]["records_with_error"]
    assert f"printed {errored} records with an errorCode (generator: {errored})" in text
    assert "| zlib only (Python) |" in text and "| zcat piped to jq |" in text
