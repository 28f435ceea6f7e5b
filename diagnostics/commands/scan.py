"""``authz-diag scan [PATH|-]...``: one pass over files, directories or stdin."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from diagnostics.commands.common import add_decode_arguments, add_rules_argument, build_decoder
from diagnostics.commands.scan_lookup import add_lookup_arguments, cloudtrail_lookup
from diagnostics.errors import UsageError

if TYPE_CHECKING:
    from diagnostics.model import Diagnosis
    from diagnostics.rules import RuleSet


FORMATS = (
    "text",
    "json",
    "policy",
    "policy-text",
    "markdown",
    "sarif",
    "terraform",
    "cloudformation",
)
#: Formats printed once the whole input is read (they merge or tabulate).
COLLECTED = ("policy", "policy-text", "markdown", "sarif", "terraform", "cloudformation")
FORMAT_HELP = (
    "text (default): a block per failure; json: one object per line; policy: one JSON "
    "document of the policies to change (for jq or the AWS CLI), explanations on stderr; "
    "policy-text: the same with # comments; markdown: a CI job summary or PR comment; "
    "terraform: aws_iam_policy_document blocks and the resources that apply them; "
    "cloudformation: a YAML template of the same"
    "; sarif: SARIF 2.1.0 for code scanning, one result per failure"
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "scan",
        help="find, decode and explain authorization failures in files, directories or stdin",
        description="Scan logs, CloudTrail deliveries (.json, .json.gz) or stdin for AWS "
        "authorization failures. Exit status: 0 none found, 1 found, 2 usage or input error.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or directories; - for stdin")
    p.add_argument("--format", choices=FORMATS, default="text", help=FORMAT_HELP)
    add_rules_argument(p)
    add_decode_arguments(p)
    p.add_argument(
        "--generalize",
        action="store_true",
        help="widen instance-specific ARNs in fixes to the resource type's wildcard "
        "(off by default; each widened ARN is named in the explanation)",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="also check each identity fix with IAM's SimulateCustomPolicy (needs credentials "
        "allowed to call iam:SimulateCustomPolicy; without them it says why and continues)",
    )
    p.add_argument(
        "--jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help="worker processes (default: one per CPU, at most 4, for two or more files "
        "that add up to 16 MiB, gzip counted as read; one plain file of 64 MiB or more is "
        "cut into ranges N workers read, a smaller one's failures are diagnosed by N "
        "workers; 1 scans in one process); output is the same either way",
    )
    p.add_argument(
        "--iac",
        metavar="DIR",
        help="a Terraform (.tf, .tf.json) or CloudFormation/CDK (templates, cdk.out) tree: "
        "name the file and line that define each fix's role, user or bucket",
    )
    p.add_argument(
        "--policies",
        action="append",
        default=[],
        metavar="PATH",
        help="a policy snapshot (`authz-diag snapshot --out FILE`, or the JSON of `aws iam "
        "get-account-authorization-details`; a directory: its .json files; repeatable): "
        "attribute each denial to the layer, policy and statement, and fix it as an edit",
    )
    p.add_argument("--iam-endpoint-url", help=argparse.SUPPRESS)
    add_lookup_arguments(p)
    # `scan a.log --no-decode b.log`: paths after an option arrive as leftovers (cli.main).
    p.set_defaults(run=run, trailing="paths")


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if not 1 <= jobs <= 64:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of processes from 1 to 64")
    return jobs


def _inputs(paths: list[str]) -> list[str]:
    if paths:
        return paths
    if sys.stdin is not None and not sys.stdin.isatty():
        return ["-"]
    raise UsageError(
        "nothing to scan: name files or directories, or pipe a log in, "
        "e.g. `terraform apply 2>&1 | authz-diag scan -`"
    )


def _print_collected(diagnoses: list[Diagnosis], fmt: str, snapshot: Any = None) -> None:
    """The formats that need every diagnosis first: policy, policy-text, markdown."""
    if fmt == "markdown":
        from diagnostics.render import markdown

        sys.stdout.write(markdown.render(diagnoses))
        return
    if fmt in ("terraform", "cloudformation"):
        from diagnostics.render import cloudformation, terraform

        iac = terraform if fmt == "terraform" else cloudformation
        sys.stdout.write(iac.render(diagnoses))
        return
    import orjson

    from diagnostics.policy.merge import merge_fixes, render_policies
    from diagnostics.policy.output import explanations, policy_entries, unfixable
    from diagnostics.text.safe import json_bytes, line

    edited: list[Any] = []
    rest = diagnoses
    if snapshot is not None and fmt == "policy":
        from diagnostics.snapshot.documents import edit_entries

        # An edit replaces its add-a-statement form: print the whole edited document.
        edited, rest = edit_entries(diagnoses, snapshot)
    docs = merge_fixes(rest)
    from diagnostics.iac.annotate import defined_notes

    if fmt == "policy-text":
        text = "\n".join(
            _with_comments(render_policies([doc]), defined_notes(doc.applies_to, diagnoses))
            for doc in docs
        )
        # What `--format policy` lists with a null document is named here too, as comments.
        for entry in unfixable(diagnoses):
            text += ("\n" if text else "") + "".join(f"# {line(n)}\n" for n in entry["notes"])
        sys.stdout.write(text)
        for doc in docs:
            for warning in doc.warnings:
                print(f"authz-diag: warning: {line(warning)}", file=sys.stderr)
        return
    # stdout is one JSON document; what a person reads goes to stderr.
    entries = policy_entries(docs, rest)
    for entry in entries:
        if entry["document"] is not None:  # `scan --iac`: where the target is defined
            entry["notes"] += defined_notes(entry["applies_to"], diagnoses)
    body = orjson.dumps([*edited, *entries], option=orjson.OPT_INDENT_2)
    sys.stdout.buffer.write(json_bytes(body) + b"\n")
    sys.stdout.flush()
    for text in explanations(diagnoses):
        print(f"authz-diag: {line(text)}", file=sys.stderr)


def _with_comments(block: str, notes: list[str]) -> str:
    """``block`` with a ``# note`` line per note after its header line."""
    from diagnostics.text.safe import line

    head, _, rest = block.partition("\n")
    return head + "\n" + "".join(f"# {line(n)}\n" for n in notes) + rest


