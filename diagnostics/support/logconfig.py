"""Logging set-up for the one-shot commands, and the loggers every module uses.

``scan``, ``decode`` and ``explain`` report problems in their output (each
diagnosis's ``decode_error``) and as warnings naming the input, so their
structlog events are for debugging: errors only unless ``-v`` is given.
``watch`` configures JSON logs for the journal itself.

structlog (with the asyncio and logging it imports) costs about 40 ms to
import, a fifth of a scan's start-up, and a clean scan logs nothing: so
modules take a ``get_logger()`` that imports structlog on its first event,
and the CLI's configuration waits for that moment too.
"""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from typing import Any

#: The verbosity ``configure_cli_logging`` was given ("verbosity"), applied at the first event.
_PENDING: dict[str, int] = {}


def escape_values(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    """Every string in a log event as one escaped line: events quote file names and input."""
    from diagnostics.text.safe import line

    for key, value in event.items():
        if isinstance(value, str):
            event[key] = line(value)
    return event


def configure_cli_logging(verbosity: int) -> None:
    """Errors only, or more with ``-v``; applied now if structlog is loaded, else at first use."""
    _PENDING.clear()
    if "structlog" in sys.modules:
        _apply(verbosity)
    else:
        _PENDING["verbosity"] = verbosity


def _apply(verbosity: int) -> None:
    import logging

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


class _LazyLogger:
    """Stands for ``structlog.get_logger(name)`` until its first event."""

    __slots__ = ("_logger", "_name")

    def __init__(self, name: str | None) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, attr: str) -> Any:
        if self._logger is None:
            import structlog

            if "verbosity" in _PENDING:
                _apply(_PENDING.pop("verbosity"))
            self._logger = (
                structlog.get_logger(self._name) if self._name else structlog.get_logger()
            )
        return getattr(self._logger, attr)


def debug_wanted() -> bool:
    """Whether a debug event could be seen (so it is worth importing structlog for)."""
    return "structlog" in sys.modules or _PENDING.get("verbosity", 0) >= 3


def get_logger(name: str | None = None) -> Any:
    """A structlog logger that imports structlog only when it first logs."""
    return _LazyLogger(name)
