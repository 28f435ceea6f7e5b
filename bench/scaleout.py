"""Scale-out benchmark (issue 6): 1, 2 and 3 `authz-diag watch` daemons on one SQS queue.

Everything runs on loopback: moto's server provides S3, SQS and DynamoDB.
A generated CloudTrail tree (gzip deliveries, one failure per alert group)
is put in S3, S3 event notifications go to one queue, and N daemons started
from the installed console script consume it.  Throughput is failures
alerted per second from the moment every daemon is ready to the last alert.
The zlib-only bound is how fast this machine merely gunzips the same
deliveries: no daemon can read records faster.

    python bench/scaleout.py --failures 3000 --workers 1 2 3

The same harness drives tests/test_scaleout.py.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REGION = "us-east-1"
ACCOUNTS = ("111111111111", "222222222222", "333333333333")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's threaded server on a free loopback port; yields its endpoint URL."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    # Port 0: the server binds a port the kernel picks, so no other process (a parallel
    # test worker) can take it between choosing it and binding it.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def client(service: str, endpoint: str) -> Any:
    import boto3

    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],  # moto accepts any
    )


def record(n: int, ok: bool = False) -> dict[str, Any]:
    """A CloudTrail record; failures get a resource (and so an alert group) of their own."""
    account = ACCOUNTS[n % len(ACCOUNTS)]
    user = f"arn:aws:iam::{account}:user/dev-{n % 11}"
    rec: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": user, "accountId": account},
        "eventTime": "2024-05-01T12:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject" if not ok else "ListBuckets",
        "awsRegion": REGION,
        "eventID": f"{'ok' if ok else 'ev'}-{n:08d}-0000-4000-8000-000000000000",
        "recipientAccountId": account,
    }
    if not ok:
        resource = f"arn:aws:s3:::data-{account}/object-{n}"
        rec["errorCode"] = "AccessDenied"
        rec["errorMessage"] = (
            f"User: {user} is not authorized to perform: s3:GetObject on resource: "
            f'"{resource}" because no identity-based policy allows the s3:GetObject action'
        )
    return rec


@dataclass
class Tree:
    bucket: str
    queue_url: str
    #: eventID -> S3 key of the delivery holding it.
    where: dict[str, str] = field(default_factory=dict)
    bodies: dict[str, bytes] = field(default_factory=dict)
    records: int = 0


def make_tree(
    endpoint: str, *, failures: int, per_object: int, visibility: int, tag: str, notify: bool = True
) -> Tree:
    """Bucket, queue (with a dead-letter queue), S3 notifications to it, and the deliveries."""
    s3, sqs = client("s3", endpoint), client("sqs", endpoint)
    bucket, queue = f"trail-{tag}", f"authz-{tag}"
    s3.create_bucket(Bucket=bucket)
    dlq = sqs.create_queue(QueueName=f"{queue}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=queue,
        Attributes={
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    if notify:
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
            },
        )
    tree = Tree(bucket, url)
    n = 0
    obj = 0
    while n < failures:
        recs = []
        for _ in range(min(per_object, failures - n)):
            recs.append(record(n))
            recs.append(record(n, ok=True))  # deliveries are mostly successful calls
            n += 1
        account = recs[0]["recipientAccountId"]
        key = (
            f"AWSLogs/o-abcdefghij/{account}/CloudTrail/{REGION}/2024/05/01/"
            f"{account}_CloudTrail_{REGION}_20240501T1200Z_{obj:016x}.json.gz"
        )
        body = gzip.compress(json.dumps({"Records": recs}).encode())
        tree.bodies[key] = body
        tree.records += len(recs)
        for r in recs:
            if "errorCode" in r:
                tree.where[r["eventID"]] = key
        obj += 1
    return tree


def upload(endpoint: str, tree: Tree) -> None:
    s3 = client("s3", endpoint)
    for key, body in tree.bodies.items():
        s3.put_object(Bucket=tree.bucket, Key=key, Body=body)


def enqueue_notifications(endpoint: str, tree: Tree) -> None:
    """S3 ObjectCreated notifications, as S3 would send them, ten per SendMessageBatch."""
    sqs = client("sqs", endpoint)
    keys = list(tree.bodies)
    for i in range(0, len(keys), 10):
        entries = []
        for n, key in enumerate(keys[i : i + 10]):
            body = {
                "Records": [
                    {
                        "eventVersion": "2.1",
                        "eventSource": "aws:s3",
                        "awsRegion": REGION,
                        "eventName": "ObjectCreated:Put",
                        "s3": {"bucket": {"name": tree.bucket}, "object": {"key": key}},
                    }
                ]
            }
            entries.append({"Id": str(n), "MessageBody": json.dumps(body)})
        sqs.send_message_batch(QueueUrl=tree.queue_url, Entries=entries)


def wait_queue(endpoint: str, url: str, count: int, timeout: float = 30.0) -> None:
    sqs = client("sqs", endpoint)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attrs = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        if int(attrs["ApproximateNumberOfMessages"]) >= count:
            return
        time.sleep(0.05)
    raise TimeoutError(f"the queue did not reach {count} notifications")


def watch_argv() -> list[str]:
    exe = Path(sys.executable).parent / "authz-diag"
    found = str(exe) if exe.exists() else shutil.which("authz-diag")
    return [found] if found else [sys.executable, "-m", "diagnostics"]


class Worker:
    """One `authz-diag watch` subprocess; its JSON alerts go to a file."""

    def __init__(
        self,
        root: Path,
        name: str,
        endpoint: str,
        queue_url: str,
        *,
        visibility: int,
        dedup_table: str | None = None,
        slow: random.Random | None = None,
    ) -> None:
        """``slow``: alerts reach the file through a pipe drained with random stalls,
        so the daemon's deliveries block at random points (bench/scaleout_kill.py)."""
        self.dir = root / name
        self.dir.mkdir(parents=True)
        self.out = self.dir / "alerts.jsonl"
        self.err = self.dir / "stderr.log"
        # A short lease: the killed worker's claims must run out well within the
        # test's wait (the 60 s default outlasts it on a loaded 2-core machine).
        dedup = f'dedup_table = "{dedup_table}"\ndedup_lease = "10s"\n' if dedup_table else ""
        cfg = self.dir / "watch.toml"
        cfg.write_text(
            f'state_dir = "{self.dir / "state"}"\n'
            'drain_timeout = "5s"\n'
            "[decode]\nenabled = false\n"
            '[alerts]\ngroup_wait = "0s"\ngroup_interval = "1h"\nrepeat_interval = "4h"\n'
            # One alert per distinct line is what these count: no storm folding.
            "storm_threshold = 0\n"
            f"{dedup}"
            "[[source]]\n"
            'type = "sqs"\n'
            f'queue_url = "{queue_url}"\n'
            f'region = "{REGION}"\n'
            f'endpoint_url = "{endpoint}"\n'
            f's3_endpoint_url = "{endpoint}"\n'
            "wait_time_seconds = 1\n"
            f"visibility_timeout = {visibility}\n"
            '[[sink]]\ntype = "stdout"\nformat = "json"\n'
        )
        env = {
            **os.environ,
            **CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        env.pop("NOTIFY_SOCKET", None)
        self._copier: threading.Thread | None = None
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                [*watch_argv(), "watch", "--config", str(cfg)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if slow else out,
                stderr=err,
                env=env,
            )
        if slow is not None:
            assert self.proc.stdout is not None
            self._copier = threading.Thread(
                target=_drain_slowly, args=(self.proc.stdout, self.out, slow), daemon=True
            )
            self._copier.start()

    def ready(self) -> bool:
        return b"ready" in self.err.read_bytes()

    def alerts(self) -> list[dict[str, Any]]:
        out = []
        for line in self.out.read_bytes().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line cut by kill -9
        return out

    def event_ids(self) -> list[str]:
        ids = []
        for alert in self.alerts():
            for src in alert.get("sources", []):
                if isinstance(src, str) and src.startswith("cloudtrail:"):
                    ids.append(src.split(":", 1)[1])
        return ids

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._copier is not None:
            self._copier.join(60)


def _drain_slowly(pipe: Any, path: Path, rng: random.Random) -> None:
    """Copy the daemon's stdout to ``path`` in small reads with random stalls.

    What the daemon wrote into the pipe is delivered (it outlives a kill -9);
    the stalls make its writes block, so kills land between commit and delivery.
    """
    with path.open("ab") as out:
        while chunk := pipe.read1(2048):
            out.write(chunk)
            out.flush()
            time.sleep(rng.uniform(0.3, 1.0) if rng.random() < 0.03 else rng.uniform(0, 0.01))


def alerted(workers: list[Worker]) -> Counter[str]:
    return Counter(eid for w in workers for eid in w.event_ids())


def wait_all(workers: list[Worker], expected: set[str], timeout: float) -> Counter[str]:
    deadline = time.monotonic() + timeout
    while True:
        seen = alerted(workers)
        if expected <= set(seen) or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


def wait_ready(workers: list[Worker], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(w.ready() for w in workers):
        for w in workers:
            if w.proc.poll() is not None:
                raise RuntimeError(f"worker exited early: {w.err.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError("workers did not become ready")
        time.sleep(0.05)


def zlib_bound(tree: Tree) -> float:
    """Records per second this machine gunzips the deliveries at (json parsing excluded)."""
    start = time.perf_counter()
    for body in tree.bodies.values():
        zlib.decompress(body, wbits=47)
    return tree.records / (time.perf_counter() - start)


def run(
    endpoint: str, root: Path, n_workers: int, failures: int, per_object: int
) -> dict[str, Any]:
    tree = make_tree(
        endpoint,
        failures=failures,
        per_object=per_object,
        visibility=30,
        tag=f"b{n_workers}",
        notify=False,
    )
    upload(endpoint, tree)
    workers = [
        Worker(root / f"run{n_workers}", f"w{i}", endpoint, tree.queue_url, visibility=30)
        for i in range(n_workers)
    ]
    try:
        wait_ready(workers)
        start = time.monotonic()
        enqueue_notifications(endpoint, tree)
        seen = wait_all(workers, set(tree.where), timeout=600)
        elapsed = time.monotonic() - start
    finally:
        for w in workers:
            w.stop()
    missing = len(set(tree.where) - set(seen))
    return {
        "workers": n_workers,
        "failures": failures,
        "records": tree.records,
        "seconds": round(elapsed, 2),
        "failures_per_s": round(failures / elapsed, 1),
        "records_per_s": round(tree.records / elapsed, 1),
        "missing": missing,
        "duplicates": sum(c - 1 for c in seen.values() if c > 1),
        "zlib_records_per_s": round(zlib_bound(tree)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--failures", type=int, default=3000)
    ap.add_argument("--per-object", type=int, default=30)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--out", type=Path, default=Path("bench/out/scaleout"))
    args = ap.parse_args(argv)
    os.environ.update(CREDENTIALS)
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    rows = []
    with moto_server() as endpoint:
        for n in args.workers:
            row = run(endpoint, args.out, n, args.failures, args.per_object)
            rows.append(row)
            print(json.dumps(row), flush=True)
    base = rows[0]["failures_per_s"]
    for row in rows:
        print(f"{row['workers']} daemon(s): {row['failures_per_s']} failures/s "
              f"({row['failures_per_s'] / base:.2f}x), {row['records_per_s']} records/s; "
              f"zlib-only bound {row['zlib_records_per_s']} records/s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
