"""P5, memory and start-up: peak RSS of a 512 MiB scan, lazy boto3, import-time cost.

    python bench/p5_memory.py               # 512 MiB log, 5 runs, updates BENCHMARKS.md
    python bench/p5_memory.py --size 16M --runs 1 --no-write

Goals (issue 7): peak RSS while scanning the 512 MiB log at most 120 MB
(10^6 bytes, the stricter reading); ``scan --no-decode`` never imports
boto3, nor does a scan that finds nothing to decode; import-time cost
measured with ``python -X importtime``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

from gen_applog import MIB
from generate import ensure_applog, parse_size
from harness import (
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

GOAL_RSS_BYTES = 120 * 1000 * 1000
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")


def importtime(code: str) -> tuple[dict[str, int], int, set[str], str]:
    """Run ``code`` under ``-X importtime``.

    Returns (top-level module -> cumulative µs, total µs, every module imported, stderr tail).
    """
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=False,
    )
    top: dict[str, int] = {}
    modules: set[str] = set()
    for line in proc.stderr.splitlines():
        m = _IMPORT_LINE.match(line)
        if not m:
            continue
        modules.add(m.group(4))
        if not m.group(3):
            top[m.group(4)] = top.get(m.group(4), 0) + int(m.group(2))
    tail = "\n".join(x for x in proc.stderr.splitlines() if not x.startswith("import time:"))
    return top, sum(top.values()), modules, tail[-1000:]


def scan_code(args: list[str]) -> str:
    return (
        "import sys; from diagnostics.cli import main; "
        f"sys.stdout = open('/dev/null', 'w'); sys.exit(main({args!r}))"
    )


def top_table(top: dict[str, int], n: int = 8) -> str:
    rows = ["| module (top level) | cumulative ms |", "|---|---:|"]
    for name, us in sorted(top.items(), key=lambda kv: -kv[1])[:n]:
        rows.append(f"| `{name}` | {us / 1000:.1f} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("512M"))
    parser.add_argument("--failures-per-mib", type=float, default=2.0)
    add_run_arguments(parser)
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / f"app-{args.size // MIB}M-s{args.seed}.log"
    print(f"corpus {log} ...", flush=True)
    manifest = ensure_applog(log, args.size, args.seed, args.failures_per_mib)
    # A small log with plain failures only: a decode-enabled scan has nothing to send to STS.
    plain_log = args.out / "p5-plain-only.log"
    plain_log.write_text(
        "An error occurred (AccessDenied) when calling the GetObject operation: User: "
        "arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:GetObject on "
        'resource: "arn:aws:s3:::acme/k" because no identity-based policy allows the '
        "s3:GetObject action\n"
    )

    scan = [tool("authz-diag"), "scan", "--no-decode", "--format", "json", str(log)]
    series = alternate(
        [
            (
                "python -c 'import diagnostics.cli'",
                lambda: run_child([sys.executable, "-c", "import diagnostics.cli"]),
            ),
            ("authz-diag --version", lambda: run_child([tool("authz-diag"), "--version"])),
            ("authz-diag scan --no-decode (512 MiB)", lambda: run_child(scan)),
        ],
        args.runs,
        on_run=progress,
    )
    floor, _, scan_s = series
    peak = max(scan_s.rss_kib) * 1024
    rss_ok = peak <= GOAL_RSS_BYTES

    cli_top, cli_total, _, _ = importtime("import diagnostics.cli")
    nd_top, nd_total, nd_modules, nd_err = importtime(
        scan_code(["scan", "--no-decode", "--format", "json", str(log)])
    )
    _, _, pd_modules, pd_err = importtime(scan_code(["scan", "--format", "json", str(plain_log)]))
    boto_nd = sorted(m for m in nd_modules if m.split(".")[0] in ("boto3", "botocore"))
    boto_pd = sorted(m for m in pd_modules if m.split(".")[0] in ("boto3", "botocore"))
    lazy_ok = not boto_nd and not boto_pd and bool(nd_modules)
    errors = "\n".join(x for x in (nd_err, pd_err) if "Traceback" in x)

    body = f"""## P5: memory, lazy boto3 and start-up cost

Goals: peak RSS of `authz-diag scan --no-decode --format json` on the
{manifest["bytes"] / MIB:.0f} MiB log at most 120 MB; boto3 not imported by
`scan --no-decode`, nor by a scan that finds nothing to decode; import time measured.

- peak RSS: **{peak / 1e6:.1f} MB** ({peak / MIB:.1f} MiB; the most of {args.runs} runs,
  from GNU time `%M`), goal ≤ 120 MB {verdict(rss_ok)}
- boto3/botocore modules imported by `scan --no-decode`: {len(boto_nd)}; by a decode-enabled scan
  of a plain-only log: {len(boto_pd)} {verdict(lazy_ok)} {", ".join((boto_nd or boto_pd)[:5])}
- `python -X importtime -c 'import diagnostics.cli'`: {cli_total / 1000:.1f} ms of imports
- imports during a whole `scan --no-decode` run: {nd_total / 1000:.1f} ms

Reproduce: `python bench/p5_memory.py --size {args.size // MIB}M --runs {args.runs}`

Machine: {machine()}.

{timing_table(series, floor, rss=True)}

Slowest top-level imports of `import diagnostics.cli`:

{top_table(cli_top)}

Slowest top-level imports of a `scan --no-decode` run:

{top_table(nd_top)}
"""
    if errors:
        body += f"\nThe import-time runs failed:\n\n```\n{errors}\n```\n"
    publish("P5", body, write=not args.no_write, path=args.md)
    return 0 if rss_ok and lazy_ok and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
