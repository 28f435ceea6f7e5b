"""P3, decode throughput: ``Decoder`` against the loopback STS double with 50 ms latency.

    python bench/p3_decode.py               # 500 blobs, concurrency 8, 5 alternating runs
    python bench/p3_decode.py --blobs 40 --runs 1 --no-write

Goal (issue 7): at least 80% of the ideal concurrency / latency = 160
decodes/s, while the double never sees more requests in any one-second
window than the configured rate limit allows (the decoder's token bucket has
a burst of one, so at most ``max_per_second + 1``).  Then the same blobs
again must make 0 STS calls: the cache answers.  A bare boto3 client on 8
threads, with no limiter and no cache, is the same-run baseline.

The real boto3 path runs (signing, retries, XML parsing) over loopback HTTP.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from harness import BENCHMARKS_MD, machine, publish, verdict
from sts_server import answer

from diagnostics.decode import Decoder, DecodeSettings
from diagnostics.model import Failure, SourceRef
from diagnostics.support.ratelimit import TokenBucket
from diagnostics.testing.sts_double import DECODE, StsDouble, fake_blob

GOAL_SHARE = 0.80
ACCOUNT = "123456789012"


def fake_credentials() -> None:
    """Point boto3 at made-up keys and away from any real configuration."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    # A made-up key: the double checks only that requests are signed.
    os.environ.update(
        AWS_ACCESS_KEY_ID="AKIABENCHEXAMPLE0001",
        AWS_SECRET_ACCESS_KEY="bench-secret-not-real",  # noqa: S106
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/nonexistent/bench-aws-config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/bench-aws-credentials",
        AWS_EC2_METADATA_DISABLED="true",
    )


