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
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise UsageError(
            "the MCP server needs the MCP SDK: pip install 'mcp>=2.3,<3' into this "
            "environment (or pip install -e '.[mcp]' in a checkout)"
        ) from None
    from diagnostics.mcpserver import build_server

    build_server(args.rules).run("stdio")
    return 0
