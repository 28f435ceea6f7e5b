"""Peak memory of a command with its worker processes counted: RSS and PSS summed over the tree.

    python bench/tree_rss.py OUT -- authz-diag scan --jobs 2 --no-decode --format json big.log

``wait4`` (``harness.run_child``) reports the largest single process of the
tree; ``scan --jobs`` forks workers, so this samples ``/proc`` every 20 ms
and sums them.  RSS counts the pages the forked workers share with the
parent once per process; PSS splits them among the sharers.  Linux only.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path


def _tree(pid: int) -> list[int]:
    pids = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text(encoding="ascii").split():
                pids.extend(_tree(int(child)))
    except OSError:
        pass  # gone meanwhile
    return pids


def _memory_kib(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="ascii").splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="where the command's stdout goes")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    start = time.perf_counter()
    with args.out.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out)
        peak_rss = peak_pss = 0
        done = threading.Event()
        while proc.poll() is None:
            rss = pss = 0
            for pid in _tree(proc.pid):
                one_rss, one_pss = _memory_kib(pid)
                rss += one_rss
                pss += one_pss
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            done.wait(0.02)
    print(
        f"wall {time.perf_counter() - start:.2f} s, peak RSS summed {peak_rss / 1024:.1f} MiB, "
        f"peak PSS summed {peak_pss / 1024:.1f} MiB, exit {proc.returncode}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
