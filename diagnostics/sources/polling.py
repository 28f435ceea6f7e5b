"""The thread, stop flag and error handling every polling AWS source shares.

A subclass sets ``poll_interval``, ``name``, ``_ctx``, the class attributes
``ERROR_COUNTER``, ``WHAT`` and ``DENIED_HINT``, and implements ``load()``
(read its checkpoints) and ``poll(emit)`` (one pass).  A failed pass is
counted and logged with what to do, and the next pass runs on schedule:
a source never takes the daemon down.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, ClassVar

from diagnostics.sources import aws_common
from diagnostics.support.logconfig import get_logger

if TYPE_CHECKING:
    from diagnostics.sources.base import Emit, SourceContext

log = get_logger()


class PollingSource:
    """Runs ``poll(emit)`` every ``poll_interval`` seconds on its own thread."""

    finite = False
    #: InputStats-style counter bumped when a pass raises.
    ERROR_COUNTER: ClassVar[str] = "pass_errors"
    #: What the log line calls a failed pass ("s3 pass failed").
    WHAT: ClassVar[str] = "pass"
    #: What to do when AWS answers AccessDenied.
    DENIED_HINT: ClassVar[str] = "grant the source's permissions (docs/aws-setup.md)"

    name: str
    poll_interval: float
    _ctx: SourceContext

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._caught_up: float | None = None

    def caught_up_at(self) -> float | None:
        """Monotonic time the last pass that succeeded ended (metrics: source lag)."""
        return self._caught_up

    def load(self) -> None:
        """Read checkpoints before the first pass."""

    def poll(self, emit: Emit) -> int:
        raise NotImplementedError

    def start(self, emit: Emit) -> None:
        self.load()
        self._thread = threading.Thread(
            target=self._run, args=(emit,), name=f"source-{self.name}", daemon=True
        )
        self._thread.start()

    def is_ready(self) -> bool:
        return self._thread is not None

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, emit: Emit) -> None:
        while not self._stop.is_set():
            try:
                self.poll(emit)
                self._caught_up = time.monotonic()
            except Exception as exc:
                self._ctx.count(self.ERROR_COUNTER)
                hint = (
                    self.DENIED_HINT
                    if aws_common.error_code(exc) in aws_common.DENIED_CODES
                    else "retrying at the next poll"
                )
                log.warning(f"{self.WHAT} failed", source=self.name, error=str(exc), hint=hint)
            self._stop.wait(self.poll_interval)
