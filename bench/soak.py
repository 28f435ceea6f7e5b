"""Soak: the watch daemon for N minutes at a steady line rate, rotating, with a flaky Slack.

The installed `authz-diag watch` tails ``logs/app.log`` (file source), which a
writer appends to at ``--rate`` lines/s and renames away (rename+create) every
``--rotate`` seconds.  One line in ``--every`` is a failure on one of
``--resources`` resources (each its own alert group); the rest are ordinary
lines.  Alerts go to a file sink and to a loopback Slack receiver that answers
500 to ``--slack-fail`` of the posts at random.  Every ``--sample`` seconds the
daemon's RSS is recorded.

At the end (SIGTERM, drain) the counts are checked:
- lost failures: failure lines written minus occurrences counted in the alert
  groups of the state database (0 when nothing was dropped or left unread);
- missing groups: resources never alerted (file sink);
- duplicate alerts: notification ids written twice to the file sink, and Slack
  posts accepted for the same notification more than once;
- RSS growth: the last sample against the first after ``--warmup`` seconds.

    python bench/soak.py --minutes 30        # the issue's run; CI never runs it

Prints progress lines, then one JSON object; exit status 1 if a check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from diagnostics.testing.slack_receiver import SlackReceiver, _Rule

NOISE = "2024-05-01T12:00:00Z app INFO GET /healthz 200 0.001s request_id=abcdef0123456789\n"


def failure(r: int) -> str:
    return (
        "2024-05-01T12:00:00Z app ERROR User: arn:aws:iam::123456789012:user/soak is not "
        f"authorized to perform: s3:GetObject on resource: arn:aws:s3:::soak/r-{r} "
        "because no identity-based policy allows the s3:GetObject action\n"
    )


class FlakyReceiver(SlackReceiver):
    """Answers 500 to a random ``share`` of the posts (seeded), 200 to the rest."""

    def __init__(self, share: float, seed: int) -> None:
        super().__init__()
        self._share = share
        self._rng = random.Random(seed)

    def _next_rule(self) -> _Rule | None:
        scripted = super()._next_rule()
        if scripted is not None:
            return scripted
        return _Rule(500) if self._rng.random() < self._share else None


class Writer(threading.Thread):
    """Appends at ``rate`` lines/s in 10 ms slices; renames the file away every ``rotate`` s."""

    def __init__(self, log: Path, args: argparse.Namespace, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.log, self.args, self.stop_ev = log, args, stop
        self.lines = 0
        self.failures: Counter[int] = Counter()
        self.rotations = 0

    def run(self) -> None:
        a = self.args
        fh = self.log.open("a")
        start = last_rotate = time.monotonic()
        while not self.stop_ev.is_set():
            now = time.monotonic()
            if now - last_rotate >= a.rotate:
                fh.close()
                self.log.replace(self.log.with_name(self.log.name + ".1"))
                fh = self.log.open("a")
                self.rotations += 1
                last_rotate = now
            due = int((now - start) * a.rate)
            chunk: list[str] = []
            while self.lines < due:
                self.lines += 1
                if self.lines % a.every == 0:
                    r = (self.lines // a.every) % a.resources
                    self.failures[r] += 1
                    chunk.append(failure(r))
                else:
                    chunk.append(NOISE)
            if chunk:
                fh.write("".join(chunk))
                fh.flush()
            time.sleep(0.01)
        fh.close()


def rss_mb(pid: int) -> float:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) / 1024
    return 0.0


def write_config(work: Path, args: argparse.Namespace) -> Path:
    cfg = work / "watch.toml"
    cfg.write_text(
        f'state_dir = "{work / "state"}"\n'
        'drain_timeout = "30s"\npoll_interval = "250ms"\n'
        "[decode]\nenabled = false\n"
        f'[alerts]\ngroup_wait = "1s"\ngroup_interval = "{args.group_interval}s"\n'
        "storm_threshold = 0\n"  # the soak counts one alert per distinct failure
        f'repeat_interval = "{args.repeat_interval}s"\n'
        f'[[source]]\ntype = "file"\npaths = ["{work / "logs"}/*.log"]\n'
        f'[[sink]]\ntype = "file"\nname = "file"\npath = "{work / "alerts.jsonl"}"\n'
        'detail = "summary"\n'
        '[[sink]]\ntype = "slack"\nname = "slack"\nwebhook_url_env = "SOAK_WEBHOOK"\n'
        f"max_per_second = {args.slack_rate}\nspool_max = 1000\ntimeout = 5\n"
    )
    return cfg


def counted(state_dir: Path) -> dict[str, int]:
    """Occurrences per resource counted in the alert groups (after the daemon stopped)."""
    conn = sqlite3.connect(state_dir / "state.sqlite3")
    try:
        rows = conn.execute("SELECT key, count FROM alert_groups").fetchall()
    finally:
        conn.close()
    out: dict[str, int] = {}
    for key, n in rows:
        res = json.loads(key).get("resource") or ""
        out[res] = out.get(res, 0) + int(n)
    return out


def file_alerts(path: Path) -> tuple[Counter[str], set[str]]:
    ids: Counter[str] = Counter()
    resources: set[str] = set()
    for raw in path.read_bytes().splitlines():
        obj = json.loads(raw)
        ids[obj["notification_id"]] += 1
        resources.update(d["resource"] for d in obj["diagnoses"])
    return ids, resources


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    (work / "logs").mkdir(parents=True)
    log = work / "logs" / "app.log"
    log.touch()
    cfg = write_config(work, args)
    rx = FlakyReceiver(args.slack_fail, args.seed).start()
    env = {**os.environ, "SOAK_WEBHOOK": rx.url}
    exe = shutil.which("authz-diag", path=str(Path(sys.executable).parent))
    argv = [exe] if exe else [sys.executable, "-m", "diagnostics"]
    err = (work / "stderr.log").open("wb")
    proc = subprocess.Popen(
        [*argv, "watch", "--config", str(cfg)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=err,
        env=env,
    )
    time.sleep(3)  # let it open the file before the first line (start_at = "end")
    stop = threading.Event()
    writer = Writer(log, args, stop)
    writer.start()
    t0 = time.monotonic()
    samples: list[tuple[float, float]] = []
    end = t0 + args.minutes * 60
    while time.monotonic() < end and proc.poll() is None:
        time.sleep(min(args.sample, max(0.0, end - time.monotonic())))
        t = round(time.monotonic() - t0, 1)
        samples.append((t, round(rss_mb(proc.pid), 1)))
        print(f"t={t:7.1f}s rss={samples[-1][1]:6.1f} MB lines={writer.lines} "
              f"rotations={writer.rotations} slack_posts={len(rx.posts)}", flush=True)  # fmt: skip
    stop.set()
    writer.join()
    time.sleep(args.settle)  # the daemon reads the last lines and rotated tail
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(60)
    err.close()
    # Slack: what was spooled is delivered by the next start; count what arrived.
    rx.stop()
    ids, alerted_resources = file_alerts(work / "alerts.jsonl")
    got = counted(work / "state")
    want = {f"arn:aws:s3:::soak/r-{r}": n for r, n in writer.failures.items()}
    lost = sum(max(0, n - got.get(res, 0)) for res, n in want.items())
    extra = sum(max(0, got.get(res, 0) - n) for res, n in want.items())
    slack_ok = Counter(p.body for p in rx.posts if p.status == 200)
    warm = [m for t, m in samples if t >= args.warmup] or [m for _, m in samples]
    growth = (warm[-1] - warm[0]) / warm[0] * 100 if warm and warm[0] else 0.0
    return {
        "minutes": args.minutes,
        "lines_written": writer.lines,
        "lines_per_s": round(writer.lines / max(1e-9, samples[-1][0] if samples else 1), 1),
        "failures_written": sum(writer.failures.values()),
        "rotations": writer.rotations,
        "lost_failures": lost,
        "over_counted": extra,
        "groups_never_alerted": len(set(want) - alerted_resources),
        "file_alerts": sum(ids.values()),
        "file_duplicate_alerts": sum(n - 1 for n in ids.values() if n > 1),
        "slack_posts": len(rx.posts),
        "slack_failed_answers": sum(1 for p in rx.posts if p.status != 200),
        "slack_accepted": sum(slack_ok.values()),
        "slack_duplicate_bodies": sum(n - 1 for n in slack_ok.values() if n > 1),
        "rss_mb_first_warm": warm[0] if warm else None,
        "rss_mb_last": warm[-1] if warm else None,
        "rss_mb_max": max((m for _, m in samples), default=None),
        "rss_growth_pct": round(growth, 1),
        "exit_status": rc,
        "rss_samples": samples,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=2000.0, help="lines per second")
    ap.add_argument("--every", type=int, default=100, help="one failure line in this many")
    ap.add_argument("--resources", type=int, default=50, help="distinct failures (groups)")
    ap.add_argument("--rotate", type=float, default=60.0, help="seconds between rotations")
    ap.add_argument("--slack-fail", type=float, default=0.10, help="share of posts answered 500")
    ap.add_argument("--slack-rate", type=float, default=1.0, help="the sink's max_per_second")
    ap.add_argument("--group-interval", type=float, default=30.0)
    ap.add_argument("--repeat-interval", type=float, default=300.0)
    ap.add_argument("--sample", type=float, default=15.0, help="seconds between RSS samples")
    ap.add_argument("--warmup", type=float, default=120.0, help="RSS baseline after this")
    ap.add_argument("--settle", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="authz-soak-"))
    try:
        result = run(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result))
    ok = (
        result["lost_failures"] == 0
        and result["groups_never_alerted"] == 0
        and result["file_duplicate_alerts"] == 0
        and result["slack_duplicate_bodies"] == 0
        and result["rss_growth_pct"] < 10
        and result["exit_status"] == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