def max_in_window(times: Sequence[float], window: float = 1.0) -> int:
    """The most events in any half-open interval of ``window`` seconds."""
    ordered = sorted(times)
    best = lo = 0
    for hi, t in enumerate(ordered):
        while ordered[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class Double:
    """The STS double in a child process (default) or in this one (``in_process``)."""

    def __init__(self, latency: float, *, in_process: bool = False) -> None:
        self._local: StsDouble | None = None
        self._proc: subprocess.Popen[str] | None = None
        if in_process:
            self._local = StsDouble(default=answer, latency=latency).start()
            self.endpoint_url = self._local.endpoint_url
        else:
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    str(Path(__file__).with_name("sts_server.py")),
                    f"--latency={latency}",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            self.endpoint_url = self._ask("")

    def _ask(self, command: str) -> str:
        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        if command:
            self._proc.stdin.write(command + "\n")
            self._proc.stdin.flush()
        return self._proc.stdout.readline().strip()

    def reset_calls(self) -> None:
        if self._local is not None:
            self._local.reset_calls()
        else:
            self._ask("reset")

    def call_times(self) -> list[float]:
        if self._local is not None:
            return [c.received_at for c in self._local.calls if c.action == DECODE]
        times: list[float] = json.loads(self._ask("calls"))
        return times

    def call_count(self) -> int:
        return len(self.call_times())

    def __enter__(self) -> Double:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._local is not None:
            self._local.stop()
        if self._proc is not None:
            self._ask("quit")
            self._proc.wait(timeout=10)


class Measure:
    """One contender's timings and what the double saw during its runs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seconds: list[float] = []
        self.max_window: list[int] = []

    def rate(self, blobs: int) -> list[float]:
        return [blobs / s for s in self.seconds]


def run_decoder(
    sts: Double, failures: list[Failure], rate: float, concurrency: int, burst: float | None = None
) -> tuple[float, int, int, int]:
    """Decode all, then all again.

    Returns ``(seconds, most calls in 1 s, errors, STS calls on the second pass)``.
    """
    sts.reset_calls()
    settings = DecodeSettings(
        region="us-east-1",
        endpoint_url=sts.endpoint_url,
        concurrency=concurrency,
        max_per_second=rate,
    )
    # burst None: the decoder's own default bucket (burst 1).
    bucket = TokenBucket(rate, burst=burst) if burst is not None else None
    with Decoder(settings, bucket=bucket) as decoder:
        start = time.perf_counter()
        results = list(decoder.decode_many(failures))
        seconds = time.perf_counter() - start
        errors = sum(1 for _, r in results if r.error or r.decoded is None)
        window = max_in_window(sts.call_times())
        before = sts.call_count()
        again = list(decoder.decode_many(failures))
        second_pass = sts.call_count() - before
        errors += sum(1 for _, r in again if r.decoded is None)
    return seconds, window, errors, second_pass


def run_bare(sts: Double, blobs: list[str], concurrency: int) -> tuple[float, int]:
    """The same calls from a plain boto3 client on ``concurrency`` threads."""
    import boto3
    from botocore.config import Config

    sts.reset_calls()
    # The client is made inside the timing, as the decoder makes its own inside.
    start = time.perf_counter()
    client = boto3.session.Session().client(
        "sts",
        endpoint_url=sts.endpoint_url,
        config=Config(max_pool_connections=concurrency * 2, retries={"mode": "standard"}),
    )
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda b: client.decode_authorization_message(EncodedMessage=b), blobs))
    seconds = time.perf_counter() - start
    return seconds, max_in_window(sts.call_times())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blobs", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rate", type=float, default=200.0, help="decoder max_per_second")
    parser.add_argument("--capped-rate", type=float, default=100.0, help="rate for the cap check")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--in-process", action="store_true", help="run the double in this process (shares the GIL)"
    )
    parser.add_argument(
        "--burst",
        type=float,
        help="give the decoder a token bucket with this burst (default: its own)",
    )
    parser.add_argument("--no-write", action="store_true", help="print, do not edit BENCHMARKS.md")
    parser.add_argument("--md", type=Path, default=BENCHMARKS_MD, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    fake_credentials()
    blobs = [fake_blob(f"p3-{i}", 600 + (i * 37) % 2400) for i in range(args.blobs)]
    failures = [
        Failure(
            kind="encoded",
            source=SourceRef(path="bench", line=i + 1),
            encoded_message=b,
            account_id=ACCOUNT,
        )
        for i, b in enumerate(blobs)
    ]
    ideal = args.concurrency / args.latency
    ours = Measure(f"Decoder (limit {args.rate:g}/s)")
    bare = Measure("bare boto3, 8 threads")
    errors = 0
    cache_calls: list[int] = []
    with Double(args.latency, in_process=args.in_process) as sts:
        run_bare(sts, blobs[: args.concurrency], args.concurrency)  # warm-up: imports, pools
        for i in range(args.runs):
            order = ("ours", "bare") if i % 2 == 0 else ("bare", "ours")
            for who in order:
                if who == "ours":
                    seconds, window, errs, second = run_decoder(
                        sts, failures, args.rate, args.concurrency, args.burst
                    )
                    ours.seconds.append(seconds)
                    ours.max_window.append(window)
                    errors += errs
                    cache_calls.append(second)
                else:
                    seconds, window = run_bare(sts, blobs, args.concurrency)
                    bare.seconds.append(seconds)
                    bare.max_window.append(window)
                print(
                    f"  {who:<5} {args.blobs / seconds:7.1f} decodes/s  max/1s {window}", flush=True
                )
        capped_s, capped_window, capped_errs, _ = run_decoder(
            sts, failures, args.capped_rate, args.concurrency, args.burst
        )
        errors += capped_errs

    med = statistics.median(ours.rate(args.blobs))
    share = med / ideal
    allowance = args.burst if args.burst is not None else 1.0
    limit_ok = (
        max(ours.max_window) <= args.rate + allowance
        and capped_window <= args.capped_rate + allowance
    )
    cache_ok = all(c == 0 for c in cache_calls)
    passed = share >= GOAL_SHARE and limit_ok and cache_ok and errors == 0
    rows = ["| contender | min decodes/s | median | max | median ÷ ideal | most calls in 1 s |"]
    rows.append("|---|---:|---:|---:|---:|---:|")
    for m in (ours, bare):
        r = m.rate(args.blobs)
        rows.append(
            f"| {m.name} | {min(r):.1f} | {statistics.median(r):.1f} | {max(r):.1f} | "
            f"{statistics.median(r) / ideal:.0%} | {max(m.max_window)} |"
        )
    bare_med = statistics.median(bare.rate(args.blobs))
    table = "\n".join(rows)

    body = f"""## P3: decode throughput against the loopback STS double

Goal: {args.blobs} distinct blobs, concurrency {args.concurrency}, {args.latency * 1000:.0f} ms
added latency at the double: at least {GOAL_SHARE:.0%} of the ideal {ideal:.0f} decodes/s, never
more requests in any one-second window than the configured rate limit allows (token bucket, burst
1: at most limit + 1), and 0 STS calls when the same blobs come again (cache).

- throughput: median **{med:.1f} decodes/s = {share:.0%} of ideal** (bare boto3 in the same run:
  {bare_med:.1f}/s, so the decoder keeps {med / bare_med:.0%} of what boto3 itself reaches)
  {verdict(share >= GOAL_SHARE)}
- rate limit {args.rate:g}/s: most calls the double saw in any 1 s: {max(ours.max_window)};
  with the limit at {args.capped_rate:g}/s: {capped_window} in any 1 s, overall
  {args.blobs / capped_s:.1f} decodes/s {verdict(limit_ok)}
- cache: STS calls on the second pass over the same blobs: {cache_calls} {verdict(cache_ok)}
- decode errors: {errors} {verdict(errors == 0)}

Reproduce: `python bench/p3_decode.py --blobs {args.blobs} --concurrency {args.concurrency}
--runs {args.runs}` (the double, `StsDouble(latency={args.latency:g})` from
`diagnostics.testing`, runs in its own process via `bench/sts_server.py`, so its
CPU work does not compete for the decoder's interpreter lock; `Decoder` with
`DecodeSettings(concurrency={args.concurrency}, max_per_second={args.rate:g},
endpoint_url=<double>)`; {args.runs} alternating runs).

Machine: {machine()}.

{table}
"""
    publish("P3", body, write=not args.no_write, path=args.md)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
