"""A symlinked directory below a file glob or a CloudTrail root is refused, counted and warned."""

from __future__ import annotations

import glob
import gzip
import json
import os
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs
from test_sources_cloudtrail_dir import NOW, REGION, Clock, deliver, run_pass
from test_watch_daemon import line
from test_watch_inputs import cloudtrail_record

from diagnostics.service.config import LimitsConfig, parse_config
from diagnostics.sources import checkpoints
from diagnostics.sources.base import SourceContext, StreamData, StreamOpened
from diagnostics.sources.cloudtrail_dir import CloudTrailDirSource
from diagnostics.sources.file import FileSource
from diagnostics.sources.file_glob import expand
from diagnostics.sources.symlinks import NotRegular, SymlinkRefused, open_below
from diagnostics.support.state import StateDB

HINT = "follow_symlinks = true"


def _ctx(tmp_path: Path) -> SourceContext:
    state = StateDB.in_dir(tmp_path / "state")
    checkpoints.ensure(state)
    return SourceContext(state=state, limits=LimitsConfig())


class _Recorder:
    """The file source's events: which paths were opened and what was read from them."""

    def __init__(self) -> None:
        self.opened: dict[str, str] = {}  # stream -> path
        self.data: dict[str, bytes] = {}  # path -> bytes

    def __call__(self, ev: object) -> bool:
        if isinstance(ev, StreamOpened):
            self.opened[ev.stream] = ev.path
        elif isinstance(ev, StreamData):
            path = self.opened[ev.stream]
            self.data[path] = self.data.get(path, b"") + ev.data
        return True


