"""``authz-diag watch --config FILE [--check-config]``: the daemon."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "watch",
        help="run as a service: tail logs and CloudTrail deliveries, alert on failures",
        description="Tail the sources in the config file and send grouped alerts to its sinks.",
    )
    p.add_argument("--config", required=True, type=Path, metavar="FILE", help="TOML config file")
    p.add_argument(
        "--check-config",
        action="store_true",
        help="validate the config file, its rules and sinks, then exit",
    )
    p.add_argument(
        "--log-level",
        default=os.environ.get("AUTHZ_DIAG_LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
        help="lowest log level written to stderr (default: info)",
    )
    p.set_defaults(run=run)


def configure_logging(level: str) -> None:
    """JSON lines on stderr, one per event, for journald."""
    import logging

    import structlog

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def run(args: argparse.Namespace) -> int:
    from diagnostics.service.config import load_config

    configure_logging(args.log_level)
    config = load_config(args.config)
    if args.check_config:
        from diagnostics.service.runtime import check

        check(config)
        print(f"{args.config}: OK ({len(config.sources)} source(s), {len(config.sinks)} sink(s))")
        return 0
    from diagnostics.service.loop import Service

    service = Service(config)
    service.install_signals()
    return service.run()
