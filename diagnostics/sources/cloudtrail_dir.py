"""``type = "cloudtrail_dir"``: CloudTrail deliveries synced to a local tree.

CloudTrail writes ``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz``
(organization trails insert ``o-<id>/`` after ``AWSLogs/``).  Every delivery
is processed once: its relative path is recorded in the state database in the
same transaction as the alerts it produced.

The tree only grows, so a pass never walks all of it: it lists the day
directories of the last ``lookback_days`` days (UTC, the date CloudTrail files
under) in every ``<region>`` directory, plus whatever inotify reported since
the last pass (a late delivery into an older day, a day directory moved in).
Records of processed deliveries older than the look-back are dropped, so the
state stays as large as a few days of deliveries, not the whole history.

Symlinks below ``path`` (a day directory, a region, a delivery file) are not
followed unless ``follow_symlinks = true``: each is counted and warned about
once, and a delivery is opened component by component with ``O_NOFOLLOW``
(``sources/symlinks.py``), so a directory swapped for a link after the listing
is refused too.
"""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diagnostics.errors import ConfigError
from diagnostics.model import Failure, InputStats
from diagnostics.sources import checkpoints
from diagnostics.sources.base import Emit, FoundFailures, SourceContext
from diagnostics.sources.cloudtrail_layout import ACCOUNT, ORG, REGION_DIR
from diagnostics.sources.symlinks import (
    NotRegular,
    Refusals,
    SymlinkRefused,
    open_below,
    symlinked_dir,
)
from diagnostics.support.logconfig import get_logger

if TYPE_CHECKING:
    import sqlite3

    from diagnostics.config.table import ConfigTable
    from diagnostics.sources.settings import SourceConfig

log = get_logger()

# Linear: anchored alternation of fixed tokens and bounded character classes.
_DELIVERY = re.compile(
    r"(?:^|/)AWSLogs/(?:o-[a-z0-9]{10,32}/)?\d{12}/CloudTrail/[a-z0-9-]{1,32}/"
    r"(\d{4})/(\d{2})/(\d{2})/[^/]+\.json(?:\.gz)?$"
)
#: Directories above ``AWSLogs`` searched for it (a bucket prefix synced as is).
_PREFIX_DEPTH = 4
#: Seconds between re-listings of the account/region directories without inotify news.
REDISCOVER = 60.0
#: Seconds between prunes of processed-delivery records.
PRUNE_EVERY = 3600.0


#: A delivery modified less than this long ago may still be growing.
SETTLE_SECONDS = 1.0


def delivery_date(rel: str) -> date | None:
    """The UTC day a delivery path files under, or None for a path that is no delivery."""
    m = _DELIVERY.search("/" + rel)
    if m is None:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _subdirs(path: Path, follow: bool) -> Iterator[tuple[str, Path, bool]]:
    """(name, path, is a symlink) of each directory in ``path``; links only when ``follow``."""
    try:
        with os.scandir(path) as it:
            entries = sorted(
                (e.name, Path(e.path), e.is_symlink())
                for e in it
                if e.is_dir(follow_symlinks=False) or (e.is_symlink() and e.is_dir())
            )
    except OSError:
        return
    yield from entries


def trail_dirs(
    root: Path,
    *,
    follow_symlinks: bool = False,
    refused: Callable[[str, str], None] | None = None,
) -> list[Path]:
    """Every ``.../AWSLogs/[o-id/]<account>/CloudTrail/<region>`` directory under ``root``.

    Descends only along that layout, so other services' logs beside CloudTrail
    (VPC flow logs, Config) and the day directories themselves are not walked.
    A symlinked directory on the way is passed to ``refused`` (path, link), not
    descended, unless ``follow_symlinks``; the depth is bounded either way.
    """
    out: list[Path] = []
    stack: list[tuple[Path, str, int]] = [(root, "prefix", 0)]
    while stack:
        path, level, depth = stack.pop()
        for name, sub, is_link in _subdirs(path, follow_symlinks):
            if is_link and not follow_symlinks:
                if refused is not None:
                    refused(str(sub), str(sub))
                continue
            if level == "prefix":
                if name == "AWSLogs":
                    stack.append((sub, "awslogs", 0))
                elif depth < _PREFIX_DEPTH:
                    stack.append((sub, "prefix", depth + 1))
            elif level == "awslogs" and ORG.fullmatch(name):
                stack.append((sub, "org", 0))
            elif level in ("awslogs", "org") and ACCOUNT.fullmatch(name):
                stack.append((sub, "account", 0))
            elif level == "account" and name == "CloudTrail":
                stack.append((sub, "cloudtrail", 0))
            elif level == "cloudtrail" and REGION_DIR.fullmatch(name):
                out.append(sub)
    return sorted(out)


