"""``authz-diag mcp``: serve diagnoses to AI coding agents over MCP stdio."""

from __future__ import annotations

import argparse
from typing import Any

from diagnostics.commands.common import add_rules_argument
from diagnostics.errors import UsageError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "mcp",
        help="serve the diagnosis to AI agents over MCP stdio (needs the mcp extra)",
        description="Run a Model Context Protocol server on stdin/stdout with the tools "
        "diagnose_aws_error, explain_decoded_message and decode_authorization_message. "
        "Configure your agent to start `authz-diag mcp`.",
    )
    add_rules_argument(p)
    p.add_argument(
        "--max-reply-bytes",
        type=_reply_bytes,
        default=None,
        metavar="N",
        help="cap each tool reply at N bytes (default 262144); the diagnoses past it are left "
        "out and the reply's notice says how many",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise UsageError(
            "the MCP server needs the MCP SDK: pip install 'mcp>=2.3,<3' into this "
            "environment (or pip install -e '.[mcp]' in a checkout)"
        ) from None
    from diagnostics.mcp_server.reply import MAX_REPLY_BYTES
    from diagnostics.mcp_server.server import build_server

    build_server(args.rules, max_reply_bytes=args.max_reply_bytes or MAX_REPLY_BYTES).run("stdio")
    return 0


#: Below this a reply cannot hold even one diagnosis next to its envelope.
MIN_REPLY_BYTES = 32 * 1024


def _reply_bytes(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < MIN_REPLY_BYTES:
        raise argparse.ArgumentTypeError(
            f"--max-reply-bytes takes a whole number of bytes, at least {MIN_REPLY_BYTES:,} "
            f"(got {value!r})"
        )
    return n
