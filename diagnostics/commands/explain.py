"""``authz-diag explain [FILE|-]``: explain a decoded message or saved authorization details.

Two inputs, told apart by shape: STS DecodeAuthorizationMessage's output, or
IAM Access Troubleshooter's GetRequestAuthorizationDetails answer (an object
with ``evaluations``), optionally with the policy documents beside it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from diagnostics.commands.common import add_rules_argument, load_rules
from diagnostics.errors import InputError, UsageError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "explain",
        help="explain a decoded message or saved IAM Access Troubleshooter details",
        description="Explain the JSON that `aws sts decode-authorization-message` returns "
        '(the whole {"DecodedMessage": "..."} output, the DecodedMessage string, or its '
        "parsed object), or the JSON that `aws iam-toolbox "
        "get-request-authorization-details --authorization-id ID` prints (recognised by "
        "its evaluations list): which check, policy, statement and organization target "
        "denied each evaluation, the fix for each layer, and a re-check of every layer "
        "with the fixes added. Exit status: 0 explained, 2 usage or input error.",
    )
    p.add_argument("file", nargs="?", default="-", metavar="FILE|-")
    p.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="URI=FILE|DIR",
        help="with authorization details: a policy document as `aws iam-toolbox "
        "get-request-authorization-policy --authorization-id ID --policy-uri URI` prints it "
        "(repeatable). URI=FILE names the policy; a DIR holds NAME.json files, each matched "
        "to the evaluated policy whose URI ends in /NAME (p-7q3x9k2m.json for an SCP). "
        "With the documents, denying statements are quoted and their conditions checked",
    )
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
    from diagnostics.explain import details_of, explain_bytes

    documents: dict[str, Any] = {}
    details = details_of(raw)
    if details is not None and args.policy:
        uris = [str(p.get("uri")) for p in details.get("policies") or [] if isinstance(p, dict)]
        from diagnostics.commands.explain_policies import load_policies

        documents, warnings = load_policies(args.policy, uris)
        for warning in warnings:
            print(f"authz-diag: warning: {warning}", file=sys.stderr)
    elif args.policy:
        raise UsageError(
            "--policy goes with saved authorization details (aws iam-toolbox "
            "get-request-authorization-details output), not with a decoded message"
        )
    rules = load_rules(args.rules)
    from diagnostics.commands.output import print_diagnoses

    print_diagnoses(explain_bytes(raw, args.file, rules, documents=documents), args.format)
    return 0
