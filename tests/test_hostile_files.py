"""Nasty files through `authz-diag scan` (a subprocess) and, where it applies, `watch`.

Every case puts one good failure beside the nasty input, so "nothing crashed"
also means "the rest of the input was still read".
"""

from __future__ import annotations

import gzip
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import pytest
from test_watch_daemon import Daemon, append, file_source, line, write_config

GOOD = line(1, "good")
GOOD_RESOURCE = "arn:aws:s3:::bucket/good-1"

# Runs a command and prints its peak RSS in KB: RUSAGE_CHILDREN of a fresh
# parent covers only that command.
_RSS = (
    "import resource, subprocess, sys\n"
    "r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
    "sys.stdout.buffer.write(r.stdout)\n"
    "sys.stderr.buffer.write(r.stderr)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "sys.stderr.write('\\nPEAK_RSS_KB=%d\\n' % peak)\n"
    "sys.exit(r.returncode)\n"
)


def scan(*paths: Path | str, timeout: float = 120) -> tuple[int, list[dict[str, object]], str, int]:
    """(exit status, JSON diagnoses, stderr, peak RSS in KB) of `authz-diag scan --format json`."""
    argv = [sys.executable, "-m", "diagnostics", "scan", "--no-decode", "--format", "json"]
    res = subprocess.run(
        [sys.executable, "-c", _RSS, *argv, *map(str, paths)],
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    err = res.stderr.decode(errors="replace")
    rss = int(err.rsplit("PEAK_RSS_KB=", 1)[1].split()[0])
    out = [json.loads(x) for x in res.stdout.splitlines() if x.strip().startswith(b"{")]
    assert "Traceback" not in err, err
    return res.returncode, out, err, rss


def resources(out: list[dict[str, object]]) -> list[str]:
    return [str(d.get("resource")) for d in out]


def good_file(tmp_path: Path) -> Path:
    p = tmp_path / "good.log"
    p.write_text(GOOD)
    return p


@pytest.mark.slow
def test_gzip_bomb_is_capped_and_reported(tmp_path: Path) -> None:
    """A .gz expanding past 1 GiB is cut at the cap and named in a warning; memory stays low."""
    bomb = tmp_path / "bomb.log.gz"
    # Run-length matching makes the same ~1 MB file as level 9 in about a third of the CPU.
    comp = zlib.compressobj(9, zlib.DEFLATED, 31, 9, zlib.Z_RLE)
    block = b"\n" * (1 << 20)
    with bomb.open("wb") as fh:
        for _ in range(1100):  # 1.1 GiB of newlines, ~1 MB on disk
            fh.write(comp.compress(block))
        fh.write(comp.flush())
    rc, out, err, rss = scan(bomb, good_file(tmp_path), timeout=300)
    assert rc == 1
    assert resources(out) == [GOOD_RESOURCE]
    assert "bomb.log.gz" in err and "gzip bomb" in err
    assert rss < 300_000, f"peak RSS {rss} KB"


def test_truncated_json_gz_keeps_what_it_read(tmp_path: Path) -> None:
    """A CloudTrail .json.gz cut mid-stream is reported, and the other input still scanned."""
    data = gzip.compress(json.dumps({"Records": [{"eventName": "x"}] * 2000}).encode())
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(data[: len(data) // 2])
    rc, out, err, _ = scan(cut, good_file(tmp_path))
    assert rc == 1 and resources(out) == [GOOD_RESOURCE]
    assert "cut.json.gz" in err


@pytest.mark.slow
def test_100_mb_single_line_in_bounded_memory(tmp_path: Path) -> None:
    """A 100 MB line: cut and counted, the next line still found, peak RSS bounded."""
    big = tmp_path / "big.log"
    with big.open("wb") as fh:
        chunk = b"x" * (1 << 20)
        for _ in range(100):
            fh.write(chunk)
        fh.write(b"\n" + GOOD.encode())
    rc, out, _, rss = scan(big)
    assert rc == 1 and resources(out) == [GOOD_RESOURCE]
    assert rss < 200_000, f"peak RSS {rss} KB for a 100 MB line"
    print(f"100 MB line: peak RSS {rss / 1024:.1f} MB")


def test_invalid_utf8(tmp_path: Path) -> None:
    """Invalid UTF-8 before, inside and after a failure's line: the failure is found."""
    p = tmp_path / "mixed.log"
    p.write_bytes(
        b"\xff\xfe\xc3(garbage\n" + GOOD.encode().replace(b"ERROR", b"ERR\xc3OR") + b"\x80\n"
    )
    rc, out, _, _ = scan(p)
    assert rc == 1 and resources(out) == [GOOD_RESOURCE]


def test_nul_bytes_after_the_first_block(tmp_path: Path) -> None:
    """NUL bytes in the middle of a log (past its first block) do not hide the failures."""
    p = tmp_path / "nul.log"
    p.write_bytes(b"start\n" * 2000 + b"\x00" * 100 + b"\n" + GOOD.encode() + b"\x00\n")
    rc, out, _, _ = scan(p)
    assert rc == 1 and resources(out) == [GOOD_RESOURCE]


def test_nul_bytes_at_the_start_do_not_hide_the_log(tmp_path: Path) -> None:
    """A log starting with a NUL hole (copytruncate) is still read: its failure is found."""
    p = tmp_path / "nul.log"
    p.write_bytes(b"\x00" * 4096 + b"\n" + GOOD.encode())
    rc, out, err, _ = scan(p)
    assert rc == 1 and resources(out) == [GOOD_RESOURCE]
    assert "binary" not in err


def test_json_nested_100000_deep(tmp_path: Path) -> None:
    """A .json document nested 100,000 deep is rejected with a warning, not a RecursionError."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    rc, out, err, _ = scan(deep, good_file(tmp_path))
    assert rc == 1 and resources(out) == [GOOD_RESOURCE]
    assert "deep.json" in err


@pytest.mark.parametrize(
    "doc",
    [
        {"Records": "not a list"},
        {"Records": [1, None, "x", {"eventName": 5, "errorCode": ["AccessDenied"]}]},
        {"Records": [{"errorCode": "AccessDenied", "userIdentity": "not an object"}]},
        [{"detail": {"detail": {"detail": None}}}],
    ],
)
def test_cloudtrail_shaped_wrong_json(tmp_path: Path, doc: object) -> None:
    """Valid JSON in CloudTrail's place but the wrong shape: no crash, the rest is scanned."""
    p = tmp_path / "wrong.json"
    p.write_text(json.dumps(doc))
    rc, out, _, _ = scan(p, good_file(tmp_path))
    assert GOOD_RESOURCE in resources(out)
    assert rc == 1


def test_file_that_vanished_after_listing(tmp_path: Path) -> None:
    """A directory entry whose file is gone when opened (a dangling symlink, or deleted):
    reported by name, and the other files are scanned."""
    d = tmp_path / "logs"
    d.mkdir()
    (d / "good.log").write_text(GOOD)
    (d / "gone.log").symlink_to(d / "deleted-before-open.log")
    rc, out, err, _ = scan(d, tmp_path / "never-existed.log")
    assert resources(out) == [GOOD_RESOURCE]
    assert "never-existed.log" in err
    assert rc in (1, 2)


def _nobody() -> tuple[int, int] | None:
    try:
        pw = pwd.getpwnam("nobody")
    except KeyError:
        return None
    return pw.pw_uid, pw.pw_gid


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root")
def test_permission_denied_file(tmp_path: Path) -> None:
    """Root reads everything, so scan runs as `nobody` (setpriv): an 0600 root file is
    reported as unreadable and the readable one is still scanned."""
    ids = _nobody()
    if ids is None:
        pytest.skip("no user nobody")
    # pytest's tmp_path sits under a 0700 directory; nobody needs a path it can walk.
    top = Path(tempfile.mkdtemp(prefix="authz-perm-", dir="/tmp"))
    try:
        _permission_denied(top, ids)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _permission_denied(tmp_path: Path, ids: tuple[int, int]) -> None:
    d = tmp_path / "logs"
    d.mkdir()
    (d / "good.log").write_text(GOOD)
    (d / "secret.log").write_text(line(2, "secret"))
    (d / "secret.log").chmod(0o600)
    for p in (tmp_path, d, d / "good.log"):
        p.chmod(p.stat().st_mode | 0o055)
    res = subprocess.run(
        ["setpriv", f"--reuid={ids[0]}", f"--regid={ids[1]}", "--clear-groups",
         sys.executable, "-m", "diagnostics", "scan", "--no-decode", "--format", "json", str(d)],
        capture_output=True, timeout=60, check=False, cwd=tmp_path,
        env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    err = res.stderr.decode()
    if "Permission denied" in err and b"{" not in res.stdout and "python" in err.lower():
        pytest.skip(f"nobody cannot run the interpreter here: {err[:200]}")
    out = [json.loads(x) for x in res.stdout.splitlines() if x.startswith(b"{")]
    assert "Traceback" not in err
    assert resources(out) == [GOOD_RESOURCE]
    assert "secret.log" in err


@pytest.mark.slow
def test_watch_skips_fifo_and_outside_symlink(tmp_path: Path) -> None:
    """In a watched directory a FIFO never blocks the daemon and a symlink pointing outside is
    not followed (its failures are not alerted) while a regular file is."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    outside = tmp_path / "outside.log"
    outside.write_text(line(9, "outside"))
    (logdir / "escape.log").symlink_to(outside)
    os.mkfifo(logdir / "pipe.log")
    d = Daemon(tmp_path, write_config(tmp_path, file_source(logdir, "beginning")))
    try:
        d.wait_ready()
        append(logdir / "app.log", line(1, "inside"))
        d.wait_resources(1)
        append(outside, line(10, "outside"))
        append(logdir / "app.log", line(2, "inside"))
        d.wait_resources(2)
    finally:
        assert d.stop() == 0  # a blocked open() on the FIFO would hang the stop
    got = d.resources()
    assert sorted(got) == ["arn:aws:s3:::bucket/inside-1", "arn:aws:s3:::bucket/inside-2"]