class CloudTrailDirSource:
    finite = False

    def __init__(
        self,
        name: str,
        ctx: SourceContext,
        root: Path,
        *,
        lookback_days: int = 2,
        clock: Callable[[], float] = time.time,
        settle: float = SETTLE_SECONDS,
        follow_symlinks: bool = False,
    ) -> None:
        self.name = name
        self.settle = settle
        self._follow = follow_symlinks
        self._refusals = Refusals(name, ctx.count)
        self._ctx = ctx
        self.root = root
        self.lookback_days = lookback_days
        self._clock = clock
        #: Processed delivery -> when (wall clock); pruned past the look-back.
        self._done: dict[str, float] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: Any = None
        self._news_lock = threading.Lock()
        self._new_files: set[str] = set()
        self._new_dirs: set[str] = set()
        self._regions: list[Path] = []
        self._next_discover = 0.0
        self._next_prune = 0.0

    def start(self, emit: Emit) -> None:
        checkpoints.ensure(self._ctx.state)
        self._done = checkpoints.processed_times(self._ctx.state, self.name)
        if not self.root.is_dir():
            log.warning("cloudtrail directory missing; waiting for it", path=str(self.root))
        self._start_observer()
        self._thread = threading.Thread(
            target=self._run, args=(emit,), name=f"source-{self.name}", daemon=True
        )
        self._thread.start()

    def _start_observer(self) -> None:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        note = self._note

        class _Note(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                note(event)

        if not self.root.is_dir():
            return
        self._observer = Observer()
        self._observer.daemon = True
        try:
            self._observer.schedule(_Note(), str(self.root), recursive=True)
            self._observer.start()
        except OSError as exc:
            log.warning("cannot watch directory; polling", path=str(self.root), error=str(exc))
            self._observer = None

    def _note(self, event: Any) -> None:
        kind = event.event_type
        # Not "opened"/"closed_no_write": our own reads must not wake the loop;
        # a directory's "modified" says nothing a file event does not.
        if kind not in ("created", "moved", "modified", "closed"):
            return
        if event.is_directory and kind == "modified":
            return
        path = event.dest_path if kind == "moved" else event.src_path
        self._note_path(os.fsdecode(path), is_dir=event.is_directory)

    def _note_path(self, path: str, *, is_dir: bool = False) -> None:
        """Remember what inotify saw, so the next pass looks there even outside the window."""
        with self._news_lock:
            # A new day, region or account directory may have been moved in whole.
            (self._new_dirs if is_dir else self._new_files).add(path)
        self._wake.set()

    def is_ready(self) -> bool:
        return self._thread is not None

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)

    def _run(self, emit: Emit) -> None:
        while not self._stop.is_set():
            try:
                self._pass(emit)
            except Exception:
                log.exception("cloudtrail directory pass failed; retrying", source=self.name)
            self._wake.wait(self._ctx.poll_interval)
            self._wake.clear()

    # -- what to look at -----------------------------------------------------

    def window(self) -> list[date]:
        """The UTC days listed every pass: today, ``lookback_days`` before, and tomorrow."""
        today = datetime.fromtimestamp(self._clock(), UTC).date()
        # Tomorrow too: a host clock a little behind CloudTrail's.
        return [today + timedelta(days=n) for n in range(-self.lookback_days, 2)]

    def _window_dirs(self, new_dirs: bool) -> Iterator[Path]:
        now = time.monotonic()
        if new_dirs or not self._regions or now >= self._next_discover:
            self._next_discover = now + REDISCOVER
            self._regions = trail_dirs(
                self.root, follow_symlinks=self._follow, refused=self._refusals.refused
            )
        for region in self._regions:
            for day in self.window():
                yield region / f"{day:%Y/%m/%d}"

    def pending(self) -> list[tuple[str, Path]]:
        """Deliveries not processed yet, in the look-back window or reported by inotify."""
        with self._news_lock:
            files, self._new_files = self._new_files, set()
            dirs, self._new_dirs = self._new_dirs, set()
        candidates: set[Path] = {Path(f) for f in files}
        for day_dir in self._window_dirs(bool(dirs)):
            candidates.update(_files_in(day_dir))
        for d in sorted(dirs):
            for dirpath, _dirnames, filenames in os.walk(d):
                candidates.update(Path(dirpath) / f for f in filenames)
        out: list[tuple[str, Path]] = []
        settling: set[str] = set()
        now = time.time()  # file times are wall-clock, whatever clock the window uses
        for full in candidates:
            rel = os.path.relpath(full, self.root)
            if rel.startswith(".."):
                continue
            rel = Path(rel).as_posix()
            if rel in self._done or delivery_date(rel) is None:
                continue
            try:
                st = full.stat() if self._follow else full.lstat()
            except OSError:
                continue  # vanished between listing and now
            if not self._follow:
                link = str(full) if stat.S_ISLNK(st.st_mode) else None
                link = link or symlinked_dir(str(self.root), str(full))
                if link is not None:
                    self._refusals.refused(str(full), link)
                    continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if now - st.st_mtime < self.settle:
                settling.add(str(full))
                continue
            out.append((rel, full))
        if settling:
            # Still being written (a sync tool copying a .gz in place): read it
            # at a later pass instead of recording a half file as unreadable.
            with self._news_lock:
                self._new_files.update(settling)
        return sorted(out)

    # -- one pass ------------------------------------------------------------

    def _pass(self, emit: Emit) -> None:
        self._prune()
        for rel, full in self.pending():
            if self._stop.is_set():
                return
            stats = InputStats()
            try:
                failures: list[Failure] = self._extract(full, stats)
            except SymlinkRefused as exc:
                # Listed as a real directory, a symlink by the time it was opened.
                self._refusals.refused(str(full), exc.link)
                continue
            except NotRegular:
                continue  # replaced by a FIFO or a directory since the listing
            except Exception as exc:
                # A delivery we cannot read at all is recorded as done with a
                # warning: retrying a corrupt object forever helps nobody.
                self._ctx.count("rejected_files")
                log.warning("cannot read delivery", source=self.name, path=rel, error=str(exc))
                failures = []
            for warning in stats.warnings:
                log.warning("delivery input warning", source=self.name, path=rel, warning=warning)
            self._ctx.count("files_processed")
            if not emit(FoundFailures(origin=str(full), failures=failures, mark=self._marker(rel))):
                return
            self._done[rel] = self._clock()

    def _extract(self, full: Path, stats: InputStats) -> list[Failure]:
        from diagnostics.extract import extract_path, extract_stream

        if self._follow:
            return list(extract_path(full, stats))
        fd = open_below(str(self.root), str(full))
        with os.fdopen(fd, "rb") as fh:
            stats.files += 1
            # extract_stream tells gzip by its magic bytes, as extract_path does.
            return list(extract_stream(fh, str(full), stats))

    def _prune(self) -> None:
        """Forget deliveries filed before the window and processed before it too.

        Both conditions: a late delivery into an old day (found by inotify) stays
        remembered for the look-back, so repeated events for it do not re-alert.
        """
        now = time.monotonic()
        if now < self._next_prune:
            return
        self._next_prune = now + PRUNE_EVERY
        # One day of margin: a key is never dropped while its day can be listed.
        oldest_day = self.window()[0] - timedelta(days=1)
        oldest_done = self._clock() - (self.lookback_days + 1) * 86400
        old = [
            rel
            for rel, done in self._done.items()
            if done < oldest_done and (delivery_date(rel) or oldest_day) < oldest_day
        ]
        if not old:
            return
        try:
            checkpoints.forget_processed(self._ctx.state, self.name, old)
        except Exception as exc:
            log.warning("cannot prune processed deliveries", source=self.name, error=str(exc))
            return
        for rel in old:
            del self._done[rel]
        log.info("pruned processed deliveries", source=self.name, count=len(old))

    def _marker(self, rel: str) -> Any:
        name = self.name
        clock = self._clock

        def mark(conn: sqlite3.Connection) -> None:
            checkpoints.mark_processed(conn, name, rel, clock())

        return mark


def _files_in(directory: Path) -> list[Path]:
    try:
        with os.scandir(directory) as it:
            # Links too: refused with a warning, or read with follow_symlinks.
            return [Path(e.path) for e in it if e.is_file(follow_symlinks=False) or e.is_symlink()]
    except OSError:
        return []  # a day without deliveries (yet)


class _CloudTrailDirType:
    def check(self, table: ConfigTable) -> Mapping[str, Any]:
        path = table.required_str("path", 'e.g. path = "/var/log/cloudtrail"')
        if not Path(path).is_absolute():
            raise ConfigError(f"{table.where}: key 'path' {path!r} must be an absolute path")
        return {
            "path": Path(path),
            "lookback_days": table.integer("lookback_days", 2, minimum=0),
            "follow_symlinks": table.flag("follow_symlinks", False),
        }

    def create(self, config: SourceConfig, ctx: SourceContext) -> CloudTrailDirSource:
        o = config.options
        return CloudTrailDirSource(
            config.name,
            ctx,
            o["path"],
            lookback_days=o.get("lookback_days", 2),
            follow_symlinks=o.get("follow_symlinks", False),
        )


CLOUDTRAIL_DIR = _CloudTrailDirType()
