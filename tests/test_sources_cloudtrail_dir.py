"""cloudtrail_dir lists only recent day directories and keeps its processed records bounded."""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_watch_daemon import Daemon, write_config
from test_watch_inputs import cloudtrail_record

from diagnostics.errors import ConfigError
from diagnostics.service.config import LimitsConfig, parse_config
from diagnostics.sources import checkpoints
from diagnostics.sources.base import FoundFailures, SourceContext
from diagnostics.sources.cloudtrail_dir import CloudTrailDirSource, trail_dirs
from diagnostics.support.state import StateDB

REGION = "AWSLogs/123456789012/CloudTrail/us-east-1"
NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC).timestamp()


def deliver(root: Path, day: datetime, i: int, region: str = REGION) -> str:
    """Write one gzipped delivery filed under ``day``; return its path relative to root."""
    rel = (
        f"{region}/{day:%Y/%m/%d}/123456789012_CloudTrail_us-east-1_{day:%Y%m%d}T1200Z_{i}.json.gz"
    )
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps({"Records": [cloudtrail_record(i)]}).encode()))
    return rel


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make_source(tmp_path: Path, clock: Clock, lookback: int = 2) -> CloudTrailDirSource:
    state = StateDB.in_dir(tmp_path / "state")
    checkpoints.ensure(state)
    ctx = SourceContext(state=state, limits=LimitsConfig())
    src = CloudTrailDirSource(
        "ct", ctx, tmp_path / "ct", lookback_days=lookback, clock=clock, settle=0.0
    )
    src._done = checkpoints.processed_times(state, "ct")
    return src


def run_pass(src: CloudTrailDirSource) -> list[str]:
    """One pass as the service runs it: each delivery's mark commits in a transaction."""
    seen: list[str] = []

    def emit(event: object) -> bool:
        assert isinstance(event, FoundFailures)
        with src._ctx.state.transaction() as conn:
            event.mark(conn)
        seen.append(event.origin)
        return True

    src._pass(emit)
    root = str(src.root) + "/"
    return [o.removeprefix(root) for o in seen]


