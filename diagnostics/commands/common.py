"""Arguments and set-up shared by ``scan``, ``decode`` and ``explain``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diagnostics.troubleshooter.combined import ResolvingDecoder


class _Regions(argparse.Action):
    """``--region``: the last one is ``region`` (STS), all of them ``regions`` (lookup)."""

    def __call__(
        self, parser: argparse.ArgumentParser, ns: argparse.Namespace, value: object, *_: object
    ) -> None:
        ns.region = value
        ns.regions = [*(getattr(ns, "regions", None) or []), value]


def add_rules_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rules",
        action="append",
        type=Path,
        metavar="DIR",
        help="a rules directory to use beside the bundled rules (repeatable); "
        "a rule with a bundled rule's id overrides it",
    )


def add_decode_arguments(p: argparse.ArgumentParser, *, optional: bool = True) -> None:
    if optional:
        p.add_argument(
            "--no-decode",
            action="store_true",
            help="do not call STS DecodeAuthorizationMessage nor resolve Access Troubleshooter "
            "authorization IDs (iam-toolbox); diagnose from the text alone",
        )
    p.add_argument("--profile", help="AWS profile whose credentials decode messages")
    p.add_argument(
        "--region",
        action=_Regions,
        help="AWS region for STS (default: the profile's, else us-east-1); "
        "repeat it for scan --cloudtrail-lookup, one pass per region",
    )
    p.add_argument(
        "--decode-role-arn",
        metavar="TEMPLATE",
        help="role to assume per account for decoding, e.g. "
        "arn:aws:iam::{account}:role/AuthzDiagnosticsDecoder",
    )
    p.add_argument("--decode-concurrency", type=int, default=4, help=argparse.SUPPRESS)
    p.add_argument("--decode-rate", type=float, default=5.0, help=argparse.SUPPRESS)
    p.add_argument("--sts-endpoint-url", help=argparse.SUPPRESS)
    p.add_argument("--toolbox-endpoint-url", help=argparse.SUPPRESS)


def build_decoder(args: argparse.Namespace) -> ResolvingDecoder | None:
    """A decoder and ID resolver unless ``--no-decode``; boto3 is imported only when needed."""
    if getattr(args, "no_decode", False):
        return None
    from diagnostics.decode import Decoder, DecodeSettings
    from diagnostics.support.awsenv import avoid_instance_metadata_off_ec2

    avoid_instance_metadata_off_ec2()
    settings = DecodeSettings(
        region=args.region,
        profile=args.profile,
        role_arn_template=args.decode_role_arn,
        max_per_second=args.decode_rate,
        concurrency=args.decode_concurrency,
        endpoint_url=args.sts_endpoint_url,
        toolbox_endpoint_url=getattr(args, "toolbox_endpoint_url", None),
    )
    from diagnostics.troubleshooter import Resolver
    from diagnostics.troubleshooter.combined import ResolvingDecoder

    return ResolvingDecoder(Decoder(settings), Resolver(settings))
