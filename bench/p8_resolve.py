"""P8, resolve throughput: ``Resolver`` against the loopback iam-toolbox double, 50 ms latency.

    python bench/p8_resolve.py               # 300 IDs, concurrency 8, 5 alternating runs
    python bench/p8_resolve.py --ids 40 --runs 1 --no-write

Each ID costs three requests: GetRequestAuthorizationDetails, then
GetRequestAuthorizationPolicy for the SCP that denied and the role policy
that matched.  The concurrency bound is ``concurrency / latency`` requests
per second (160/s at 8 and 50 ms); the goal (the P3 method) is at least 80%
of it, and 0 calls when the same IDs come again (the cache).  A bare boto3
``iam-toolbox`` client making the same three calls per ID on 8 threads,
with no limiter and no cache, is the same-run baseline.

The real boto3 path runs (SigV4 with signing name ``iam``, rest-json
parsing, retries) over loopback HTTP; the double runs in its own process.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness import BENCHMARKS_MD, ChildDouble, machine, publish, verdict
from p3_decode import fake_credentials, max_in_window
from toolbox_server import bench_ids

from diagnostics.decode import DecodeSettings
from diagnostics.model import Failure, SourceRef
from diagnostics.testing.toolbox_samples import ACCOUNT, SCP_DOCUMENTS
from diagnostics.troubleshooter import Resolver

GOAL_SHARE = 0.80
CALLS_PER_ID = 1 + len(SCP_DOCUMENTS)


def run_resolver(
    double: ChildDouble, failures: list[Failure], concurrency: int
) -> tuple[float, int, int, int]:
    """Resolve all, then all again: ``(seconds, calls, errors, calls on the second pass)``."""
    double.reset_calls()
    settings = DecodeSettings(
        region="us-east-1",
        toolbox_endpoint_url=double.endpoint_url,
        concurrency=concurrency,
        max_per_second=1000.0,
    )
    with Resolver(settings) as resolver:
        start = time.perf_counter()
        results = [f.result() for f in [resolver.submit(x) for x in failures]]
        seconds = time.perf_counter() - start
        errors = sum(1 for r in results if r.error or r.details is None)
        calls = len(double.call_times())
        again = [resolver.resolve(x) for x in failures]
        second = len(double.call_times()) - calls
        errors += sum(1 for r in again if r.details is None)
    return seconds, calls, errors, second


def run_bare(double: ChildDouble, ids: list[str], concurrency: int) -> tuple[float, int]:
    """The same three calls per ID from a plain boto3 client on ``concurrency`` threads."""
    import boto3
    from botocore.config import Config

    double.reset_calls()
    start = time.perf_counter()
    client = boto3.session.Session().client(
        "iam-toolbox",
        region_name="us-east-1",
        endpoint_url=double.endpoint_url,
        config=Config(max_pool_connections=concurrency * 2, retries={"mode": "standard"}),
    )

    def one(authorization_id: str) -> None:
        client.get_request_authorization_details(authorizationId=authorization_id)
        for uri in SCP_DOCUMENTS:
            client.get_request_authorization_policy(authorizationId=authorization_id, policyUri=uri)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, ids))
    seconds = time.perf_counter() - start
    return seconds, max_in_window(double.call_times())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ids", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print, do not edit BENCHMARKS.md")
    parser.add_argument("--md", type=Path, default=BENCHMARKS_MD, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    fake_credentials()
    ids = bench_ids(args.ids)
    failures = [
        Failure(
            kind="plain",
            source=SourceRef(path="bench", line=i + 1),
            account_id=ACCOUNT,
            authorization_id=authorization_id,
        )
        for i, authorization_id in enumerate(ids)
    ]
    bound = args.concurrency / args.latency  # requests per second
    ours: list[float] = []
    bare: list[float] = []
    errors = 0
    second_pass: list[int] = []
    calls_seen: list[int] = []
    with ChildDouble(
        "toolbox_server.py", f"--latency={args.latency}", f"--ids={args.ids}"
    ) as double:
        run_bare(double, ids[: args.concurrency], args.concurrency)  # warm-up: imports, pools
        for i in range(args.runs):
            for who in ("ours", "bare") if i % 2 == 0 else ("bare", "ours"):
                if who == "ours":
                    seconds, calls, errs, second = run_resolver(double, failures, args.concurrency)
                    ours.append(seconds)
                    calls_seen.append(calls)
                    errors += errs
                    second_pass.append(second)
                else:
                    seconds, _window = run_bare(double, ids, args.concurrency)
                    bare.append(seconds)
                rate = args.ids * CALLS_PER_ID / seconds
                print(
                    f"  {who:<5} {rate:7.1f} requests/s ({rate / bound:.0%} of bound)", flush=True
                )

    requests = args.ids * CALLS_PER_ID
    ours_rate = [requests / s for s in ours]
    bare_rate = [requests / s for s in bare]
    med = statistics.median(ours_rate)
    share = med / bound
    bare_med = statistics.median(bare_rate)
    cache_ok = all(c == 0 for c in second_pass)
    calls_ok = all(c == requests for c in calls_seen)
    passed = share >= GOAL_SHARE and cache_ok and calls_ok and errors == 0
    rows = [
        "| contender | min requests/s | median | max | median ÷ bound | resolves/s (median) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, rates in (("Resolver", ours_rate), ("bare boto3, 8 threads", bare_rate)):
        m = statistics.median(rates)
        rows.append(
            f"| {name} | {min(rates):.1f} | {m:.1f} | {max(rates):.1f} | {m / bound:.0%} | "
            f"{m / CALLS_PER_ID:.1f} |"
        )
    table = "\n".join(rows)
    body = f"""## P8: authorization-ID resolve throughput against the loopback iam-toolbox double

Goal: {args.ids} distinct authorization IDs, concurrency {args.concurrency},
{args.latency * 1000:.0f} ms added latency at the double; each ID is {CALLS_PER_ID} requests
(GetRequestAuthorizationDetails, then GetRequestAuthorizationPolicy for the two policies that
matched), so the concurrency bound is {bound:.0f} requests/s ({bound / CALLS_PER_ID:.1f} IDs/s).
At least {GOAL_SHARE:.0%} of it, and 0 calls when the same IDs come again (cache).

- throughput: median **{med:.1f} requests/s = {share:.0%} of the concurrency bound**
  ({med / CALLS_PER_ID:.1f} IDs/s; bare boto3 in the same run: {bare_med:.1f} requests/s, so the
  resolver keeps {med / bare_med:.0%} of what boto3 itself reaches) {verdict(share >= GOAL_SHARE)}
- requests per pass: {sorted(set(calls_seen))} (expected {requests}) {verdict(calls_ok)}
- cache: calls on the second pass over the same IDs: {second_pass} {verdict(cache_ok)}
- resolve errors: {errors} {verdict(errors == 0)}

Reproduce: `python bench/p8_resolve.py --ids {args.ids} --concurrency {args.concurrency}
--runs {args.runs}` (the double, `ToolboxDouble(latency={args.latency:g})` from
`diagnostics.testing`, runs in its own process via `bench/toolbox_server.py`; `Resolver` with
`DecodeSettings(concurrency={args.concurrency}, max_per_second=1000,
toolbox_endpoint_url=<double>)`; {args.runs} alternating runs).

Machine: {machine()}.

{table}
"""
    publish("P8", body, write=not args.no_write, path=args.md)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
