"""P2, CloudTrail: ``scan --no-decode`` over a delivery tree against zlib, zcat and jq.

    python bench/p2_cloudtrail.py           # 100 files x 1,000 records, 5 alternating runs
    python bench/p2_cloudtrail.py --files 5 --runs 1 --no-write

Goals (issue 7): at most 2.5x the zlib-only time (decompression alone, in a
Python process, over the same files), and at least 3x faster than
``zcat ... | jq -c '.Records[] | select(.errorCode)'``.  ``zcat`` alone is
shown too, as the C floor.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from checks import check_cloudtrail
from generate import ensure_cloudtrail
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

GOAL_VS_ZLIB = 2.5
GOAL_VS_JQ = 3.0
JQ_FILTER = ".Records[] | select(.errorCode)"
HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--error-rate", type=float, default=0.05)
    add_run_arguments(parser)
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    tree = args.out / f"cloudtrail-{args.files}-s{args.seed}"
    print(f"corpus {tree} ...", flush=True)
    manifest = ensure_cloudtrail(
        tree,
        files=args.files,
        records=args.records,
        seed=args.seed,
        error_rate=args.error_rate,
        authz_share=0.5,
    )
    files = [str(p) for p in sorted(tree.rglob("*.json.gz"))]
    ours_out = args.out / "p2-scan.jsonl"
    jq_out = args.out / "p2-jq.jsonl"
    jq = shutil.which("jq")
    if jq is None:
        print(
            "jq is not installed: the jq baseline is skipped (Debian: apt-get install -y jq)",
            file=sys.stderr,
        )

    def ours() -> Run:
        return run_child(
            [tool("authz-diag"), "scan", "--no-decode", "--format", "json", str(tree)],
            stdout_path=ours_out,
        )

    contenders = [
        (
            "zlib only (Python)",
            lambda: run_child([sys.executable, str(HERE / "zlib_only.py"), str(tree)]),
        ),
        ("zcat", lambda: run_child(["zcat", *files])),
        ("authz-diag scan", ours),
    ]
    if jq is not None:
        script = f"zcat \"$@\" | {jq} -c '{JQ_FILTER}'"
        contenders.append(
            (
                "zcat piped to jq",
                lambda: run_child(["sh", "-c", script, "sh", *files], stdout_path=jq_out),
            )
        )
    series = alternate(contenders, args.runs, on_run=progress)
    zlib_s, _, ours_s = series[:3]
    vs_zlib = ours_s.median / zlib_s.median
    ok_zlib = vs_zlib <= GOAL_VS_ZLIB
    if jq is not None:
        jq_s = series[3]
        vs_jq = jq_s.median / ours_s.median
        ok_jq = vs_jq >= GOAL_VS_JQ
        jq_lines = sum(1 for _ in jq_out.open("rb"))
        jq_line = (
            f"jq is **{vs_jq:.2f}×** slower than ours (goal ≥ {GOAL_VS_JQ:g}×) {verdict(ok_jq)}; "
            f"it printed {jq_lines} records with an errorCode "
            f"(generator: {manifest['expected']['records_with_error']})."
        )
    else:
        ok_jq = False
        jq_line = "jq is not installed, so the jq goal was not measured (`apt-get install -y jq`)."
    correct, text = check_cloudtrail(ours_out, manifest)
    records = manifest["records"]
    mib = manifest["json_bytes"] / 1024 / 1024

    body = f"""## P2: CloudTrail delivery trees against zlib, zcat and jq

Goals: `authz-diag scan --no-decode --format json` on {args.files} `.json.gz` files of
{args.records:,} records takes at most {GOAL_VS_ZLIB:g}× the time of decompression alone
(`bench/zlib_only.py`: the same Python start-up, directory walk and `zlib.decompress`), and is
at least {GOAL_VS_JQ:g}× faster than `zcat … | jq -c '{JQ_FILTER}'`.

- ours ÷ zlib only: **{vs_zlib:.2f}×** (goal ≤ {GOAL_VS_ZLIB:g}×) {verdict(ok_zlib)}
- {jq_line}

Reproduce:
`python bench/p2_cloudtrail.py --files {args.files} --seed {args.seed} --runs {args.runs}`
(jq {"found at " + jq if jq else "missing"}; {args.runs} alternating runs after one warm-up each).

Machine: {machine()}.

Corpus: {args.files} files, {records:,} records, {mib:.0f} MiB of JSON
({manifest["gz_bytes"] / 1024 / 1024:.1f} MiB gzipped), error rate {args.error_rate:g}, of which
half are authorization failures ({manifest["expected"]["by_error_code"]}).

{timing_table(series, zlib_s, rss=True)}

Throughput (median): ours {records / ours_s.median:,.0f} records/s, zlib only
{records / zlib_s.median:,.0f} records/s.

Correctness: {verdict(correct)}: {text}.
"""
    publish("P2", body, write=not args.no_write, path=args.md)
    if args.clean:
        shutil.rmtree(tree, ignore_errors=True)
    return 0 if ok_zlib and ok_jq and correct else 1


if __name__ == "__main__":
    sys.exit(main())
