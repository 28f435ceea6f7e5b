"""Logging set-up for the one-shot commands; called only from ``cli.main``.

``scan``, ``decode`` and ``explain`` report problems in their output (each
diagnosis's ``decode_error``) and as warnings naming the input, so their
structlog events are for debugging: errors only unless ``-v`` is given.
``watch`` configures JSON logs for the journal itself.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any


def escape_values(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    """Every string in a log event as one escaped line: events quote file names and input."""
    from diagnostics.render.safe import line

    for key, value in event.items():
        if isinstance(value, str):
            event[key] = line(value)
    return event


def configure_cli_logging(verbosity: int) -> None:
    import structlog

    level = {0: logging.ERROR, 1: logging.WARNING, 2: logging.INFO}.get(verbosity, logging.DEBUG)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="%H:%M:%S"),
            # The console renderer prints strings as they are.
            escape_values,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
