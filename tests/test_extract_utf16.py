"""Logs saved by PowerShell (UTF-16LE, with or without a BOM) are read, not skipped as binary."""

from __future__ import annotations

import codecs
import io
import subprocess
import sys
from pathlib import Path

import pytest

from diagnostics.extract import extract_stream
from diagnostics.extract.inputs.utf16 import Utf16Reader, utf16_encoding
from diagnostics.model import InputStats

BLOB = "Zq3-" + "AbCdEfGh0123_-xY" * 40
# What `aws ec2 run-instances ... 2>&1 > run.log` leaves in Windows PowerShell 5.1:
# CRLF lines, the CLI's blank line and its error line.
LOG = (
    "PS C:\\deploy> aws ec2 run-instances --image-id ami-0abc --instance-type t3.micro\r\n"
    "\r\n"
    "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: "
    "You are not authorized to perform this operation. "
    f"Encoded authorization failure message: {BLOB}\r\n"
    "PS C:\\deploy> aws s3 cp .\\build.zip s3://artifacts-bucket/build.zip\r\n"
    "upload failed: .\\build.zip to s3://artifacts-bucket/build.zip An error occurred "
    "(AccessDenied) when calling the PutObject operation: User: arn:aws:iam::111122223333:user/"
    'José is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::artifacts-bucket/'
    'build.zip" because no identity-based policy allows the s3:PutObject action\r\n'
)


def _failures(data: bytes) -> tuple[list[tuple[str, str | None, str | None]], InputStats]:
    stats = InputStats()
    found = list(extract_stream(io.BytesIO(data), "run.log", stats))
    return [(f.kind, f.action, f.principal_arn) for f in found], stats


EXPECTED = [
    ("encoded", None, None),
    ("plain", "s3:PutObject", "arn:aws:iam::111122223333:user/José"),
]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(LOG.encode("utf-16"), id="utf-16-bom-native"),
        pytest.param(codecs.BOM_UTF16_LE + LOG.encode("utf-16-le"), id="utf-16le-bom"),
        pytest.param(LOG.encode("utf-16-le"), id="utf-16le-no-bom"),
        pytest.param(codecs.BOM_UTF16_BE + LOG.encode("utf-16-be"), id="utf-16be-bom"),
        pytest.param(LOG.encode("utf-16-be"), id="utf-16be-no-bom"),
    ],
)
def test_utf16_log_gives_its_failures(data: bytes) -> None:
    """Both denials of a UTF-16 log are found, with no binary-file warning."""
    found, stats = _failures(data)
    assert [(k, p) for k, _, p in found] == [(k, p) for k, _, p in EXPECTED]
    assert found[1][1] == "s3:PutObject"
    assert stats.warnings == [] and stats.rejected == 0


def test_same_failures_as_the_utf8_log() -> None:
    """A UTF-16 log and the same log in UTF-8 give the same failures (blob included)."""
    stats = InputStats()
    utf8 = list(extract_stream(io.BytesIO(LOG.encode()), "run.log", stats))
    utf16 = list(extract_stream(io.BytesIO(LOG.encode("utf-16")), "run.log", InputStats()))
    assert [f.dedup_key() for f in utf16] == [f.dedup_key() for f in utf8]
    assert utf16[0].encoded_message == BLOB


class _Trickle(io.RawIOBase):
    """A pipe that hands out one byte per read: code units arrive split."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._data[self._pos : self._pos + 1]
        self._pos += len(chunk)
        return chunk


def test_reader_joins_code_units_split_between_reads() -> None:
    """A code unit or surrogate pair cut between two reads still decodes whole."""
    text = "a😀b José\r\n"
    reader = Utf16Reader(_Trickle(text.encode("utf-16-le")), "utf-16-le")
    out = b"".join(iter(lambda: reader.read(1), b""))
    assert out.decode("utf-8") == text


def test_sniffing() -> None:
    """UTF-16 is known by its BOM or by NUL-interleaved ASCII; UTF-8 and binary are not."""
    assert utf16_encoding("ok\r\n".encode("utf-16")) == "utf-16"  # short: the BOM decides
    assert utf16_encoding("ログ: アクセス拒否\r\n".encode("utf-16") * 4) == "utf-16"
    # FF FE before UTF-8 text is a broken line, not a BOM.
    assert utf16_encoding(b"\xff\xfe broken \xc3\x28\nUser: arn:aws:iam::1:user/x\n") is None
    assert utf16_encoding("hello world, this is a log".encode("utf-16-le")) == "utf-16-le"
    assert utf16_encoding("hello world, this is a log".encode("utf-16-be")) == "utf-16-be"
    assert utf16_encoding(b"plain utf-8 log line\n") is None
    assert utf16_encoding(bytes(range(256))) is None
    assert utf16_encoding("short".encode("utf-16-le")) is None  # too little to tell


def test_binary_file_is_still_skipped() -> None:
    """A binary file with NULs is neither read as UTF-16 nor searched: a warning says so."""
    data = bytes((i * 37) % 256 for i in range(4096))
    found, stats = _failures(data)
    assert found == [] and stats.rejected == 1 and "binary file" in stats.warnings[0]


def test_cli_scan_reads_a_powershell_log(tmp_path: Path) -> None:
    """`authz-diag scan` on a saved PowerShell log reports its denials (exit 1), stdin too."""
    path = tmp_path / "run.log"
    path.write_bytes(LOG.encode("utf-16"))
    argv = [sys.executable, "-m", "diagnostics", "scan", "--no-decode", "--format", "json"]
    done = subprocess.run([*argv, str(path)], capture_output=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert done.stdout.count(b"\n") == 2 and b"binary" not in done.stderr
    piped = subprocess.run(
        [*argv, "-"], input=path.read_bytes(), capture_output=True, timeout=120, check=False
    )
    assert piped.returncode == 1 and piped.stdout.count(b"\n") == 2
