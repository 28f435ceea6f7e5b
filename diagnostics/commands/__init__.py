"""One module per ``authz-diag`` subcommand, each with ``register(subparsers)`` and ``run(args)``.

Command modules must import nothing heavy at module level: ``authz-diag scan
--no-decode`` never imports boto3.
"""

from __future__ import annotations

#: Subcommands in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "scan",
    "decode",
    "explain",
    "snapshot",
    "rules",
    "watch",
    "send",
    "mcp",
)
