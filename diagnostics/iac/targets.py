"""What an IaC tree names a fix's target by: a role, user or group name, or a bucket name."""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.iam.arns import parse_arn, principal_for_policy


@dataclass(frozen=True, slots=True)
class Target:
    """A role, user, group or bucket as an IaC resource names it."""

    kind: str  # role, user, group, bucket
    name: str
    #: The IAM path (``/apps/``) when the ARN gives one; ``/`` for none.
    path: str = "/"


def target_of(arn: str) -> Target | None:
    """The IAM entity or S3 bucket ``arn`` names, or None for anything else.

    A session maps to its role; an object ARN maps to its bucket, whose policy
    is the one to change.
    """
    parsed = parse_arn(principal_for_policy(arn))
    if parsed is None:
        return None
    if parsed.service == "iam":
        kind, _, rest = parsed.resource.partition("/")
        if kind in ("role", "user", "group") and rest:
            folder, _, name = rest.rpartition("/")
            return Target(kind, name, f"/{folder}/" if folder else "/")
        return None
    if parsed.service == "s3" and not parsed.account and parsed.resource:
        return Target("bucket", parsed.resource.split("/", 1)[0])
    return None
