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
from urllib.parse import unquote_plus

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
        seen = so.wait_all(workers, set(tree.where), timeout=300)
        waited = time.monotonic() - start
    finally:
        for w in workers:
            w.stop()
    missing = set(tree.where) - set(seen)
    # Not alerted within the wait is not the same as lost: a message still on
    # the queue (handed back at shutdown, or not yet visible) would be alerted
    # by the next worker. Lost means its message was deleted.
    queued = _keys_on_queue(endpoint, tree.queue_url)
    lost = {eid for eid in missing if tree.where[eid] not in queued}
    duplicated = {eid for eid, n in seen.items() if n > 1}
    return {
        "seed": seed,
        "slow": slow,
        "dedup": dedup,
        "victim_alerted": len(set(victim.event_ids())),
        "not_alerted_in_wait": len(missing),
        "lost": len(lost),
        "duplicates": len(duplicated),
        "duplicates_outside_victim": len(duplicated - set(victim.event_ids())),
        "seconds_after_kill": round(waited, 1),
    }


def _keys_on_queue(endpoint: str, url: str) -> set[str]:
    """The S3 keys the messages left on the queue name (waits out their visibility)."""
    sqs = so.client("sqs", endpoint)
    keys: set[str] = set()
    quiet = 0
    while quiet < 3:
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=60
        ).get("Messages", [])
        quiet = 0 if got else quiet + 1
        for m in got:
            body = json.loads(m["Body"])
            for rec in body.get("Records", []):
                keys.add(unquote_plus(rec["s3"]["object"]["key"]))
        if not got:
            time.sleep(VISIBILITY / 2)
    return keys


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
    ok = sum(1 for r in rows if r["lost"] == 0 and r["duplicates_outside_victim"] == 0)
    print(f"{ok} of {len(rows)} runs lost nothing (duplicates only from the dead worker)")
    return 0 if ok == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
