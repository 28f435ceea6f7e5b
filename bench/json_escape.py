"""Cost of escaping JSON output (DEL, C1, bidi and format characters) on P1-sized output.

    python bench/json_escape.py                # 1,024 diagnoses (P1's 512 MiB corpus), 7 runs
    python bench/json_escape.py --runs 3 --diagnoses 256

``scan --format json`` writes ``json_bytes(orjson.dumps(...))``.  The
baseline, measured in the same run, is ``orjson.dumps`` alone on the same
diagnoses: the ratio is what the escaping adds to rendering.  Two corpora:
the diagnoses a P1 corpus yields (ASCII, the common case: one ``isascii``
scan) and the same diagnoses with a bidi override and a C1 control in every
resource (the slow path: decode, regex, encode).  Runs alternate; medians.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from diagnostics.diagnose.pipeline import Pipeline
from diagnostics.extract import extract_path
from diagnostics.model import DecodeResult, Diagnosis, InputStats
from diagnostics.rules import RuleSet
from diagnostics.text.safe import json_bytes

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gen_applog import MIB, generate_applog  # noqa: E402
from harness import machine  # noqa: E402


def corpus(count: int) -> list[Diagnosis]:
    """``count`` real diagnoses: a generated P1-style log, extracted and diagnosed."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "app.log"
        generate_applog(log, size=4 * MIB, seed=1, failures_per_mib=64.0)
        pipe = Pipeline(RuleSet.bundled())
        found = [pipe.diagnose_one(f, DecodeResult()) for f in extract_path(log, InputStats())]
    return [found[i % len(found)] for i in range(count)]


def hostile(diagnoses: list[Diagnosis]) -> list[Diagnosis]:
    out = []
    for d in diagnoses:
        resource = (d.failure.resource or "arn:aws:s3:::b/k") + "\u202e\x9b"
        out.append(
            dataclasses.replace(d, failure=dataclasses.replace(d.failure, resource=resource))
        )
    return out


def timed(fn: Callable[[], object], reps: int) -> float:
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--diagnoses", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args(argv)

    ascii_ = [d.to_json() for d in corpus(args.diagnoses)]
    bad = [d.to_json() for d in hostile(corpus(args.diagnoses))]
    contenders: dict[str, Callable[[], object]] = {
        "orjson.dumps (baseline)": lambda: [orjson.dumps(o) for o in ascii_],
        "json_bytes(orjson.dumps), ASCII": lambda: [json_bytes(orjson.dumps(o)) for o in ascii_],
        "orjson.dumps, hostile": lambda: [orjson.dumps(o) for o in bad],
        "json_bytes(orjson.dumps), hostile": lambda: [json_bytes(orjson.dumps(o)) for o in bad],
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.runs):
        for name, fn in contenders.items():
            times[name].append(timed(fn, args.reps))
    med = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"Machine: {machine()}")
    print(f"{args.diagnoses} diagnoses, {args.runs} alternating runs of {args.reps} renders\n")
    print("| render | median ms per 1,024 diagnoses | ÷ its orjson.dumps |")
    print("|---|---:|---:|")
    scale = 1024 / args.diagnoses * 1000
    for name in contenders:
        base = med["orjson.dumps, hostile" if "hostile" in name else "orjson.dumps (baseline)"]
        print(f"| {name} | {med[name] * scale:.2f} | {med[name] / base:.2f}× |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
