"""Our scan now against the same scan at an earlier commit, alternating, in one run.

    python bench/vs_revision.py --rev b6fd162 bench/out/dense-20M-s1.log [more inputs]

The earlier commit is exported with ``git archive`` into a temporary
directory and run by the same interpreter through a small launcher that
puts that tree first on ``sys.path`` (and drops the editable install's
finder, which would otherwise import this checkout).  Both outputs must be
byte-identical.  Prints medians of wall and CPU time (user + system, from
``wait4``: on a shared machine CPU time moves far less than wall time);
nothing is written to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from harness import REPO, byte_compile, machine

LAUNCHER = """\
import sys
old = sys.argv.pop(1)
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
sys.path.insert(0, old)
import diagnostics
assert diagnostics.__file__.startswith(old), diagnostics.__file__
from diagnostics.cli import main
sys.exit(main(sys.argv[1:]))
"""


def export(rev: str, into: Path) -> Path:
    """The tree of ``rev`` under ``into`` (the rules symlink included)."""
    archive = into / "tree.tar"
    with archive.open("wb") as fh:
        subprocess.run(["git", "-C", str(REPO), "archive", rev], stdout=fh, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "tree", filter="tar")
    return into / "tree"


def timed(argv: list[str], out: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``argv`` with stdout to ``out``."""
    with out.open("wb") as fh:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"{argv[:4]} exited {status}")
    return wall, usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--format", default="json")
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="authz-rev-"))
    try:
        old = export(args.rev, scratch)
        # Both trees run from bytecode, as installed copies do (harness.byte_compile).
        compileall.compile_dir(old / "diagnostics", quiet=1)
        byte_compile()
        launcher = scratch / "launch.py"
        launcher.write_text(LAUNCHER)
        scan = ["scan", "--no-decode", "--format", args.format, *args.inputs]
        sides = {
            f"at {args.rev}": [sys.executable, str(launcher), str(old), *scan],
            "now": [sys.executable, "-m", "diagnostics", *scan],
        }
        outs = {name: scratch / f"out-{i}" for i, name in enumerate(sides)}
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
        order = list(sides)
        for name in order:  # warm-up, unrecorded
            timed(sides[name], outs[name])
        for i in range(args.runs):
            for name in order if i % 2 == 0 else order[::-1]:
                results[name].append(timed(sides[name], outs[name]))
                wall, cpu = results[name][-1]
                print(f"  {name:<16} wall {wall:7.3f} s  cpu {cpu:7.3f} s", flush=True)
        same = len({outs[name].read_bytes() for name in sides}) == 1
        base = order[0]
        base_wall = statistics.median(w for w, _ in results[base])
        base_cpu = statistics.median(c for _, c in results[base])
        print(f"\n{machine()}\n")
        print("| scan | median wall s | median CPU s | CPU ÷ before |")
        print("|---|---:|---:|---:|")
        for name in order:
            wall = statistics.median(w for w, _ in results[name])
            cpu = statistics.median(c for _, c in results[name])
            print(f"| {name} | {wall:.3f} | {cpu:.3f} | {cpu / base_cpu:.2f}× |")
        now_wall = statistics.median(w for w, _ in results["now"])
        print(f"\nwall ratio now ÷ before: {now_wall / base_wall:.2f}×")
        print(f"outputs byte-identical: {same}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