def test_only_the_lookback_window_is_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deliveries of the last days are found; older days and other services are not even listed."""
    root = tmp_path / "ct"
    today = datetime.fromtimestamp(NOW, UTC)
    fresh = [deliver(root, today, 1), deliver(root, today - timedelta(days=2), 2)]
    org = "AWSLogs/o-abcdef1234/210987654321/CloudTrail/eu-west-1"
    fresh.append(deliver(root, today - timedelta(days=1), 3, region=org))
    for n in range(3, 40):
        deliver(root, today - timedelta(days=n), 100 + n)
    flow = root / "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/05/10"
    flow.mkdir(parents=True)
    listed: list[str] = []
    real_scandir = os.scandir

    def recording_scandir(path: str | os.PathLike[str]) -> object:
        listed.append(os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", recording_scandir)
    src = make_source(tmp_path, Clock(NOW))
    got = [rel for rel, _ in src.pending()]
    assert got == sorted(fresh)
    # 4 levels down to the regions, then at most 4 day directories per region.
    assert not any("vpcflowlogs/" in p for p in listed)
    days = [p for p in listed if p.count("/") > str(root).count("/") + 5]
    assert len(days) <= 2 * 4, days
    assert trail_dirs(root) == [root / REGION, root / org]


def test_each_delivery_once_and_old_records_pruned(tmp_path: Path) -> None:
    """A delivery is processed once across restarts; records past the look-back are dropped."""
    root = tmp_path / "ct"
    clock = Clock(NOW)
    today = datetime.fromtimestamp(NOW, UTC)
    first = deliver(root, today, 1)
    src = make_source(tmp_path, clock)
    assert run_pass(src) == [first]
    assert run_pass(src) == []
    src = make_source(tmp_path, clock)  # a restart: the record comes from the database
    assert run_pass(src) == []

    clock.t += 2 * 86400  # two days on: still inside the window, still processed
    second = deliver(root, today + timedelta(days=2), 2)
    src = make_source(tmp_path, clock)
    assert run_pass(src) == [second]
    db = tmp_path / "state" / "state.sqlite3"
    with sqlite3.connect(db) as conn:
        assert {r[0] for r in conn.execute("SELECT key FROM watch_processed")} == {first, second}

    clock.t += 3 * 86400  # the first delivery's day has left the window (and its margin)
    src = make_source(tmp_path, clock)
    assert run_pass(src) == []
    with sqlite3.connect(db) as conn:
        kept = {r[0] for r in conn.execute("SELECT key FROM watch_processed")}
    assert kept == {second}, "records older than the look-back were kept"
    assert set(src._done) == {second}


def test_late_delivery_into_an_old_day_is_not_pruned_while_recent(tmp_path: Path) -> None:
    """A delivery processed today but filed under an old day stays remembered for the look-back."""
    root = tmp_path / "ct"
    clock = Clock(NOW)
    old_day = datetime.fromtimestamp(NOW, UTC) - timedelta(days=30)
    rel = deliver(root, old_day, 7)
    src = make_source(tmp_path, clock)
    assert run_pass(src) == [], "an old day is outside the window"
    src._note_path(str(root / rel))  # what inotify reports for a file written there
    assert run_pass(src) == [rel]
    src._next_prune = 0.0
    src._note_path(str(root / rel))  # another event for the same file
    assert run_pass(src) == []
    assert rel in src._done


def test_lookback_days_is_checked(tmp_path: Path) -> None:
    """A negative or non-integer lookback_days is a config error naming the key."""
    base = {"sink": [{"type": "stdout"}]}
    for bad in (-1, "2"):
        source = {"type": "cloudtrail_dir", "path": str(tmp_path), "lookback_days": bad}
        with pytest.raises(ConfigError, match="lookback_days"):
            parse_config({**base, "source": [source]}, tmp_path / "c.toml")
    ok = {"type": "cloudtrail_dir", "path": str(tmp_path), "lookback_days": 7}
    cfg = parse_config({**base, "source": [ok]}, tmp_path / "c.toml")
    assert cfg.sources[0].options["lookback_days"] == 7


def test_daemon_reads_recent_existing_deliveries_not_old_ones(tmp_path: Path) -> None:
    """At start the daemon processes today's delivery already on disk, not last month's."""
    root = tmp_path / "ct"
    now = datetime.now(UTC)
    deliver(root, now, 1)
    deliver(root, now - timedelta(days=30), 2)
    cfg = write_config(tmp_path, f'[[source]]\ntype = "cloudtrail_dir"\npath = "{root}"\n')
    d = Daemon(tmp_path, cfg)
    try:
        d.wait_ready()
        d.wait_for(lambda: len(d.alerts) >= 1, what="today's delivery")
        # A sentinel delivered now is read at a later pass than the start's,
        # and stop() delivers what is due: an old delivery read would show.
        deliver(root, now, 3)
        d.wait_for(lambda: "bucket/ct-3" in json.dumps(d.alerts), 60, "the sentinel delivery")
    finally:
        assert d.stop() == 0, d.stderr()[-3000:]
    text = json.dumps(d.alerts)
    assert "bucket/ct-1" in text
    assert "bucket/ct-2" not in text, "a delivery older than the look-back was read"


def test_a_delivery_still_being_written_is_read_at_a_later_pass(tmp_path: Path) -> None:
    """A file modified a moment ago may be half copied: it waits for a later pass, then is read."""
    clock = Clock(NOW)
    src = make_source(tmp_path, clock)
    src.settle = 60.0
    rel = deliver(tmp_path / "ct", datetime.fromtimestamp(NOW, UTC), 9)
    assert run_pass(src) == []  # too fresh: deferred, not recorded as unreadable
    src.settle = 0.0
    assert run_pass(src) == [rel]
