"""CPU seconds of each scan stage on one file, in one process (for optimisation work).

    python bench/stage_times.py bench/out/dense-20M-s1.log
    python bench/stage_times.py bench/out/cloudtrail-100-s1

Extraction alone, then extraction with repeat folding, then the whole
pipeline without rendering, then JSON rendering of its output: each a
``time.process_time()`` difference, so a loaded machine moves them little.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from diagnostics.diagnose.pipeline import Pipeline
from diagnostics.extract import extract_path, iter_input_files
from diagnostics.model import InputStats
from diagnostics.render import jsonl
from diagnostics.rules import RuleSet, bundled_rules_dir
from diagnostics.run.scan import folded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    t0 = time.process_time()
    stats = InputStats()
    files = iter_input_files(args.path, stats) if args.path.is_dir() else iter([args.path])
    failures = [f for file in files for f in extract_path(file, stats)]
    t1 = time.process_time()
    distinct = [e.failure for e in folded(iter(failures), InputStats())]
    t2 = time.process_time()
    pipeline = Pipeline(RuleSet.load([bundled_rules_dir()]), None)
    diagnoses = list(pipeline.diagnose(iter(distinct)))
    t3 = time.process_time()
    for d in diagnoses:
        jsonl.render(d)
    t4 = time.process_time()
    print(f"failures {len(failures)}, distinct {len(distinct)}")
    print(f"extract {t1 - t0:.3f} s, fold {t2 - t1:.3f} s, diagnose {t3 - t2:.3f} s, ", end="")
    print(f"render json {t4 - t3:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
