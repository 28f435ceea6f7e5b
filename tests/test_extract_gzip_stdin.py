"""gzip is known by its magic bytes on stdin too, under the same bomb and truncation limits."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
from pathlib import Path

from diagnostics.extract import extract_stream
from diagnostics.model import InputStats

REPO = Path(__file__).resolve().parents[1]
AUTHZ_DIAG = str(Path(sys.executable).parent / "authz-diag")
DELIVERY = next((REPO / "examples" / "cloudtrail").rglob("*.json.gz"))


def test_a_gzipped_cloudtrail_delivery_piped_to_scan_is_read() -> None:
    """`cat x.json.gz | authz-diag scan -` finds the same failures as naming the file."""
    piped = subprocess.run(
        [AUTHZ_DIAG, "scan", "-", "--no-decode", "--format", "json"],
        input=DELIVERY.read_bytes(),
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"},
    )
    named = subprocess.run(
        [AUTHZ_DIAG, "scan", str(DELIVERY), "--no-decode", "--format", "json"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert piped.returncode == 1, piped.stderr
    assert b"binary" not in piped.stderr
    assert len(piped.stdout.splitlines()) == len(named.stdout.splitlines()) > 0


def test_gzipped_log_lines_on_stdin_are_read() -> None:
    """A gzipped Terraform log on stdin gives its failures, not a 'binary file' warning."""
    raw = (REPO / "examples" / "terraform-apply.log").read_bytes()
    stats = InputStats()
    plain = list(extract_stream(io.BytesIO(raw), "-", InputStats()))
    zipped = list(extract_stream(io.BytesIO(gzip.compress(raw)), "-", stats))
    assert [f.encoded_message for f in zipped] == [f.encoded_message for f in plain]
    assert plain and not stats.warnings


def test_a_truncated_gzip_on_stdin_warns_and_keeps_what_was_read() -> None:
    """A cut gzip stream warns that it ends early; nothing crashes."""
    data = gzip.compress((REPO / "examples" / "aws-cli.txt").read_bytes() * 50)
    stats = InputStats()
    list(extract_stream(io.BytesIO(data[: len(data) // 2]), "-", stats))
    assert any("ends early" in w for w in stats.warnings)
    assert stats.rejected == 1


def test_a_gzip_bomb_on_stdin_stops_at_the_cap() -> None:
    """A stream that expands past the cap is cut with a warning naming the bomb."""
    from diagnostics.extract.inputs import files

    bomb = gzip.compress(b"A" * (4 << 20))
    stats = InputStats()
    list(files._extract_gzip(io.BytesIO(bomb), "-", stats, 1 << 20, 1 << 20))
    assert any("gzip bomb" in w for w in stats.warnings)
