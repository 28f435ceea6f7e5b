"""``DirWatch``: which directories a glob watches, and a real inotify wake-up."""

from __future__ import annotations

import threading
from pathlib import Path

from diagnostics.sources.file_watch import DirWatch, watch_roots


def test_watch_roots_are_the_fixed_part_of_each_glob() -> None:
    """A wildcard in a directory part watches the fixed parent recursively; else just the dir."""
    assert watch_roots("/var/log/app/*.log") == ("/var/log/app", False)
    assert watch_roots("/var/log/*/current") == ("/var/log", True)
    assert watch_roots("/srv/[ab]*/logs/x.log") == ("/srv", True)
    assert watch_roots("app.log") == (".", False)


def test_a_new_file_under_the_glob_wakes_the_source(tmp_path: Path) -> None:
    """Creating a file in a watched directory sets the wake event (watchdog over inotify)."""
    logs = tmp_path / "logs"
    wake = threading.Event()
    watch = DirWatch("t", [f"{logs}/*.log"], wake)
    watch.start()
    try:
        watch.schedule()  # the directory does not exist yet: nothing to watch, no error
        logs.mkdir()
        watch.schedule()  # now it does
        wake.clear()
        (logs / "a.log").write_text("x\n")
        assert wake.wait(5.0)
    finally:
        watch.stop(5.0)
