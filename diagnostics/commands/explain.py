"""``authz-diag explain [FILE|-]``: explain an already decoded message."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from diagnostics.commands.common import add_rules_argument, load_rules
from diagnostics.commands.output import print_diagnoses
from diagnostics.errors import InputError, UsageError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "explain",
        help="explain an already decoded message (aws sts decode-authorization-message output)",
        description="Explain the JSON that `aws sts decode-authorization-message` returns: "
        'the whole {"DecodedMessage": "..."} output, the DecodedMessage string, or its '
        "parsed object. Exit status: 0 explained, 2 usage or input error.",
    )
    p.add_argument("file", nargs="?", default="-", metavar="FILE|-")
    p.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    add_rules_argument(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.file == "-":
        if sys.stdin.isatty():
            raise UsageError(
                "paste the decode output on stdin, or name a file: "
                "aws sts decode-authorization-message --encoded-message ... > msg.json; "
                "authz-diag explain msg.json"
            )
        raw = sys.stdin.buffer.read()
    else:
        try:
            raw = Path(args.file).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {args.file}: {exc.strerror}; check the path") from None
    from diagnostics.explain import explain_bytes

    print_diagnoses(explain_bytes(raw, args.file, load_rules(args.rules)), args.format)
    return 0
