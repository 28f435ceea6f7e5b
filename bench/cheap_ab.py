"""Issue 27's reader paths on and off in the same tree, alternating, in one run.

    python bench/cheap_ab.py bench/out/dense-20M-s1.log [more inputs]

``vs_revision.py`` compares commits, so it also counts everyone else's
changes in between.  This compares the working tree with itself: "off" runs
the scan with the cheap path (``extract/assembly/cheap.py``) declining every line and
the mapped read (``extract/inputs/mapped.py``) refused, i.e. the tolerant reader over
chunked reads as before issue 27; "on" is the scan as shipped.  Both outputs
must be byte-identical.  Prints medians of wall and CPU time (user + system).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from harness import byte_compile, machine
from vs_revision import timed

OFF = """\
import sys
from unittest.mock import patch
from diagnostics.extract.inputs import files
from diagnostics.extract.assembly import record
from diagnostics.cli import main
with patch.object(record, "cheap_line", lambda *a, **k: None), patch.object(
    files, "mapped", lambda stream: None
):
    sys.exit(main(sys.argv[1:]))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--format", default="json")
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args(argv)
    byte_compile()
    with tempfile.TemporaryDirectory(prefix="authz-ab-") as tmp:
        scratch = Path(tmp)
        launcher = scratch / "off.py"
        launcher.write_text(OFF)
        scan = ["scan", "--no-decode", "--format", args.format, *args.inputs]
        sides = {
            "off (tolerant, chunked)": [sys.executable, str(launcher), *scan],
            "on (cheap path, mapped)": [sys.executable, "-m", "diagnostics", *scan],
        }
        order = list(sides)
        outs = {name: scratch / f"out-{i}" for i, name in enumerate(order)}
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in order}
        for name in order:  # warm-up, unrecorded
            timed(sides[name], outs[name])
        for i in range(args.runs):
            for name in order if i % 2 == 0 else order[::-1]:
                results[name].append(timed(sides[name], outs[name]))
                wall, cpu = results[name][-1]
                print(f"  {name:<24} wall {wall:7.3f} s  cpu {cpu:7.3f} s", flush=True)
        same = len({outs[name].read_bytes() for name in order}) == 1
        base_cpu = statistics.median(c for _, c in results[order[0]])
        print(f"\n{machine()}\n")
        print("| scan | median wall s | median CPU s | CPU ÷ off |")
        print("|---|---:|---:|---:|")
        for name in order:
            wall = statistics.median(w for w, _ in results[name])
            cpu = statistics.median(c for _, c in results[name])
            print(f"| {name} | {wall:.3f} | {cpu:.3f} | {cpu / base_cpu:.2f}× |")
        print(f"\noutputs byte-identical: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
