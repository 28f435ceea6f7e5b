"""Watch latency: time from a line appended to a tailed file to its alert on stdout.

Runs the installed `authz-diag watch` (file source, group_wait "0s", decode
off, stdout JSON sink) and appends lines at a steady rate.  One line in
``--every`` is a failure with a unique resource (its own alert group); the
rest are ordinary log lines the extractor must still read.  Prints p50/p99
latency of the failure lines and the daemon's peak RSS (VmHWM).

    python bench/latency.py --rate 10000 --seconds 10 --every 100
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

NOISE = "2024-05-01T12:00:00Z app INFO GET /healthz 200 0.001s request_id=abcdef0123456789\n"


def failure(i: int) -> str:
    return (
        "2024-05-01T12:00:00Z app ERROR User: arn:aws:iam::123456789012:user/bench is not "
        f"authorized to perform: s3:GetObject on resource: arn:aws:s3:::bench/m-{i} "
        "because no identity-based policy allows the s3:GetObject action\n"
    )


def peak_rss_mb(pid: int) -> float:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmHWM:"):
            return int(row.split()[1]) / 1024
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=int, default=10_000, help="lines per second")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--every", type=int, default=100, help="one failure line per N lines")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="authz-latency-"))
    logs = tmp / "logs"
    logs.mkdir()
    log = logs / "app.log"
    log.write_text("")
    cfg = tmp / "watch.toml"
    cfg.write_text(
        f'state_dir = "{tmp / "state"}"\npoll_interval = "1s"\n'
        "[decode]\nenabled = false\n"
        '[alerts]\nstorm_threshold = 0\ngroup_wait = "0s"\n'
        f'[[source]]\ntype = "file"\npaths = ["{logs}/*.log"]\n'
        '[[sink]]\ntype = "stdout"\nformat = "json"\n'
    )
    exe = shutil.which("authz-diag", path=str(Path(sys.executable).parent)) or "authz-diag"
    proc = subprocess.Popen(
        [exe, "watch", "--config", str(cfg), "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    written: dict[int, float] = {}
    received: dict[int, float] = {}

    def reader() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            now = time.monotonic()
            try:
                res = json.loads(raw)["diagnoses"][0]["resource"]
                received.setdefault(int(res.rsplit("-", 1)[1]), now)
            except (ValueError, KeyError, IndexError):
                continue

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(2.0)  # startup: imports, rules, first pass

    batch = max(1, args.rate // 100)  # write every 10 ms
    total = int(args.rate * args.seconds)
    marker = 0
    n = 0
    start = time.monotonic()
    with log.open("a", buffering=1 << 16) as fh:
        while n < total:
            parts = []
            stamps = []
            for _ in range(batch):
                if n % args.every == 0:
                    parts.append(failure(marker))
                    stamps.append(marker)
                    marker += 1
                else:
                    parts.append(NOISE)
                n += 1
            fh.write("".join(parts))
            fh.flush()
            now = time.monotonic()
            for m in stamps:
                written[m] = now
            next_at = start + n / args.rate
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    elapsed = time.monotonic() - start
    deadline = time.monotonic() + 15
    while len(received) < marker and time.monotonic() < deadline:
        time.sleep(0.05)
    rss = peak_rss_mb(proc.pid)
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)

    lat = sorted((received[m] - written[m]) * 1000 for m in written if m in received)
    if not lat:
        print("no alerts received", file=sys.stderr)
        return 1

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))]

    print(
        json.dumps(
            {
                "lines": n,
                "achieved_lines_per_s": round(n / elapsed),
                "failures": marker,
                "alerts_received": len(received),
                "lost": marker - len(lat),
                "p50_ms": round(pct(50), 1),
                "p99_ms": round(pct(99), 1),
                "max_ms": round(lat[-1], 1),
                "peak_rss_mb": round(rss, 1),
                "cpus": os.cpu_count(),
            }
        )
    )
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
