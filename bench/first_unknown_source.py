"""The first event source host nobody knows: shipped endpoint index against reading every model.

    python bench/first_unknown_source.py [--runs 5]

Each side is a fresh interpreter that imports ``diagnostics.iam.operations``
and times one ``iam_prefix_for("nosuchservice.amazonaws.com")``: the miss
that walks every way to a prefix.  The baseline is the same call with the
index read from the installed botocore's service models, as the code did
before (``endpoint_index.from_botocore``).  Sides alternate, order flipped
every other run, after one unrecorded warm-up each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

HOST = "nosuchservice.amazonaws.com"

SCRIPT = """
import time
from diagnostics.iam import operations
if {baseline}:
    from diagnostics.iam.endpoint_index import from_botocore
    operations.shipped = from_botocore
start = time.perf_counter()
assert operations.iam_prefix_for({host!r}) is None
print(time.perf_counter() - start)
"""


def _once(baseline: bool) -> float:
    code = SCRIPT.format(baseline=baseline, host=HOST)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    return float(out.stdout.strip())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    _once(True)
    _once(False)
    times: dict[bool, list[float]] = {True: [], False: []}
    for run in range(args.runs):
        for baseline in (True, False) if run % 2 == 0 else (False, True):
            times[baseline].append(_once(baseline))
    print("| side | min s | median s | max s |")
    print("|---|---:|---:|---:|")
    for baseline, label in ((False, "shipped index"), (True, "every botocore model (before)")):
        t = times[baseline]
        print(f"| {label} | {min(t):.3f} | {statistics.median(t):.3f} | {max(t):.3f} |")
    ratio = statistics.median(times[False]) / statistics.median(times[True])
    print(f"\nmedian ratio shipped / before: {ratio:.4f} ({1 / ratio:.0f}x faster)")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
