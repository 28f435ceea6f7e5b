"""``type = "cloudtrail_dir"``: CloudTrail deliveries synced to a local tree.

CloudTrail writes ``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz``
(organization trails insert ``o-<id>/`` after ``AWSLogs/``).  Every delivery
is processed once: its relative path is recorded in the state database in the
same transaction as the alerts it produced.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from diagnostics.errors import ConfigError
from diagnostics.model import Failure, InputStats
from diagnostics.sources import checkpoints
from diagnostics.sources.base import Emit, FoundFailures, SourceContext

if TYPE_CHECKING:
    import sqlite3

    from diagnostics.service.config import ConfigTable, SourceConfig

log = structlog.get_logger()

# Linear: anchored alternation of fixed tokens and bounded character classes.
_DELIVERY = re.compile(
    r"(?:^|/)AWSLogs/(?:o-[a-z0-9]{10,32}/)?\d{12}/CloudTrail/[a-z0-9-]{1,32}/"
    r"\d{4}/\d{2}/\d{2}/[^/]+\.json(?:\.gz)?$"
)


class CloudTrailDirSource:
    finite = False

    def __init__(self, name: str, ctx: SourceContext, root: Path) -> None:
        self.name = name
        self._ctx = ctx
        self.root = root
        self._done: set[str] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: Any = None

    def start(self, emit: Emit) -> None:
        checkpoints.ensure(self._ctx.state)
        self._done = checkpoints.processed_keys(self._ctx.state, self.name)
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

        wake = self._wake

        class _Wake(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                wake.set()

        if not self.root.is_dir():
            return
        self._observer = Observer()
        self._observer.daemon = True
        try:
            self._observer.schedule(_Wake(), str(self.root), recursive=True)
            self._observer.start()
        except OSError as exc:
            log.warning("cannot watch directory; polling", path=str(self.root), error=str(exc))
            self._observer = None

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

    def pending(self) -> list[tuple[str, Path]]:
        """Deliveries under the root not processed yet, oldest path first."""
        out: list[tuple[str, Path]] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            for fname in sorted(filenames):
                full = Path(dirpath) / fname
                rel = full.relative_to(self.root).as_posix()
                if rel in self._done or not _DELIVERY.search("/" + rel):
                    continue
                out.append((rel, full))
        return out

    def _pass(self, emit: Emit) -> None:
        from diagnostics.extract import extract_path

        for rel, full in self.pending():
            if self._stop.is_set():
                return
            stats = InputStats()
            try:
                failures: list[Failure] = list(extract_path(full, stats))
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
            self._done.add(rel)

    def _marker(self, rel: str) -> Any:
        name = self.name

        def mark(conn: sqlite3.Connection) -> None:
            checkpoints.mark_processed(conn, name, rel)

        return mark


class _CloudTrailDirType:
    def check(self, table: ConfigTable) -> Mapping[str, Any]:
        path = table.required_str("path", 'e.g. path = "/var/log/cloudtrail"')
        if not Path(path).is_absolute():
            raise ConfigError(f"{table.where}: key 'path' {path!r} must be an absolute path")
        return {"path": Path(path)}

    def create(self, config: SourceConfig, ctx: SourceContext) -> CloudTrailDirSource:
        return CloudTrailDirSource(config.name, ctx, config.options["path"])


CLOUDTRAIL_DIR = _CloudTrailDirType()
