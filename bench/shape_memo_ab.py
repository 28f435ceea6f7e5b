"""The shape memo on and off: diagnosis CPU per failure on one log, same bytes required.

    python bench/shape_memo_ab.py bench/out/dense-20M-s1.log
    python bench/shape_memo_ab.py --storm 20000      # one shape, new names each time

Extracts and folds the log once, diagnoses 2,000 of them to warm the caches,
then diagnoses and renders the distinct failures as JSON three ways in this
one process: without the shape memo (``Pipeline(shape_memo_size=0)``), with
it as ``scan`` runs it (it turns itself off when shapes do not repeat), and
with it forced on (never off).
The exact-verdict memo is on in all three, as in ``scan``.  Prints CPU
seconds (``time.process_time``), microseconds per failure, the memo's
counts, and whether the three outputs are byte-identical (they must be).
Nothing is written to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from diagnostics.diagnose.pipeline import Pipeline
from diagnostics.extract import extract_path
from diagnostics.model import Failure, InputStats
from diagnostics.render import jsonl
from diagnostics.rules import RuleSet
from diagnostics.run.scan import folded


def storm(path: Path, count: int) -> None:
    """``count`` denials of one role on a new table each: a reconcile loop's retry storm."""
    with path.open("w") as fh:
        for n in range(10_000, 10_000 + count):
            fh.write(
                "An error occurred (AccessDeniedException) when calling the GetItem operation: "
                f"User: arn:aws:sts::111122223333:assumed-role/orders-api/session-{n} is not "
                "authorized to perform: dynamodb:GetItem on resource: "
                f"arn:aws:dynamodb:us-east-1:111122223333:table/Orders{n} because no "
                "identity-based policy allows the dynamodb:GetItem action\n"
            )


def run(ruleset: RuleSet, failures: list[Failure], mode: str) -> tuple[float, bytes, str]:
    pipeline = Pipeline(ruleset, shape_memo_size=0 if mode == "off" else 4096)
    if mode == "forced" and pipeline.shapes is not None:
        pipeline.shapes.probation = None
    start = time.process_time()
    out = b"".join(jsonl.render(d) for d in pipeline.diagnose(failures))
    took = time.process_time() - start
    s = pipeline.shapes
    counts = (
        "-"
        if s is None
        else f"fills {s.hits}, templates {s.misses}, unsafe {s.unsafe}, "
        f"shaped {s.shaped}, {'on' if s.active else 'turned off'}"
    )
    return took, out, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("log", nargs="?", type=Path)
    parser.add_argument("--storm", type=int, help="generate a one-shape storm of N failures")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        log = args.log
        if args.storm:
            log = Path(tmp) / "storm.log"
            storm(log, args.storm)
        if log is None:
            parser.error("give a log or --storm N")
        ruleset = RuleSet.bundled()
        stats = InputStats()
        failures = [e.failure for e in folded(extract_path(log, stats), stats)]
    # Warm-up: the first diagnoses load the IAM data and fill lru caches for every mode.
    run(ruleset, failures[:2000], "off")
    outputs = []
    for mode in ("off", "on", "forced"):
        took, out, counts = run(ruleset, failures, mode)
        outputs.append(out)
        print(
            f"{mode:>6}: {took:6.2f} s CPU, {took / len(failures) * 1e6:5.0f} us/failure"
            f" ({len(failures):,} failures; {counts})"
        )
    same = len(set(outputs)) == 1
    print("outputs byte-identical:", same)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
