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

import orjson

from diagnostics.commands.common import add_rules_argument, load_rules
from diagnostics.commands.explain_policies import load_policies
from diagnostics.commands.output import print_diagnoses
from diagnostics.context import DecodedMessageError, parse_decoded
from diagnostics.errors import InputError, UsageError
from diagnostics.model import DecodeResult, Failure, JSONObject, SourceRef
from diagnostics.pipeline import Pipeline
from diagnostics.troubleshooter import failure_from_details, looks_like_details


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
    p.add_argument("--format", choices=("text", "json"), default="text")
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
    details = _details(raw)
    if details is not None:
        return _explain_details(args, details)
    if args.policy:
        raise UsageError(
            "--policy goes with saved authorization details (aws iam-toolbox "
            "get-request-authorization-details output), not with a decoded message"
        )
    try:
        decoded = parse_decoded(raw)
    except DecodedMessageError as exc:
        raise InputError(
            f"{args.file}: {exc}; or the output of aws iam-toolbox "
            "get-request-authorization-details (an object with evaluations)"
        ) from None
    failure = Failure(kind="decoded", source=SourceRef(args.file), decoded=decoded)
    diagnosis = Pipeline(load_rules(args.rules)).diagnose_one(
        failure, DecodeResult(decoded=decoded)
    )
    print_diagnoses([diagnosis], args.format)
    return 0


def _details(raw: bytes) -> JSONObject | None:
    """The parsed answer when ``raw`` is authorization details, else None."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if isinstance(obj, dict) and looks_like_details(obj.get("authorization_details")):
        # A line of `scan --format json` that carries resolved details.
        obj = obj["authorization_details"]
    return dict(obj) if looks_like_details(obj) else None


def _explain_details(args: argparse.Namespace, raw: JSONObject) -> int:
    uris = [str(p.get("uri")) for p in raw.get("policies") or [] if isinstance(p, dict)]
    documents, warnings = load_policies(args.policy, uris)
    for warning in warnings:
        print(f"authz-diag: warning: {warning}", file=sys.stderr)
    if documents:
        own = raw.get("documents")
        raw = {**raw, "documents": {**(own if isinstance(own, dict) else {}), **documents}}
    failure = failure_from_details(raw, args.file)
    diagnosis = Pipeline(load_rules(args.rules)).diagnose_one(
        failure, DecodeResult(), authorization_details=raw
    )
    print_diagnoses([diagnosis], args.format)
    return 0
