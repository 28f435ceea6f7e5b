"""``authz-diag decode BLOB|ID|-``: decode one encoded message with STS (or resolve one
Access Troubleshooter authorization ID with iam-toolbox) and explain it."""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from typing import TYPE_CHECKING, Any

from diagnostics.commands.common import (
    add_decode_arguments,
    add_rules_argument,
    build_decoder,
)
from diagnostics.errors import UsageError
from diagnostics.rules import load_with_bundled

if TYPE_CHECKING:
    from diagnostics.model import Failure

# Anchored, one character class: linear.
_BLOB = re.compile(r"[A-Za-z0-9_-]+")
# Anchored, a literal and one class: linear.
_OPTION = re.compile(r"--[a-z][a-z-]*")
# Anchored, one bounded class (botocore's AuthorizationId): linear.
_AUTHORIZATION_ID = re.compile(r"[0-9a-z]{1,256}")
MAX_BLOB = 10_240  # STS EncodedMessage limit (STS API reference)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "decode",
        help="decode one encoded authorization failure message (or resolve one "
        "authorization ID) and explain it",
        description="Decode a message with STS DecodeAuthorizationMessage and explain it. "
        "BLOB may be the bare message, or text (or - for stdin) that contains "
        "'Encoded authorization failure message: ...'. A bare Access Troubleshooter "
        "authorization ID (lower-case letters and digits), or text ending with '... "
        "authorization id: ID', is resolved with GetRequestAuthorizationDetails instead. "
        "Exit status: 0 decoded or resolved, 1 AWS could not (the reason is printed), "
        "2 usage or input error.",
    )
    p.add_argument("blob", metavar="BLOB|ID|-")
    p.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    add_rules_argument(p)
    add_decode_arguments(p, optional=False)
    p.set_defaults(run=run)


def protect_leading_dash(argv: list[str]) -> list[str]:
    """Let ``decode -PtYg...`` work: a blob may start with '-' (base64url).

    argparse would read it as an option; anything long and base64url after
    ``decode`` is put behind ``--`` so it arrives as the BLOB argument.
    """
    if not argv or argv[0] != "decode" or "--" in argv:
        return argv
    for i, arg in enumerate(argv[1:], 1):
        if _OPTION.fullmatch(arg):
            continue  # a long option (--toolbox-endpoint-url), not a blob
        if len(arg) >= 20 and arg.startswith("-") and _BLOB.fullmatch(arg):
            return [*argv[:i], *argv[i + 1 :], "--", arg]
    return argv


def failures_from_input(raw: str) -> list[Failure]:
    """The failures in ``raw``: text holding the marker, or one bare blob (wrapping undone)."""
    from diagnostics.extract import extract_text
    from diagnostics.model import Failure, SourceRef

    found = [f for f in extract_text(raw, "-") if f.encoded_message or f.authorization_id]
    if found:
        return found
    blob = "".join(raw.split())
    if _AUTHORIZATION_ID.fullmatch(blob):
        # Blobs are hundreds of mixed-case characters; IDs are short and lower-case.
        return [Failure(kind="plain", source=SourceRef("-"), authorization_id=blob)]
    if not blob or len(blob) > MAX_BLOB or not _BLOB.fullmatch(blob):
        raise UsageError(
            "that is not an encoded authorization message: expected base64url text "
            "(A-Z a-z 0-9 - _) of at most 10,240 characters, or text containing "
            "'Encoded authorization failure message: ...'"
        )
    return [Failure(kind="encoded", source=SourceRef("-"), encoded_message=blob)]


def run(args: argparse.Namespace) -> int:
    raw = sys.stdin.read() if args.blob == "-" else args.blob
    failures = failures_from_input(raw)
    from diagnostics.diagnose.pipeline import Pipeline

    decoder = build_decoder(args)
    try:
        diagnoses = list(Pipeline(load_with_bundled(args.rules), decoder).diagnose(failures))
    finally:
        if decoder is not None:
            decoder.close()
    from diagnostics.decode.messages import without_off_switch

    # `decode` exists to call STS: advice to switch decoding off does not apply.
    diagnoses = [
        dataclasses.replace(
            d,
            decode_error=without_off_switch(d.decode_error) if d.decode_error else None,
            authorization_error=without_off_switch(d.authorization_error)
            if d.authorization_error
            else None,
        )
        for d in diagnoses
    ]
    from diagnostics.commands.output import print_diagnoses

    print_diagnoses(diagnoses, args.format)
    return 1 if any(d.decode_error or d.authorization_error for d in diagnoses) else 0
