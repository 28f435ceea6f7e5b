"""Crash consistency: `kill -9` the watch daemon at random points; every failure alerted once.

A writer appends a stream with known failures (each its own alert group: a
unique resource) to a tailed log, at a steady rate, while the daemon is
started and killed with SIGKILL after a random delay, ``--kills`` times.  The
writer keeps writing while the daemon is down.  A last run reads to the end
and stops with SIGTERM.  The file sink's output is then checked: every
failure appears in exactly one alert (never missing, never twice).

    python bench/crash_consistency.py --kills 50 --failures 3000

Prints one JSON object; exit status 1 if a failure was lost or duplicated.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

NOISE = "2024-05-01T12:00:00Z app INFO GET /healthz 200 0.001s request_id=abcdef0123456789\n"


def failure(i: int) -> str:
    return (
        "2024-05-01T12:00:00Z app ERROR User: arn:aws:iam::123456789012:user/crash is not "
        f"authorized to perform: s3:GetObject on resource: arn:aws:s3:::crash/f-{i} "
        "because no identity-based policy allows the s3:GetObject action\n"
    )


def resource(i: int) -> str:
    return f"arn:aws:s3:::crash/f-{i}"


def watch_argv() -> list[str]:
    exe = shutil.which("authz-diag", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "diagnostics"]


def write_config(work: Path) -> Path:
    cfg = work / "watch.toml"
    cfg.write_text(
        f'state_dir = "{work / "state"}"\n'
        'drain_timeout = "10s"\npoll_interval = "100ms"\n'
        "[decode]\nenabled = false\n"
        '[alerts]\ngroup_wait = "0s"\ngroup_interval = "1h"\nrepeat_interval = "4h"\n'
        # One alert per distinct line is what these count: no storm folding.
        "storm_threshold = 0\n"
        f'[[source]]\ntype = "file"\npaths = ["{work / "logs"}/*.log"]\n'
        'start_at = "beginning"\n'
        f'[[sink]]\ntype = "file"\nname = "alerts"\npath = "{work / "alerts.jsonl"}"\n'
    )
    return cfg


class Writer(threading.Thread):
    """Appends ``failures`` failure lines (``noise`` ordinary lines after each) at ``rate``/s."""

    def __init__(self, path: Path, failures: int, noise: int, rate: float) -> None:
        super().__init__(daemon=True)
        self.path, self.failures, self.noise, self.rate = path, failures, noise, rate
        self.written = 0

    def run(self) -> None:
        start = time.monotonic()
        with self.path.open("a") as fh:
            for i in range(self.failures):
                fh.write(failure(i) + NOISE * self.noise)
                fh.flush()
                self.written = i + 1
                ahead = start + (i + 1) / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)


def alerted(path: Path) -> tuple[Counter[str], int, int]:
    """Resources per alert in the file sink's output, torn lines, alert lines."""
    seen: Counter[str] = Counter()
    torn = lines = 0
    if not path.exists():
        return seen, torn, lines
    for raw in path.read_bytes().splitlines():
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            torn += 1
            continue
        lines += 1
        for d in obj.get("diagnoses", []):
            seen[d["resource"]] += 1
    return seen, torn, lines


def skipped_resends(work: Path) -> int:
    """How often a restarted daemon found a notification already in the file (window hit)."""
    n = 0
    for err in work.glob("stderr-*.log"):
        for raw in err.read_text(errors="replace").splitlines():
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            if ev.get("event") == "alert.already_in_file":
                n += int(ev.get("skipped", 0))
    return n


def kill_on_growth(proc: subprocess.Popen[bytes], sink: Path, limit: float) -> bool:
    """SIGKILL ``proc`` as soon as ``sink`` grows (after ``limit`` s, give up); True if it grew."""
    size = sink.stat().st_size if sink.exists() else 0
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            grown = sink.stat().st_size > size
        except FileNotFoundError:
            grown = False
        if grown:
            proc.send_signal(signal.SIGKILL)
            return True
    return False


def wait_ready(stderr: Path, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Until the daemon logs that its sources are open (signals are installed by then)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if b"sources open; ready" in stderr.read_bytes():
            return
        time.sleep(0.05)
    raise RuntimeError(f"the daemon did not become ready; see {stderr}")


def start(work: Path, cfg: Path, n: int) -> subprocess.Popen[bytes]:
    err = (work / f"stderr-{n:03d}.log").open("wb")
    try:
        return subprocess.Popen(
            [*watch_argv(), "watch", "--config", str(cfg)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    finally:
        err.close()


def run(
    work: Path,
    *,
    kills: int,
    failures: int,
    rate: float,
    noise: int = 5,
    max_up: float = 2.0,
    seed: int = 1,
) -> dict[str, Any]:
    """The experiment in ``work``; returns the counts (see the module docstring)."""
    rng = random.Random(seed)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    cfg = write_config(work)
    writer = Writer(work / "logs" / "app.log", failures, noise, rate)
    writer.start()
    uptimes: list[float] = []
    t0 = time.monotonic()
    sink = work / "alerts.jsonl"
    on_write = 0
    for n in range(kills):
        proc = start(work, cfg, n)
        up = rng.uniform(0.05, max_up)
        uptimes.append(round(up, 3))
        # Every other kill aims at the duplicate window: right after the sink's
        # write, before the delivery record commits (a busy stat loop).
        if n % 2 and kill_on_growth(proc, sink, up):
            on_write += 1
        else:
            time.sleep(up)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    writer.join()
    final = start(work, cfg, kills)
    wait_ready(work / f"stderr-{kills:03d}.log", final)
    want = {resource(i) for i in range(failures)}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        got, _, _ = alerted(work / "alerts.jsonl")
        if want <= set(got):
            break
        time.sleep(0.2)
    final.send_signal(signal.SIGTERM)
    rc = final.wait(30)
    got, torn, lines = alerted(work / "alerts.jsonl")
    missing = sorted(want - set(got))
    dupes = sorted(r for r, c in got.items() if c > 1)
    return {
        "kills": kills,
        "failures": failures,
        "rate_per_s": rate,
        "seconds": round(time.monotonic() - t0, 1),
        "alert_lines": lines,
        "torn_lines": torn,
        "missing": len(missing),
        "duplicated": len(dupes),
        "examples": (missing + dupes)[:5],
        "kills_right_after_a_write": on_write,
        "resends_skipped": skipped_resends(work),
        "final_exit": rc,
        "seed": seed,
        "uptimes_s": uptimes,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--failures", type=int, default=3000)
    ap.add_argument("--rate", type=float, default=50.0, help="failure lines per second")
    ap.add_argument("--max-up", type=float, default=2.0, help="longest life before a kill (s)")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="authz-crash-"))
    try:
        result = run(
            work,
            kills=args.kills,
            failures=args.failures,
            rate=args.rate,
            max_up=args.max_up,
            seed=args.seed,
        )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    result.pop("uptimes_s")
    print(json.dumps(result))
    return 0 if not result["missing"] and not result["duplicated"] else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
