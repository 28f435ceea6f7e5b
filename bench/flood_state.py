"""How big the state database grows under a flood of distinct failures (issue 13).

    python bench/flood_state.py [--failures 200000] [--max-groups 10000]

Feeds ``--failures`` distinct denials (each its own group: a new account and
principal every time, so storms do not collapse them) through a real
``AlertManager`` on a real ``state.sqlite3``, ticking as the daemon does, and
reports the file's size.  The baseline, in the same run, is the same flood
with the cap and storms off (the behaviour before issue 13: groups live until
``repeat_interval``).  A second bounded run floods one account with a new
principal each time, which storm detection collapses.  Sizes are deterministic;
the add rate is the median of alternating runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from diagnostics.alerts import Alert, AlertManager, AlertSettings  # noqa: E402
from diagnostics.model import Diagnosis  # noqa: E402
from diagnostics.support.state import StateDB  # noqa: E402
from diagnostics.testing.alert_examples import run_instances_implicit_deny  # noqa: E402


class CountingSink:
    name = "count"

    def __init__(self) -> None:
        self.alerts = 0
        self.storms = 0

    def send(self, alerts: list[Alert]) -> None:
        self.alerts += len(alerts)
        self.storms += sum(1 for a in alerts if a.storm)

    def close(self, timeout: float) -> None:
        pass

    def reopen(self) -> None:
        pass


def failure(base: Diagnosis, i: int, one_account: bool) -> Diagnosis:
    acct = "123456789012" if one_account else f"{100000000000 + i}"
    f = dataclasses.replace(
        base.failure,
        account_id=acct,
        principal_arn=f"arn:aws:sts::{acct}:assumed-role/role-{i}/session",
        resource=f"arn:aws:ec2:us-east-1:{acct}:instance/i-{i:017x}",
    )
    return dataclasses.replace(base, failure=f)


def run(n: int, settings: AlertSettings, one_account: bool) -> dict[str, float]:
    base = run_instances_implicit_deny()
    with tempfile.TemporaryDirectory(prefix="flood-") as tmp:
        state = StateDB.in_dir(Path(tmp))
        sink = CountingSink()
        now = [1_700_000_000.0]
        mgr = AlertManager(settings, state, [sink], clock=lambda: now[0])
        start = time.perf_counter()
        for i in range(n):
            now[0] += 0.01
            mgr.add(failure(base, i, one_account), sample=f"line {i}")
            if i % 1000 == 999:
                mgr.tick()
        mgr.flush()
        elapsed = time.perf_counter() - start
        stats = mgr.stats()
        state.close()
        size = sum(p.stat().st_size for p in Path(tmp).iterdir() if p.is_file())
    return {
        "bytes": float(size),
        "seconds": elapsed,
        "groups": float(stats["groups"]),
        "evicted": float(stats.get("evicted_groups", 0)),
        "alerts": float(sink.alerts),
        "storms": float(sink.storms),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--failures", type=int, default=200_000)
    ap.add_argument("--max-groups", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=1, help="alternating runs per side")
    args = ap.parse_args()
    bounded = AlertSettings(max_groups=args.max_groups)
    unbounded = AlertSettings(max_groups=10**9, storm_threshold=0)
    sides: dict[str, list[dict[str, float]]] = {"bounded": [], "unbounded": []}
    for r in range(args.runs):
        order = ["bounded", "unbounded"] if r % 2 == 0 else ["unbounded", "bounded"]
        for side in order:
            cfg = bounded if side == "bounded" else unbounded
            sides[side].append(run(args.failures, cfg, one_account=False))
    storm = run(args.failures, bounded, one_account=True)
    mib = 1024 * 1024
    b, u = sides["bounded"][-1], sides["unbounded"][-1]
    rate_b = statistics.median(x["seconds"] for x in sides["bounded"])
    rate_u = statistics.median(x["seconds"] for x in sides["unbounded"])
    print(f"failures={args.failures} max_groups={args.max_groups} runs={args.runs}")
    for name, x in (("bounded", b), ("unbounded (baseline)", u), ("bounded, one account", storm)):
        print(
            f"{name:<22} size={x['bytes'] / mib:8.1f} MiB groups={int(x['groups']):>7} "
            f"evicted={int(x['evicted']):>7} alerts={int(x['alerts']):>7} "
            f"storm_alerts={int(x['storms'])} seconds={x['seconds']:.1f}"
        )
    print(f"size ratio bounded/unbounded = {b['bytes'] / u['bytes']:.3f}")
    print(f"time ratio bounded/unbounded = {rate_b / rate_u:.2f} (median)")
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load {load[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
