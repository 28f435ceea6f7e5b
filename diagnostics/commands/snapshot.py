"""``authz-diag snapshot --out FILE``: collect the policies in force with read-only credentials."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from diagnostics.errors import InputError, UsageError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "snapshot",
        help="save the account's policies (IAM, SCPs/RCPs, resource policies) for --policies",
        description="Collect, with read-only credentials, GetAccountAuthorizationDetails "
        "(users, groups, roles, managed policies, boundaries), the organization's SCPs and "
        "RCPs and the account's root-to-account chain where allowed, and the resource "
        "policies of the resources named (--resource) or found in logs (--for). The file is "
        "written 0600: policy documents are privileged. What could not be read is reported "
        "as a statement to add to the collecting role, and collection goes on. Exit status: "
        "0 complete, 1 written with parts missing, 2 usage or input error.",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the snapshot")
    p.add_argument(
        "--resource",
        action="append",
        default=[],
        metavar="ARN",
        help="also read this resource's policy (S3 bucket or object, KMS key, SQS queue, "
        "SNS topic, Lambda function, ECR repository, Secrets Manager secret); repeatable",
    )
    p.add_argument(
        "--for",
        dest="logs",
        action="append",
        default=[],
        metavar="PATH",
        help="read the policies of the resources named in the failures of this log; repeatable",
    )
    p.add_argument("--profile", help="AWS profile of the read-only credentials")
    p.add_argument("--region", help="AWS region for the API calls (default: the profile's)")
    p.add_argument("--account", help="the account to collect (default: the credentials' own)")
    p.add_argument("--endpoint-url", help=argparse.SUPPRESS)
    p.set_defaults(run=run)


def _resources_in(paths: list[str]) -> list[str]:
    from diagnostics.extract import extract_text

    out: list[str] = []
    for path in paths:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}; check the path") from None
        if raw[:2] == b"\x1f\x8b":
            import gzip

            raw = gzip.decompress(raw)
        text = raw.decode("utf-8", errors="surrogateescape")
        out += [f.resource for f in extract_text(text, path) if f.resource]
    return out


def write_private(path: Path, body: bytes) -> None:
    """Write ``body`` to ``path`` readable by its owner only (0600, also when it existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, body)
    finally:
        os.close(fd)


def run(args: argparse.Namespace) -> int:
    from diagnostics.decode.settings import DecodeSettings
    from diagnostics.lookup import errors as e
    from diagnostics.lookup.clients import AwsClients
    from diagnostics.snapshot.collect import collect
    from diagnostics.support.awsenv import avoid_instance_metadata_off_ec2
    from diagnostics.support.ratelimit import TokenBucket

    avoid_instance_metadata_off_ec2()
    settings = DecodeSettings(
        region=args.region, profile=args.profile, endpoint_url=args.endpoint_url
    )
    bucket = TokenBucket(settings.max_per_second)
    made: dict[str, AwsClients] = {}

    def clients(service: str) -> Any:
        if service not in made:
            made[service] = AwsClients(
                settings, bucket, service=service, endpoint=args.endpoint_url
            )
        return made[service].base_client()

    account = args.account
    if account is None:
        try:
            account = made.setdefault(
                "sts", AwsClients(settings, bucket, service="sts", endpoint=args.endpoint_url)
            ).caller_account(None)
        except Exception as exc:
            error = e.classify(exc)
            raise UsageError(
                f"cannot tell which account the credentials are in ({error.kind} {error.code}); "
                "give --account or credentials (--profile)"
            ) from None
    if not account:
        raise UsageError("cannot tell which account to collect; give --account 123456789012")
    done = collect(clients, account, [*args.resource, *_resources_in(args.logs)])
    import orjson

    out = Path(args.out)
    write_private(out, orjson.dumps(done.snapshot, option=orjson.OPT_INDENT_2) + b"\n")
    print(
        f"authz-diag: snapshot of account {account} written to {out} (mode 0600)", file=sys.stderr
    )
    for problem in done.errors:
        print(f"authz-diag: warning: {problem}", file=sys.stderr)
    statement = done.statement()
    if statement is None:
        return 0
    print(
        "authz-diag: some parts could not be read; add this statement to the collecting "
        "role and run again:\n" + orjson.dumps(statement, option=orjson.OPT_INDENT_2).decode(),
        file=sys.stderr,
    )
    return 1
