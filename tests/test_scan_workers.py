"""``scan --jobs``: worker processes change how fast a tree is read, never what is written."""

from __future__ import annotations

import gzip
import pickle
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from diagnostics.extract import extract_text
from diagnostics.model import Failure, InputStats, SourceRef
from diagnostics.run.scan_plan import (
    AUTO_MAX_JOBS,
    AUTO_MIN_BYTES,
    GZIP_EXPANSION,
    auto_jobs,
    read_size,
    usable_cpus,
)
from diagnostics.run.scan_workers import BROKEN, ScanWorkers

REPO = Path(__file__).resolve().parents[1]
AUTHZ_DIAG = str(Path(sys.executable).parent / "authz-diag")
FIXTURES = REPO / "tests" / "fixtures"

DENIED = (
    "An error occurred (AccessDenied) when calling the GetObject operation: "
    "User: arn:aws:sts::111122223333:assumed-role/app/i-0abc is not authorized to perform: "
    "s3:GetObject on resource: arn:aws:s3:::acme-data/k{n} "
    "because no identity-based policy allows the s3:GetObject action\n"
)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real pastes, format fixtures and CloudTrail, with repeats across files and bad files."""
    root = tmp_path_factory.mktemp("tree")
    shutil.copytree(FIXTURES / "formats", root / "formats")
    shutil.copytree(FIXTURES / "real", root / "real")
    shutil.copytree(REPO / "examples", root / "examples")
    # The same paste again in another folder: its failures fold into the first ones.
    shutil.copytree(REPO / "examples", root / "zz-again")
    (root / "zz-again" / "truncated.log.gz").write_bytes(
        gzip.compress(b"".join(DENIED.format(n=n).encode() for n in range(50)))[:-20]
    )
    (root / "zz-again" / "binary.bin").write_bytes(b"\x00\x01\x02" * 4000)
    return root


def _scan(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [AUTHZ_DIAG, "scan", "--no-decode", *args],
        capture_output=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_workers_write_exactly_what_one_process_writes(tree: Path, fmt: str) -> None:
    """Same bytes on stdout and stderr, same exit status, repeats folded across files."""
    one = _scan("--format", fmt, "--jobs", "1", str(tree))
    two = _scan("--format", fmt, "--jobs", "2", str(tree))
    assert one.returncode == two.returncode == 1, two.stderr
    assert one.stdout == two.stdout
    assert one.stderr == two.stderr
    # The bad files were reported, and the examples' copies folded into the first ones.
    assert b"truncated" in two.stderr and b"binary file" in two.stderr
    if fmt == "json":
        assert re.search(rb'"occurrences":[2-9]', two.stdout)
        assert b"zz-again/terraform-apply.log" in two.stdout  # as the last place seen
    else:
        assert re.search(rb"seen [2-9] times", two.stdout)
    assert len(two.stdout) > 50_000


def test_workers_with_a_transform_extract_only_and_still_agree(tree: Path) -> None:
    """--generalize diagnoses in the parent; the workers only read the files."""
    one = _scan("--format", "json", "--generalize", "--jobs", "1", str(tree / "real"))
    two = _scan("--format", "json", "--generalize", "--jobs", "3", str(tree / "real"))
    assert one.returncode == two.returncode == 1
    assert one.stdout == two.stdout and one.stderr == two.stderr


def test_collected_formats_and_several_inputs_agree(tree: Path) -> None:
    """policy output, and files, a folder and stdin named together, in their order."""
    inputs = [str(tree / "examples" / "aws-cli.txt"), str(tree / "formats"), "-"]
    runs = [
        subprocess.run(
            [AUTHZ_DIAG, "scan", "--no-decode", "--format", "policy", "--jobs", jobs, *inputs],
            input=DENIED.format(n="stdin").encode(),
            capture_output=True,
            timeout=120,
            check=False,
        )
        for jobs in ("1", "2")
    ]
    assert runs[0].returncode == runs[1].returncode == 1
    assert runs[0].stdout == runs[1].stdout and runs[0].stderr == runs[1].stderr
    assert b"acme-data/kstdin" in runs[1].stdout


def _script(body: str, tree: Path) -> subprocess.CompletedProcess[str]:
    """Run ``body`` after a scan set-up in a fresh interpreter (a real fork, no test threads)."""
    code = (
        "import io, os, sys\n"
        "from pathlib import Path\n"
        "import diagnostics.run.scan_workers as w\n"
        "from diagnostics.run.scan import run_scan\n"
        "from diagnostics.rules import RuleSet, bundled_rules_dir\n"
        "rules = RuleSet.load([bundled_rules_dir()])\n"
        f"TREE = {str(tree)!r}\n"
        "def scan(jobs):\n"
        "    out, err = io.BytesIO(), io.StringIO()\n"
        "    result, _ = run_scan([TREE], ruleset=rules, decoder=None, fmt='json', out=out,\n"
        "                         err=err, jobs=jobs)\n"
        "    return out.getvalue(), err.getvalue(), result\n"
        f"{body}\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_the_workers_really_do_the_reading_and_the_diagnosing(tree: Path) -> None:
    """The equality tests above mean nothing if the scan quietly stayed in one process."""
    proc = _script(
        "serial, _, _ = scan(1)\n"
        "real_extract, real_render = w._extract_task, w.render_items\n"
        "def extract(path):\n"
        "    failures, stats = real_extract(path)\n"
        "    os.write(1, b'extracted-in %d\\n' % os.getpid())  # one atomic write\n"
        "    return failures, stats\n"
        "def render(pipeline, items, fmt):\n"
        "    os.write(1, b'rendered-in %d\\n' % os.getpid())\n"
        "    return real_render(pipeline, items, fmt)\n"
        "w._extract_task, w.render_items = extract, render\n"
        "out, _, _ = scan(2)\n"
        "assert out == serial, 'output differs'\n"
        "os.write(1, b'parent %d\\n' % os.getpid())\n",
        tree / "examples",
    )
    assert proc.returncode == 0, proc.stderr
    words = [line.split() for line in proc.stdout.splitlines()]
    assert all(len(w) == 2 for w in words), proc.stdout
    parent = next(pid for word, pid in words if word == "parent")
    extracted = {pid for word, pid in words if word == "extracted-in"}
    rendered = {pid for word, pid in words if word == "rendered-in"}
    assert extracted and parent not in extracted
    assert rendered and parent not in rendered


def test_a_worker_that_dies_reading_is_reported_and_the_scan_finishes(tree: Path) -> None:
    """A killed worker: a warning that says what to do, and nothing lost or doubled."""
    proc = _script(
        "serial, serr, sres = scan(1)\n"
        "real = w._extract_task\n"
        "def dying(path):\n"
        "    if path.endswith('terraform-apply.log'):\n"
        "        os._exit(9)\n"
        "    return real(path)\n"
        "w._extract_task = dying\n"
        "out, err, res = scan(2)\n"
        "assert out == serial, 'output differs'\n"
        "assert res.diagnoses == sres.diagnoses and res.stats.files == sres.stats.files\n"
        "assert res.stats.failures == sres.stats.failures\n"
        "print(err)\n",
        tree / "examples",
    )
    assert proc.returncode == 0, proc.stderr
    assert BROKEN in proc.stdout
    assert "--jobs 1" in proc.stdout


def test_a_worker_that_dies_diagnosing_is_replaced_by_the_parent(tree: Path) -> None:
    proc = _script(
        "serial, _, _ = scan(1)\n"
        "def dying(items, fmt):\n"
        "    os._exit(9)\n"
        "w._diagnose_task = dying\n"
        "w.CHUNK = 3\n"
        "out, err, res = scan(2)\n"
        "assert out == serial, 'output differs'\n"
        "print(err)\n",
        tree / "formats",
    )
    assert proc.returncode == 0, proc.stderr
    assert BROKEN in proc.stdout


def test_big_or_dense_files_are_read_by_the_parent_with_the_same_result(tree: Path) -> None:
    """Past the size or failure bound a file is extracted in the parent, in its place."""
    proc = _script(
        "serial, serr, _ = scan(1)\n"
        "w.MAX_TASK_FAILURES = 2\n"
        "out, err, _ = scan(2)\n"
        "assert (out, err) == (serial, serr), 'failure bound changed the output'\n"
        "w.MAX_TASK_FAILURES = 10_000\n"
        "w.MAX_TASK_BYTES = 2_000  # imported by name into scan_workers\n"
        "out, err, _ = scan(2)\n"
        "assert (out, err) == (serial, serr), 'size bound changed the output'\n"
        "print(len(out))\n",
        tree,
    )
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) > 50_000


def test_no_workers_while_another_thread_runs() -> None:
    """Forking beside a running thread can deadlock the child: the scan stays in one process."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert ScanWorkers.start(2, None) is None
    finally:
        stop.set()
        thread.join()
    assert ScanWorkers.start(1, None) is None


