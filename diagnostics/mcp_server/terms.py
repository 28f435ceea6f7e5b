"""The decode and resolve errors in MCP tool terms: arguments and tools, not CLI flags.

``decode_error`` and ``authorization_error`` are written for a person at a shell
("pass --profile", "run with --no-decode"); an agent calling a tool can do
neither, so the MCP server rewrites those phrases into the tool's own arguments.
The texts themselves stay in one place (``diagnostics.decode.messages``,
``diagnostics.troubleshooter.messages``); this table only maps their advice.
"""

from __future__ import annotations

import re

OFFLINE_TOOL = "diagnose_aws_error"
DECODE_TOOL = "decode_authorization_message"

_OFFLINE = f"or call {OFFLINE_TOOL} instead, which makes no AWS call"

#: (CLI phrase, tool phrase), longest first so a short phrase never splits a long one.
_PHRASES: tuple[tuple[str, str], ...] = (
    (
        "decoding is off (--no-decode or decode.enabled = false); run without it, with "
        "credentials of the failing account,",
        f"{OFFLINE_TOOL} does not decode; call {DECODE_TOOL} with the same `text` (it uses "
        "the server's AWS credentials; give `profile` or `role_arn` for the failing account)",
    ),
    (
        "resolving is off (--no-decode or decode.enabled = false); run without it, with "
        "credentials of the denied principal's organization,",
        f"{OFFLINE_TOOL} does not resolve authorization IDs; call {DECODE_TOOL} with the "
        "same `text` (give `profile` or `role_arn` for the denied principal's organization)",
    ),
    ("; or skip decoding with --no-decode", f"; {_OFFLINE}"),
    ("; or turn resolving off with --no-decode", f"; {_OFFLINE}"),
    (", or run with --no-decode", f", {_OFFLINE}"),
    ("set AWS_PROFILE or pass --profile", "pass the `profile` argument"),
    ("(see --decode-role-arn)", "(pass the `role_arn` argument)"),
    ("e.g. --decode-role-arn ", "e.g. the `role_arn` argument "),
    ("run `authz-diag decode -`", f"call {DECODE_TOOL} with it as `text`"),
    ("role_arn_template must contain {account}", "`role_arn` must contain {account}"),
    ("is not in `accounts` ([alerts] accounts)", "is not in the `accounts` argument"),
)

# The rate and concurrency are the server's settings, not the agent's: it can only wait.
# Linear: bounded classes between literals (the text is one of our own messages).
_RATE = re.compile(
    r"lower the [^;]{0,200}? \(max_per_second, now [^)]{0,50}\) or the concurrency, "
)


def in_tool_terms(text: str) -> str:
    """``text`` with its CLI advice replaced by the MCP tools' arguments."""
    for cli, tool in _PHRASES:
        text = text.replace(cli, tool)
    return _RATE.sub("", text)