def _print_sarif(diagnoses: list[Diagnosis], ruleset: RuleSet | None) -> None:
    """SARIF 2.1.0 on stdout; artifact URIs relative to the current directory."""
    from diagnostics.render import sarif

    sys.stdout.buffer.write(sarif.render(diagnoses, rules=sarif.rule_infos(ruleset)))
    sys.stdout.flush()


def _transform(args: argparse.Namespace) -> Callable[[Diagnosis], Diagnosis] | None:
    """--policies, --generalize and --verify, applied to each diagnosis in that order."""
    steps: list[Callable[[Diagnosis], Diagnosis]] = []
    if args.snapshot is not None:
        from diagnostics.snapshot.judge import SnapshotJudge

        steps.append(SnapshotJudge(args.snapshot))
    if args.iac:
        from diagnostics.iac.annotate import annotate
        from diagnostics.iac.search import index_tree
        from diagnostics.text.safe import line

        index = index_tree(args.iac)
        for warning in index.warnings:
            print(f"authz-diag: warning: {line(warning)}", file=sys.stderr)
        steps.append(lambda d: annotate(d, index))
    if args.generalize:
        from diagnostics.diagnose.generalize import generalize

        steps.append(generalize)
    if args.verify:
        from diagnostics.diagnose.verify import check_fixes
        from diagnostics.support.awsenv import avoid_instance_metadata_off_ec2

        avoid_instance_metadata_off_ec2()
        import boto3

        session = boto3.Session(profile_name=args.profile, region_name=args.region or "us-east-1")
        url = args.iam_endpoint_url
        steps.append(lambda d: check_fixes(d, simulator=session, endpoint_url=url))
    elif args.generalize:
        from diagnostics.diagnose.verify import check_fixes

        steps.append(check_fixes)  # prove the widened statements again
    if not steps:
        return None

    def apply(diagnosis: Diagnosis) -> Diagnosis:
        for step in steps:
            diagnosis = step(diagnosis)
        return diagnosis

    return apply


def run(args: argparse.Namespace) -> int:
    from diagnostics.run.scan import run_scan

    lookup = cloudtrail_lookup(args)  # None without --cloudtrail-lookup
    inputs = _inputs(args.paths) if lookup is None else []
    from diagnostics.rules import load_with_bundled

    ruleset = load_with_bundled(args.rules)
    args.snapshot = None
    if args.policies:
        from diagnostics.snapshot.read import load_snapshot

        args.snapshot = load_snapshot(args.policies)
    decoder = build_decoder(args)
    transform = _transform(args)
    try:
        result, kept = run_scan(
            inputs,
            ruleset=ruleset,
            decoder=decoder,
            fmt=args.format,
            out=sys.stdout.buffer,
            err=sys.stderr,
            transform=transform,
            jobs=args.jobs if lookup is None else 1,
            found=lookup.failures if lookup is not None else None,
        )
    finally:
        if decoder is not None:
            decoder.close()
    if args.format == "sarif":
        _print_sarif(kept, ruleset)
    elif args.format in COLLECTED:
        _print_collected(kept, args.format, args.snapshot)
    stats = result.stats
    if args.format not in ("json", "markdown") or sys.stderr.isatty():
        dup = f", {stats.duplicates} repeats folded" if stats.duplicates else ""
        # A CI step fails on the exit status: say that finding failures is what it means.
        status = (
            "; exit status 1: failures found (0 when none, 2 on a usage or input error)"
            if result.exit_status == 1
            else ""
        )
        print(
            f"authz-diag: {result.diagnoses} authorization failure(s) in "
            f"{stats.files} input(s){dup}{status}",
            file=sys.stderr,
        )
    return result.exit_status