def test_auto_jobs_start_workers_only_for_big_inputs(tmp_path: Path) -> None:
    assert auto_jobs(2, AUTO_MIN_BYTES - 1) == 1
    assert auto_jobs(2, AUTO_MIN_BYTES) == min(usable_cpus(), AUTO_MAX_JOBS)
    assert auto_jobs(1, AUTO_MIN_BYTES * 100) == 1  # one file: only when asked
    plain, packed = tmp_path / "a.log", tmp_path / "b.json.gz"
    plain.write_bytes(b"x" * 1000)
    packed.write_bytes(b"x" * 1000)
    assert read_size(plain) == 1000
    assert read_size(packed) == 1000 * GZIP_EXPANSION
    assert read_size(tmp_path / "gone.log") == 0


def test_bad_jobs_values_are_refused_with_the_range() -> None:
    proc = _scan("--jobs", "0", "examples/")
    assert proc.returncode == 2
    assert b"'0' is not a number of processes from 1 to 64" in proc.stderr
    assert _scan("--jobs", "many", "examples/").returncode == 2


def test_failures_and_sources_survive_the_trip_between_processes() -> None:
    """Workers send failures by pickle: every field, the decoded message included."""
    failures = extract_text(
        DENIED.format(n=1)
        + '{"allowed":false,"explicitDeny":true,"matchedStatements":{"items":[]},'
        '"context":{"principal":{"arn":"arn:aws:iam::1:user/x"},"action":"s3:GetObject",'
        '"resource":"arn:aws:s3:::b/k","conditions":{"items":[]}}}\n'
    )
    assert len(failures) == 2 and failures[1].decoded is not None
    back = pickle.loads(pickle.dumps(failures))  # noqa: S301 (our own bytes)
    assert back == failures
    assert [f.decoded for f in back] == [f.decoded for f in failures]
    assert [f.excerpt for f in back] == [f.excerpt for f in failures]
    ref = SourceRef("a.log.1", 3, 40, None, "a.log")
    assert pickle.loads(pickle.dumps(ref)) == ref  # noqa: S301
    assert isinstance(back[0], Failure)


def test_input_stats_add_counts_everything_once() -> None:
    total = InputStats(bytes_read=5, lines=2, files=1, warnings=["a"])
    total.add(InputStats(bytes_read=7, lines=3, files=1, rejected=1, warnings=["b"]))
    assert (total.bytes_read, total.lines, total.files, total.rejected) == (12, 5, 2, 1)
    assert total.warnings == ["a", "b"]
