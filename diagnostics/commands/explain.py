"""``authz-diag explain [FILE|-]``: explain a decoded message or saved authorization details.

Two inputs, told apart by shape: STS DecodeAuthorizationMessage's output, or
IAM Access Troubleshooter's GetRequestAuthorizationDetails answer (an object
with ``evaluations``), optionally with the policy documents beside it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diagnostics.commands.common import add_rules_argument
from diagnostics.errors import InputError, UsageError
from diagnostics.rules import load_with_bundled
from diagnostics.text.safe import line

if TYPE_CHECKING:
    from diagnostics.model import Diagnosis
    from diagnostics.rules import RuleSet


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
        "with the fixes added. Exit status: 0 explained, 2 usage or input error (for a "
        "directory: a file in it could not be explained; the others are).",
    )
    p.add_argument(
        "file",
        nargs="?",
        default="-",
        metavar="FILE|DIR|-",
        help="the JSON to explain; a directory: each .json file in it; - (default): stdin",
    )
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
        "--policies",
        action="append",
        default=[],
        metavar="PATH",
        help="a policy snapshot (`authz-diag snapshot --out FILE`, or the JSON of `aws iam "
        "get-account-authorization-details`; repeatable): attribute each denial to the layer, "
        "policy and statement and fix it as an edit; FILE may then be any log `scan` reads",
    )
    p.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    add_rules_argument(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    rules = load_with_bundled(args.rules)
    if args.policies:
        from diagnostics.snapshot.judge import SnapshotJudge
        from diagnostics.snapshot.read import load_snapshot

        args.judge = SnapshotJudge(load_snapshot(args.policies))
    folder = Path(args.file) if args.file != "-" else None
    if folder is None or not folder.is_dir():
        diagnoses = _explain(
            _read(args.file), args.file, args.policy, rules, strict=True, logs=bool(args.policies)
        )
        _print(_judged(args, diagnoses), args.format)
        return 0
    # A folder of saved answers (examples/troubleshooter/): each .json file in it, by name.
    files = sorted(p for p in folder.iterdir() if p.suffix == ".json" and p.is_file())
    if not files:
        raise UsageError(
            f"no .json file in the directory {args.file}; name a file, or a directory "
            "holding decode-authorization-message or get-request-authorization-details "
            "output as NAME.json files"
        )
    diagnoses = []
    skipped = 0
    for path in files:
        try:
            diagnoses += _explain(
                _read(str(path)),
                str(path),
                args.policy,
                rules,
                strict=False,
                logs=bool(args.policies),
            )
        except InputError as exc:
            # One unreadable file is named and skipped; the others are still explained.
            skipped += 1
            print(f"authz-diag: warning: skipped {line(exc)}", file=sys.stderr)
    _print(_judged(args, diagnoses), args.format)
    return 2 if skipped else 0


def _judged(args: argparse.Namespace, diagnoses: list[Diagnosis]) -> list[Diagnosis]:
    """--policies: each diagnosis judged against the snapshot."""
    judge = getattr(args, "judge", None)
    return diagnoses if judge is None else [judge(d) for d in diagnoses]


def _read(name: str) -> bytes:
    if name == "-":
        if sys.stdin.isatty():
            raise UsageError(
                "paste the decode output on stdin, or name a file: "
                "aws sts decode-authorization-message --encoded-message ... > msg.json; "
                "authz-diag explain msg.json"
            )
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror}; check the path") from None


def _explain(
    raw: bytes,
    name: str,
    policy: list[str],
    rules: RuleSet | None,
    *,
    strict: bool,
    logs: bool = False,
) -> list[Diagnosis]:
    """One input explained; ``strict``: --policy with a decoded message is a usage error."""
    from diagnostics.diagnose.explain import details_of, explain_bytes

    documents: dict[str, Any] = {}
    details = details_of(raw)
    if details is not None and policy:
        uris = [str(p.get("uri")) for p in details.get("policies") or [] if isinstance(p, dict)]
        from diagnostics.commands.explain_policies import load_policies

        documents, warnings = load_policies(policy, uris)
        for warning in warnings:
            print(f"authz-diag: warning: {warning}", file=sys.stderr)
    elif policy and strict:
        raise UsageError(
            "--policy goes with saved authorization details (aws iam-toolbox "
            "get-request-authorization-details output), not with a decoded message"
        )
    try:
        return explain_bytes(raw, name, rules, documents=documents)
    except InputError:
        if not logs:
            raise
    from diagnostics.snapshot.logs import diagnose_log

    # With a snapshot, a log's denials are worth explaining too.
    return diagnose_log(raw, name, rules)


def _print(diagnoses: list[Diagnosis], fmt: str) -> None:
    from diagnostics.commands.output import print_diagnoses

    print_diagnoses(diagnoses, fmt)
