"""The scale-out kill test, repeated: a worker killed -9 and never restarted loses nothing.

Each run: 3,000 failures in 100 S3 deliveries on one SQS queue (moto server on
loopback), three `authz-diag watch` daemons, one killed with SIGKILL once it has
alerted 150 failures, never restarted. With ``--slow`` every daemon's alerts go
through a pipe drained with random stalls, so deliveries block at random points
and the kill lands between a commit and its delivery. A run passes when every
failure is alerted; duplicates are counted (they come only from the dead
worker's last batch).

    python bench/scaleout_kill.py --runs 10 --slow [--dedup]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scaleout as so

VISIBILITY = 5


def kill_run(endpoint: str, root: Path, seed: int, *, slow: bool, dedup: bool) -> dict[str, Any]:
    tree = so.make_tree(
        endpoint, failures=3000, per_object=30, visibility=VISIBILITY, tag=f"k{seed}"
    )
    so.upload(endpoint, tree)
    so.wait_queue(endpoint, tree.queue_url, len(tree.bodies))
    table = None
    if dedup:
        from diagnostics.dedup import create_table

        table = f"authz-dedup-{seed}"
        create_table(so.client("dynamodb", endpoint), table)
    workers = [
        so.Worker(
            root / f"run{seed}", f"w{i}", endpoint, tree.queue_url, visibility=VISIBILITY,
            dedup_table=table, slow=random.Random(seed * 10 + i) if slow else None,
        )
        for i in range(3)
    ]  # fmt: skip
    victim = workers[0]
    try:
        so.wait_ready(workers)
        deadline = time.monotonic() + 60
        while len(victim.event_ids()) < 150 and time.monotonic() < deadline:
            time.sleep(0.02)
        victim.kill9()
        start = time.monotonic()
        seen = so.wait_all(workers, set(tree.where), timeout=180)
        waited = time.monotonic() - start
    finally:
        for w in workers:
            w.stop()
    missing = set(tree.where) - set(seen)
    duplicated = {eid for eid, n in seen.items() if n > 1}
    return {
        "seed": seed,
        "slow": slow,
        "dedup": dedup,
        "victim_alerted": len(set(victim.event_ids())),
        "missing": len(missing),
        "duplicates": len(duplicated),
        "duplicates_outside_victim": len(duplicated - set(victim.event_ids())),
        "seconds_after_kill": round(waited, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--slow", action="store_true", help="deliveries stall at random points")
    ap.add_argument("--dedup", action="store_true", help="with the DynamoDB dedup table")
    ap.add_argument("--out", type=Path, default=Path("bench/out/scaleout-kill"))
    args = ap.parse_args(argv)
    os.environ.update(so.CREDENTIALS)
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    rows = []
    with so.moto_server() as endpoint:
        for seed in range(1, args.runs + 1):
            row = kill_run(endpoint, args.out, seed, slow=args.slow, dedup=args.dedup)
            rows.append(row)
            print(json.dumps(row), flush=True)
    ok = sum(1 for r in rows if r["missing"] == 0 and r["duplicates_outside_victim"] == 0)
    print(f"{ok} of {len(rows)} runs alerted every failure (duplicates only from the dead worker)")
    return 0 if ok == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
