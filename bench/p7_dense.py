"""P7, failure-dense logs: ``scan --no-decode`` where every third line is a distinct denial.

    python bench/p7_dense.py                 # 20 MiB log, 5 alternating runs, updates BENCHMARKS.md
    python bench/p7_dense.py --size 2M --runs 1 --no-write     # a quick look

Goals (issue 14): JSON output at most 10x the time of the simplest Python
extractor (``bench/p7_floor.py``: one regex pass per marker plus orjson per
hit) on the same file in the same run, text output within 1.5x of JSON, and
peak RSS at most 120 MB.  The scan's failures must match what the generator
placed, line by line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from checks import check_applog
from gen_applog import MIB
from gen_dense import ensure_dense
from generate import parse_size
from harness import (
    Run,
    add_run_arguments,
    alternate,
    machine,
    progress,
    publish,
    run_child,
    timing_table,
    tool,
    verdict,
)

GOAL_VS_FLOOR = 10.0
GOAL_TEXT_VS_JSON = 1.5
GOAL_RSS_MB = 120
HERE = Path(__file__).resolve().parent


def scan_argv(log: Path, fmt: str) -> list[str]:
    return [tool("authz-diag"), "scan", "--no-decode", "--format", fmt, str(log)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("20M"))
    add_run_arguments(parser)
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / f"dense-{args.size // MIB}M-s{args.seed}.log"
    print(f"corpus {log} ...", flush=True)
    manifest = ensure_dense(log, args.size, args.seed)
    json_out = args.out / "p7-scan.jsonl"
    text_out = args.out / "p7-scan.txt"
    floor_out = args.out / "p7-floor.jsonl"
    per_run: list[int] = []

    def json_run() -> Run:
        run = run_child(scan_argv(log, "json"), stdout_path=json_out)
        per_run.append(run.stdout.count(b"\n"))
        return run

    series = alternate(
        [
            (
                "floor (bench/p7_floor.py)",
                lambda: run_child(
                    [sys.executable, str(HERE / "p7_floor.py"), str(log)], stdout_path=floor_out
                ),
            ),
            ("authz-diag scan --format json", json_run),
            (
                "authz-diag scan --format text",
                lambda: run_child(scan_argv(log, "text"), stdout_path=text_out),
            ),
        ],
        args.runs,
        on_run=progress,
    )
    floor, ours_json, ours_text = series
    vs_floor = ours_json.median / floor.median
    text_vs_json = ours_text.median / ours_json.median
    rss_mb = max(*ours_json.rss_kib, *ours_text.rss_kib) * 1024 / 1e6
    check = check_applog(json_out, manifest)
    stable = len(set(per_run)) == 1
    failures = manifest["expected"]["failures"]
    ok_floor = vs_floor <= GOAL_VS_FLOOR
    ok_text = text_vs_json <= GOAL_TEXT_VS_JSON
    ok_rss = rss_mb <= GOAL_RSS_MB
    floor_hits = sum(1 for _ in floor_out.open("rb"))

    body = f"""## P7: failure-dense logs against the simplest Python extractor

Goals: `authz-diag scan --no-decode` on a {manifest["bytes"] / MIB:.0f} MiB log where every
third line is a distinct denial ({failures:,} failures) takes at most {GOAL_VS_FLOOR:g}× the
time of `bench/p7_floor.py` (one regex pass per marker plus orjson per hit, nothing else) in
JSON; text output within {GOAL_TEXT_VS_JSON:g}× of JSON; peak RSS at most {GOAL_RSS_MB} MB.

- JSON ÷ floor: **{vs_floor:.2f}×** (goal ≤ {GOAL_VS_FLOOR:g}×) {verdict(ok_floor)}
- text ÷ JSON: **{text_vs_json:.2f}×** (goal ≤ {GOAL_TEXT_VS_JSON:g}×) {verdict(ok_text)}
- peak RSS: **{rss_mb:.1f} MB** (goal ≤ {GOAL_RSS_MB} MB) {verdict(ok_rss)}

Reproduce:
`python bench/p7_dense.py --size {args.size // MIB}M --seed {args.seed} --runs {args.runs}`
(generates `bench/out/{log.name}` with `bench/gen_dense.py` when missing; {args.runs}
alternating runs after one warm-up each).

Machine: {machine()}.

Corpus: {manifest["bytes"]:,} bytes, {manifest["lines"]:,} lines, seed {args.seed}: two noise
lines then one denial, repeated; each denial names its own resource (16 actions over 12
services, 5 reasons, plain CLI, JSON-log and EC2 encoded shapes), so neither repeat folding
nor the verdict memo applies ({manifest["expected"]["by_kind"]}).

{timing_table(series, floor, rss=True)}

Throughput (median): JSON {failures / ours_json.median:,.0f} failures/s, text
{failures / ours_text.median:,.0f} failures/s, floor {failures / floor.median:,.0f} hits/s
(it printed {floor_hits:,} hits).

Correctness: {verdict(check.ok and stable)}: {check.describe(log).replace(chr(10), "; ")}
(diagnoses per run: {per_run}{"" if stable else ": **runs disagree**"}).
"""
    publish("P7", body, write=not args.no_write, path=args.md)
    if args.clean:
        log.unlink(missing_ok=True)
    return 0 if ok_floor and ok_text and ok_rss and check.ok and stable else 1


if __name__ == "__main__":
    sys.exit(main())
