"""Where alerts go: stdout (text or JSON lines), a JSON-lines file, Slack."""

from __future__ import annotations

from diagnostics.sinks.base import Detail, Sink
from diagnostics.sinks.stream import FileSink, StdoutSink

__all__ = ["Sink", "Detail", "StdoutSink", "FileSink"]
