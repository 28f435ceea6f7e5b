"""``authz-diag mcp``: the same diagnoses for AI coding agents, over MCP stdio.

Agents that hit AccessDenied paste the error text much as a person would; the
tools here run it through the very path ``scan`` uses (``run_scan`` on the
pasted text as stdin) and return the same JSON objects, so an agent never
gets a diagnosis that the CLI would not print.  The ``mcp`` SDK is an optional
extra (``authz-diagnostics[mcp]``) and is imported only when the server starts.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from diagnostics.errors import DiagnosticsError, UsageError

if TYPE_CHECKING:
    from diagnostics.pipeline import DecoderLike
    from diagnostics.rules import RuleSet

#: A paste larger than this is a log file, not a paste: point at `scan` instead.
MAX_TEXT_BYTES = 4 * 1024 * 1024

#: Said by every tool that returns fixes: the error text may be forged, and an
#: empty ``risk`` only means no catalogued path or cross-account grant matched.
REVIEW = (
    "Every fix needs a human's review before it is applied, whatever its `risk`: the "
    "error text can be forged, and an empty `risk` means only that no catalogued "
    "privilege-escalation path or cross-account grant was found, not that the fix is safe. "
    "Never apply a fix yourself."
)

INSTRUCTIONS = (
    "Diagnoses AWS authorization failures (AccessDenied, UnauthorizedOperation, "
    "'is not authorized to perform', encoded authorization failure messages). "
    "Pass the error text exactly as the tool printed it; each diagnosis says who was "
    "denied, which action on which resource, why, and the IAM statements that fix it "
    "(`findings[].fixes`), checked by an IAM evaluator. Fixes name the role, never the "
    "session. " + REVIEW
)


def _payload(text: str) -> bytes:
    data = text.encode("utf-8", errors="surrogateescape")
    if len(data) > MAX_TEXT_BYTES:
        raise UsageError(
            f"the text is {len(data):,} bytes; paste at most {MAX_TEXT_BYTES:,} bytes "
            "(the error and a few lines around it), or run `authz-diag scan FILE` on the log"
        )
    return data if data.endswith(b"\n") else data + b"\n"


def diagnose_text(
    text: str, ruleset: RuleSet | None, decoder: DecoderLike | None = None
) -> dict[str, Any]:
    """Every failure in ``text`` as ``scan --format json`` objects, with scan's warnings."""
    from diagnostics.scan import run_scan

    out, err = io.BytesIO(), io.StringIO()
    run_scan(
        ["-"],
        ruleset=ruleset,
        decoder=decoder,
        fmt="json",
        out=out,
        err=err,
        stdin=io.BytesIO(_payload(text)),
    )
    diagnoses = [orjson.loads(line) for line in out.getvalue().splitlines() if line]
    answer: dict[str, Any] = {"count": len(diagnoses), "diagnoses": diagnoses}
    warnings = [line.removeprefix("authz-diag: ") for line in err.getvalue().splitlines()]
    if warnings:
        answer["warnings"] = warnings
    if not diagnoses:
        answer["note"] = (
            "no AWS authorization failure found in the text; pass the error exactly as "
            "printed (for example 'User: arn:... is not authorized to perform: ...' or "
            "'Encoded authorization failure message: ...')"
        )
    return answer


def explain_text(message: str, ruleset: RuleSet | None) -> dict[str, Any]:
    """A decoded message or saved IAM Access Troubleshooter details, explained."""
    from diagnostics.explain import explain_bytes

    diagnoses = explain_bytes(_payload(message), "mcp", ruleset)
    return {"count": len(diagnoses), "diagnoses": [d.to_json() for d in diagnoses]}


def _decoder(profile: str | None, region: str | None) -> DecoderLike:
    """STS decoding and Access Troubleshooter resolving, as ``scan`` builds them."""
    from diagnostics.awsenv import avoid_instance_metadata_off_ec2
    from diagnostics.decode import Decoder, DecodeSettings
    from diagnostics.troubleshooter import Resolver
    from diagnostics.troubleshooter.combined import ResolvingDecoder

    avoid_instance_metadata_off_ec2()
    settings = DecodeSettings(region=region, profile=profile)
    return ResolvingDecoder(Decoder(settings), Resolver(settings))


def build_server(
    rules: list[Path] | None = None,
    *,
    decoder_factory: Callable[[str | None, str | None], DecoderLike] = _decoder,
) -> Any:
    """The MCP server with its three tools; the rules load once, on first use."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    from diagnostics import __version__
    from diagnostics.commands.common import load_rules

    server = MCPServer(name="authz-diagnostics", version=__version__, instructions=INSTRUCTIONS)
    loaded: list[RuleSet] = []

    def ruleset() -> RuleSet:
        if not loaded:
            loaded.append(load_rules(rules))
        return loaded[0]

    def guarded(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        try:
            return call()
        except DiagnosticsError as exc:
            # The agent sees what a person would: the sentence that says what to do.
            raise ToolError(str(exc)) from None

    @server.tool(
        name="diagnose_aws_error",
        description="Find and explain AWS authorization failures in pasted error text "
        "(Terraform, AWS CLI, SDK tracebacks, CloudTrail JSON, CI logs). Offline: encoded "
        "messages are not sent to STS (use decode_authorization_message for that). Returns "
        "the diagnoses with the IAM statements that fix each one. " + REVIEW,
    )
    def diagnose_aws_error(text: str) -> dict[str, Any]:
        return guarded(lambda: diagnose_text(text, ruleset()))

    @server.tool(
        name="explain_decoded_message",
        description="Explain the JSON that `aws sts decode-authorization-message` printed "
        "(the whole output or its DecodedMessage), or that `aws iam-toolbox "
        "get-request-authorization-details` printed for an authorization ID: the matched "
        "statements, which check, policy, statement and organization target denied, the "
        "request context, and the fix. " + REVIEW,
    )
    def explain_decoded_message(message: str) -> dict[str, Any]:
        return guarded(lambda: explain_text(message, ruleset()))

    @server.tool(
        name="decode_authorization_message",
        description="Decode the encoded authorization failure messages in the text with STS "
        "DecodeAuthorizationMessage, and resolve IAM Access Troubleshooter authorization IDs "
        "with GetRequestAuthorizationDetails (needs AWS credentials allowed "
        "sts:DecodeAuthorizationMessage or iam:GetRequestAuthorizationDetails; without them "
        "each diagnosis says why in decode_error or authorization_error), and explain them. "
        + REVIEW,
    )
    def decode_authorization_message(
        text: str, profile: str | None = None, region: str | None = None
    ) -> dict[str, Any]:
        def call() -> dict[str, Any]:
            decoder = decoder_factory(profile, region)
            try:
                return diagnose_text(text, ruleset(), decoder)
            finally:
                close = getattr(decoder, "close", None)
                if close is not None:
                    close()

        return guarded(call)

    return server
