"""Three `authz-diag watch` processes on one SQS queue (moto server on loopback), one killed -9.

The harness (moto server, CloudTrail tree, workers) is bench/scaleout.py's.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_scaleout", ROOT / "bench" / "scaleout.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


so = _harness()


# Long enough that a live worker's visibility extension (its ack thread's, due at half
# of it) lands in time while another test process shares the 2 cores: at 5 s,
# and once at 10 s under pytest-xdist, SQS handed a message a live worker still held
# to another one. The killed worker's messages come back after at most this long.
VISIBILITY = 30
MAX_INFLIGHT = 50  # SqsSource default: messages one worker holds at most
# Failures per delivery; 100 deliveries either way.  With the table each alert costs
# moto DynamoDB calls in this process, so that run has half the failures per delivery:
# what it proves is about messages (held, killed, redelivered) and claims.
PER_OBJECT = {False: 30, True: 15}


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("dedup", [False, True], ids=["no-dedup-table", "dedup-table"])
def test_three_workers_one_killed_every_failure_alerted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dedup: bool
) -> None:
    """100 deliveries, a worker killed -9 and never restarted: every failure is alerted.

    A message is deleted only after its alerts are delivered, so what the dead
    worker held goes to the others; duplicates come only from its batch.
    """
    for k, v in so.CREDENTIALS.items():
        monkeypatch.setenv(k, v)
    with so.moto_server() as endpoint:
        tree = so.make_tree(
            endpoint,
            failures=100 * PER_OBJECT[dedup],
            per_object=PER_OBJECT[dedup],
            visibility=VISIBILITY,
            tag="t",
        )
        so.upload(endpoint, tree)  # S3 itself notifies the queue, one message per object
        so.wait_queue(endpoint, tree.queue_url, len(tree.bodies))
        table = None
        if dedup:
            from diagnostics.dedup import create_table

            table = "authz-dedup"
            create_table(so.client("dynamodb", endpoint), table)
        workers = [
            so.Worker(
                tmp_path, f"w{i}", endpoint, tree.queue_url, visibility=VISIBILITY,
                dedup_table=table,
            )
            for i in range(3)
        ]  # fmt: skip
        victim = workers[0]
        try:
            so.wait_ready(workers)
            deadline = time.monotonic() + 40
            while len(victim.event_ids()) < 150 and time.monotonic() < deadline:
                time.sleep(0.02)
            victim.kill9()
            assert len(victim.event_ids()) >= 150, "the victim never got going"
            # Waits on the condition; the bound only matters on a very loaded machine.
            seen = so.wait_all(workers, set(tree.where), timeout=150)
        finally:
            for w in workers:
                w.stop()
        stderr = "".join(w.err.read_text()[-1500:] for w in workers)
        missing = set(tree.where) - set(seen)
        assert missing == set(), (
            f"{len(missing)} failures never alerted, from "
            f"{len({tree.where[eid] for eid in missing})} objects; stderr tail:\n{stderr}"
        )
        assert set(seen) <= set(tree.where)  # and nothing that was not a failure
        duplicated = {eid for eid, n in seen.items() if n > 1}
        if dedup:
            # The table leaves one gap: alerts the victim wrote to its sink but had not
            # yet confirmed when it died run out of lease and are sent again. They are
            # the tail of its output, its last send; nothing earlier is repeated.
            mine = victim.event_ids()
            tail = set(mine[len(mine) - len(duplicated) :]) if duplicated else set()
            assert duplicated == tail, (
                f"{len(duplicated - tail)} alerts sent twice despite the table, "
                "other than the dead worker's last unconfirmed send"
            )
            return
        # Without the table: a duplicate is always something the killed worker had
        # alerted, from deliveries it held when it died (at most MAX_INFLIGHT messages).
        assert duplicated <= set(victim.event_ids())
        survivors = [eid for w in workers[1:] for eid in w.event_ids()]
        assert len(survivors) == len(set(survivors)), "a live worker alerted an event twice"
        objects = {tree.where[eid] for eid in duplicated}
        assert len(objects) <= MAX_INFLIGHT
