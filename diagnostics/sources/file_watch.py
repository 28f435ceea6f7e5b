"""Wake a file source when inotify (watchdog) sees anything change under its globs.

The directories to watch are the fixed parts of each glob (recursively when
a wildcard sits in a directory part).  Watches are re-tried on every pass,
so a directory created after start is watched once it exists; a directory
that cannot be watched (inotify limits) is logged and left to polling.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from diagnostics.support.logconfig import get_logger

log = get_logger()

_MAGIC = ("*", "?", "[")


def watch_roots(pattern: str) -> tuple[str, bool]:
    """The directory to watch for ``pattern`` and whether to watch it recursively."""
    parts = Path(pattern).parts
    fixed: list[str] = []
    for part in parts[:-1]:
        if any(m in part for m in _MAGIC):
            return str(Path(*fixed)) if fixed else ".", True
        fixed.append(part)
    return (str(Path(*fixed)) if fixed else "."), False


class DirWatch:
    """Sets ``wake`` on any event under the directories of ``patterns``."""

    def __init__(self, name: str, patterns: Sequence[str], wake: threading.Event) -> None:
        self.name = name
        self.patterns = patterns
        self.wake = wake
        self._observer: Any = None
        self._handler: Any = None
        self._watched: set[str] = set()

    def start(self) -> None:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # pragma: no cover - watchdog is a dependency
            return
        wake = self.wake

        class _Wake(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                wake.set()

        self._handler = _Wake()
        self._observer = Observer()
        self._observer.daemon = True
        self._observer.start()
        self.schedule()

    def schedule(self) -> None:
        """Watch every glob directory that exists now and is not watched yet."""
        if self._observer is None:
            return
        for pattern in self.patterns:
            root, recursive = watch_roots(pattern)
            if root in self._watched or not Path(root).is_dir():
                continue
            try:
                self._observer.schedule(self._handler, root, recursive=recursive)
                self._watched.add(root)
            except OSError as exc:
                # Polling still covers it; inotify watches can run out.
                log.warning("cannot watch directory", source=self.name, dir=root, error=str(exc))

    def stop(self, timeout: float) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
