"""Where alerts go: stdout (text or JSON lines), a JSON-lines file, Slack."""

from __future__ import annotations

from diagnostics.alerts.sink import Detail, Sink
from diagnostics.sinks.config import SINK_TYPES, build_sink
from diagnostics.sinks.slack import SlackSink
from diagnostics.sinks.slack_blocks import build_payload
from diagnostics.sinks.stream import FileSink, StdoutSink
from diagnostics.sinks.text import render_text

__all__ = [
    "Sink",
    "Detail",
    "SINK_TYPES",
    "build_sink",
    "StdoutSink",
    "FileSink",
    "SlackSink",
    "build_payload",
    "render_text",
]