def _warnings(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if e.get("event") == "symlink not followed"]


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    """``w/real/a.log`` and ``w/evil -> outside/`` holding ``private.log``; (w, outside)."""
    w = tmp_path / "w"
    (w / "real").mkdir(parents=True)
    (w / "real" / "a.log").write_text(line(1, "inside"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.log").write_text(line(2, "private"))
    (w / "evil").symlink_to(outside)
    return w, outside


def _file_source(tmp_path: Path, patterns: list[str], *, follow: bool = False) -> FileSource:
    return FileSource(
        "files", _ctx(tmp_path), patterns, start_at="beginning", follow_symlinks=follow
    )


def test_file_glob_does_not_read_through_a_symlinked_directory(tmp_path: Path) -> None:
    """`/w/*/*.log` reads `/w/real/a.log` but not `/w/evil/private.log` when `/w/evil` is a
    symlink; the refusal is counted and warned once, naming the path and `follow_symlinks`."""
    w, _ = _tree(tmp_path)
    link_root = tmp_path / "linked-root"  # the glob's own base may be a symlink: the operator's
    link_root.symlink_to(w / "real")
    src = _file_source(tmp_path, [f"{w}/*/*.log", f"{link_root}/*.log"])
    rec = _Recorder()
    try:
        with capture_logs() as logs:
            src._reconcile(rec, initial=True)
            src._reconcile(rec, initial=False)
    finally:
        src.join(1.0)
    assert sorted(rec.data) == [str(w / "real" / "a.log")]
    assert b"private" not in b"".join(rec.data.values())
    assert src._ctx.stats["symlinks_refused"] == 1
    warned = _warnings(logs)
    assert len(warned) == 1, "warned once per path, not once per pass"
    assert warned[0]["path"] == str(w / "evil" / "private.log")
    assert warned[0]["symlink"] == str(w / "evil")
    assert HINT in warned[0]["hint"]


def test_file_glob_follows_symlinked_directories_when_told(tmp_path: Path) -> None:
    """With `follow_symlinks = true` the symlinked directory's file is read, as before."""
    w, _ = _tree(tmp_path)
    src = _file_source(tmp_path, [f"{w}/*/*.log"], follow=True)
    rec = _Recorder()
    try:
        src._reconcile(rec, initial=True)
    finally:
        src.join(1.0)
    assert sorted(rec.data) == [str(w / "evil" / "private.log"), str(w / "real" / "a.log")]
    assert "symlinks_refused" not in src._ctx.stats


def test_file_open_refuses_a_directory_swapped_for_a_symlink_after_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory replaced by a symlink between the listing and the open is not read through."""
    w = tmp_path / "w"
    (w / "d").mkdir(parents=True)
    (w / "d" / "a.log").write_text(line(1, "swapped"))
    src = _file_source(tmp_path, [f"{w}/*/*.log"])
    listing = src._matches

    def listed_then_swapped() -> Any:
        found = listing()
        # The same file, now reached through a symlink: only the open can tell.
        (w / "d").rename(tmp_path / "elsewhere")
        (w / "d").symlink_to(tmp_path / "elsewhere")
        return found

    monkeypatch.setattr(src, "_matches", listed_then_swapped)
    rec = _Recorder()
    try:
        src._reconcile(rec, initial=True)
    finally:
        src.join(1.0)
    assert rec.data == {}
    assert src._ctx.stats["symlinks_refused"] == 1


def test_open_below_refuses_links_and_non_regular_files(tmp_path: Path) -> None:
    """Opening below a root refuses a symlinked directory or file and a FIFO, without blocking."""
    w, outside = _tree(tmp_path)
    (w / "real" / "link.log").symlink_to(outside / "private.log")
    os.mkfifo(w / "real" / "pipe.log")
    with pytest.raises(SymlinkRefused) as err:
        open_below(str(w), str(w / "evil" / "private.log"))
    assert err.value.link == str(w / "evil")
    with pytest.raises(SymlinkRefused):
        open_below(str(w), str(w / "real" / "link.log"))
    with pytest.raises(NotRegular):
        open_below(str(w), str(w / "real" / "pipe.log"))
    fd = open_below(str(w), str(w / "real" / "a.log"))
    with os.fdopen(fd, "rb") as fh:
        assert b"inside-1" in fh.read()


def _ct_source(tmp_path: Path, *, follow: bool = False) -> CloudTrailDirSource:
    src = CloudTrailDirSource(
        "ct",
        _ctx(tmp_path),
        tmp_path / "ct",
        clock=Clock(NOW),
        settle=0.0,
        follow_symlinks=follow,
    )
    src._done = checkpoints.processed_times(src._ctx.state, "ct")
    return src


def _symlinked_day(tmp_path: Path) -> tuple[str, str]:
    """Today's delivery in a real day directory, yesterday's in a symlinked one (rel paths)."""
    root = tmp_path / "ct"
    today = datetime.fromtimestamp(NOW, UTC)
    real = deliver(root, today, 1)
    elsewhere = tmp_path / "elsewhere"
    planted = deliver(elsewhere, today - timedelta(days=1), 2)
    day = root / REGION / f"{today - timedelta(days=1):%Y/%m/%d}"
    day.parent.mkdir(parents=True, exist_ok=True)
    day.symlink_to(elsewhere / Path(planted).parent)
    return real, planted


def test_cloudtrail_dir_refuses_a_symlinked_day_directory(tmp_path: Path) -> None:
    """A day directory that is a symlink is not read; counted and warned once with the hint."""
    real, planted = _symlinked_day(tmp_path)
    src = _ct_source(tmp_path)
    with capture_logs() as logs:
        assert run_pass(src) == [real]
        assert run_pass(src) == []
    assert src._ctx.stats["symlinks_refused"] == 1
    warned = _warnings(logs)
    assert len(warned) == 1
    assert warned[0]["path"] == str(tmp_path / "ct" / planted)
    assert HINT in warned[0]["hint"]


def test_cloudtrail_dir_follows_a_symlinked_day_when_told(tmp_path: Path) -> None:
    """With `follow_symlinks = true` a symlinked day directory is read, as before."""
    real, planted = _symlinked_day(tmp_path)
    src = _ct_source(tmp_path, follow=True)
    assert run_pass(src) == sorted([real, planted])


def test_cloudtrail_dir_refuses_links_reported_by_inotify_and_swapped_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A symlinked delivery file reported by inotify, and a day directory swapped for a symlink
    after listing, are both refused when opened."""
    root = tmp_path / "ct"
    today = datetime.fromtimestamp(NOW, UTC)
    rel = deliver(root, today, 1)
    outside = tmp_path / "secret.json.gz"
    outside.write_bytes(gzip.compress(json.dumps({"Records": [cloudtrail_record(9)]}).encode()))
    link = root / Path(rel).with_name("123456789012_CloudTrail_us-east-1_link.json.gz")
    link.symlink_to(outside)
    src = _ct_source(tmp_path)
    pending = src.pending

    def listed_then_swapped() -> list[tuple[str, Path]]:
        found = pending()
        day = (root / rel).parent
        shutil.move(day, tmp_path / "moved-day")
        day.symlink_to(tmp_path / "moved-day")
        return found

    src._note_path(str(link))
    monkeypatch.setattr(src, "pending", listed_then_swapped)
    assert run_pass(src) == []
    assert src._ctx.stats["symlinks_refused"] == 2


def test_cloudtrail_dir_accepts_follow_symlinks(tmp_path: Path) -> None:
    """`follow_symlinks` is a known key of a cloudtrail_dir source (a typo stays an error)."""
    base = {"sink": [{"type": "stdout"}]}
    src = {"type": "cloudtrail_dir", "path": str(tmp_path), "follow_symlinks": True}
    cfg = parse_config({**base, "source": [src]}, tmp_path / "c.toml")
    assert cfg.sources[0].options["follow_symlinks"] is True


def test_expand_matches_glob_on_a_tree_without_links(tmp_path: Path) -> None:
    """Without symlinks the source's glob finds exactly what Python's glob finds."""
    for rel in ["a.log", ".hidden.log", "x/b.log", "x/y/c.log", "x/.h/d.log", "z/e.txt", "z/f.log"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x\n")
    patterns = ["*.log", ".*.log", "*/*.log", "**/*.log", "x/**/*.log", "**", "x/**", "[xz]/?.log",
                "x/y/c.log", "none/*.log", "**/y/*.log", "*/y", "x/.h/*.log"]  # fmt: skip
    for pattern in patterns:
        full = f"{tmp_path}/{pattern}"
        expected = sorted(glob.glob(full, recursive=True))  # noqa: PTH207
        assert sorted(expand(full, lambda p, link: None)) == expected, pattern


def test_file_glob_does_not_walk_in_circles_through_planted_links(tmp_path: Path) -> None:
    """Two links `a -> .` and `b -> .` under a `**` glob neither hang the source nor hide the
    real files; each link is refused and warned once."""
    w = tmp_path / "w"
    (w / "sub").mkdir(parents=True)
    (w / "top.log").write_text(line(1, "top"))
    (w / "sub" / "deep.log").write_text(line(2, "deep"))
    (w / "a").symlink_to(".")
    (w / "sub" / "b").symlink_to("..")
    src = _file_source(tmp_path, [f"{w}/**/*.log"])
    rec = _Recorder()
    done = threading.Event()

    def reconcile() -> None:
        src._reconcile(rec, initial=True)
        done.set()

    with capture_logs() as logs:
        threading.Thread(target=reconcile, daemon=True).start()
        finished = done.wait(60)  # Python's glob never returns here
    src.join(1.0)
    assert finished, "the glob walked in circles"
    assert sorted(rec.data) == [str(w / "sub" / "deep.log"), str(w / "top.log")]
    assert sorted(e["path"] for e in _warnings(logs)) == [str(w / "a"), str(w / "sub" / "b")]


def test_cloudtrail_dir_refuses_a_symlinked_region_directory(tmp_path: Path) -> None:
    """A region directory that is a symlink is not listed but counted and warned about;
    with `follow_symlinks = true` its deliveries are read."""
    today = datetime.fromtimestamp(NOW, UTC)
    planted = deliver(tmp_path / "elsewhere", today, 3, region="AWSLogs/123456789012/CloudTrail/x")
    region = tmp_path / "ct" / "AWSLogs/123456789012/CloudTrail/eu-west-1"
    region.parent.mkdir(parents=True)
    region.symlink_to(tmp_path / "elsewhere" / "AWSLogs/123456789012/CloudTrail/x")
    src = _ct_source(tmp_path)
    with capture_logs() as logs:
        assert run_pass(src) == []
    assert src._ctx.stats["symlinks_refused"] == 1
    assert [e["path"] for e in _warnings(logs)] == [str(region)]
    followed = _ct_source(tmp_path / "again", follow=True)
    followed.root = tmp_path / "ct"
    assert run_pass(followed) == [planted.replace("/x/", "/eu-west-1/")]
