"""Seeded failure-dense logs for P7: every third line a distinct denial.

A reconcile loop retrying, a scanner probing every service, a storm of
denials after a policy change: the log is mostly failures, and no two are
the same (each names its own resource), so neither the scan's repeat folding
nor the pipeline's verdict memo can save work.  One ``random.Random(seed)``
draws everything, so a seed and a size name one exact file.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from gen_applog import ACCOUNTS, MIB, ROLES, USERS, fake_encoded_blob
from noise import NOISE

#: (action, operation, resource template); {a} account, {n} ordinal, {r} region.
#: Actions and ARN shapes from the AWS Service Authorization Reference.
DENIALS: tuple[tuple[str, str, str], ...] = (
    ("s3:GetObject", "GetObject", "arn:aws:s3:::acme-data-{n}/raw/events.parquet"),
    ("s3:PutObject", "PutObject", "arn:aws:s3:::acme-upload-{n}/in/batch.csv"),
    ("s3:ListBucket", "ListObjectsV2", "arn:aws:s3:::acme-logs-{n}"),
    ("dynamodb:GetItem", "GetItem", "arn:aws:dynamodb:{r}:{a}:table/Orders{n}"),
    ("dynamodb:PutItem", "PutItem", "arn:aws:dynamodb:{r}:{a}:table/Carts{n}"),
    ("sqs:SendMessage", "SendMessage", "arn:aws:sqs:{r}:{a}:jobs-{n}"),
    ("sns:Publish", "Publish", "arn:aws:sns:{r}:{a}:order-events-{n}"),
    ("kms:Decrypt", "Decrypt", "arn:aws:kms:{r}:{a}:key/{n:08x}-1111-2222-3333-444455556666"),
    (
        "secretsmanager:GetSecretValue",
        "GetSecretValue",
        "arn:aws:secretsmanager:{r}:{a}:secret:db-{n}-AbCdEf",
    ),
    ("ssm:GetParameter", "GetParameter", "arn:aws:ssm:{r}:{a}:parameter/app/{n}/token"),
    ("lambda:InvokeFunction", "Invoke", "arn:aws:lambda:{r}:{a}:function:worker-{n}"),
    (
        "logs:PutLogEvents",
        "PutLogEvents",
        "arn:aws:logs:{r}:{a}:log-group:/app/{n}:log-stream:main",
    ),
    ("ecr:BatchGetImage", "BatchGetImage", "arn:aws:ecr:{r}:{a}:repository/svc-{n}"),
    ("iam:PassRole", "PassRole", "arn:aws:iam::{a}:role/task-role-{n}"),
    ("sts:AssumeRole", "AssumeRole", "arn:aws:iam::{a}:role/deploy-{n}"),
    ("ec2:TerminateInstances", "TerminateInstances", "arn:aws:ec2:{r}:{a}:instance/i-{n:017x}"),
)
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
REASONS = (
    "because no identity-based policy allows the {action} action",
    "because no resource-based policy allows the {action} action",
    "because no permissions boundary allows the {action} action",
    "with an explicit deny in a service control policy: "
    "arn:aws:organizations::999988887777:policy/o-a1b2c3d4e5/service_control_policy/p-{n:08x}",
    "with an explicit deny in an identity-based policy: arn:aws:iam::{a}:policy/deny-{n}",
)


def _principal(rng: random.Random, account: str, n: int) -> str:
    if rng.random() < 0.7:
        return f"arn:aws:sts::{account}:assumed-role/{rng.choice(ROLES)}/session-{n}"
    return f"arn:aws:iam::{account}:user/{rng.choice(USERS)}"


def _denial(rng: random.Random, n: int) -> tuple[str, str]:
    """One failure line and its expected kind ("plain" or "encoded")."""
    account = rng.choice(ACCOUNTS)
    region = rng.choice(REGIONS)
    action, operation, template = rng.choice(DENIALS)
    resource = template.format(a=account, n=n, r=region)
    arn = _principal(rng, account, n)
    reason = rng.choice(REASONS).format(action=action, a=account, n=n)
    sentence = (
        f"User: {arn} is not authorized to perform: {action} on resource: {resource} {reason}"
    )
    shape = rng.random()
    if shape < 0.45:
        return (
            f"An error occurred (AccessDenied) when calling the {operation} operation: {sentence}",
            "plain",
        )
    if shape < 0.85:
        return (
            '{"level":"error","ts":1732698901.2,"msg":"request failed","attempt":'
            f'{n % 7},"err":"AccessDeniedException: {sentence}"}}',
            "plain",
        )
    # EC2-style: an encoded blob (shorter than P1's, so blobs do not dominate the bytes).
    blob = fake_encoded_blob(rng)[: rng.randint(300, 600)]
    return (
        "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: "
        "You are not authorized to perform this operation. Encoded authorization failure "
        f"message: {blob}",
        "encoded",
    )


def generate_dense(path: Path, *, size: int, seed: int) -> dict[str, Any]:
    """Write about ``size`` bytes: two noise lines, then a distinct denial, repeated."""
    rng = random.Random(seed)
    noise = list(NOISE.values())
    weights = [w for w, _ in noise]
    failures_at: list[list[Any]] = []
    kinds: dict[str, int] = {}
    lines = 0
    written = 0
    buf: list[str] = []
    with path.open("wb") as fh:
        while written < size:
            for _, make in rng.choices(noise, weights, k=2):
                buf.append(make(rng, lines) + "\n")
                lines += 1
            text, kind = _denial(rng, len(failures_at))
            buf.append(text + "\n")
            lines += 1
            failures_at.append([lines, lines, f"dense_{kind}", kind, False])
            kinds[kind] = kinds.get(kind, 0) + 1
            if len(buf) >= 3000:
                data = "".join(buf).encode()
                fh.write(data)
                written += len(data)
                buf.clear()
        data = "".join(buf).encode()
        fh.write(data)
        written += len(data)
    by_format = {f"dense_{k}": v for k, v in kinds.items()}
    return {
        "corpus": "dense",
        "path": str(path),
        "seed": seed,
        "size_requested": size,
        "bytes": written,
        "lines": lines,
        "expected": {"failures": len(failures_at), "by_kind": kinds, "by_format": by_format},
        "near_misses": {},
        "failures_at": failures_at,
    }


def ensure_dense(out: Path, size: int, seed: int) -> dict[str, Any]:
    """Reuse ``out`` when its manifest says it was made with these arguments."""
    from generate import at_rest, load_manifest, manifest_path, write_manifest

    if out.exists() and manifest_path(out).exists():
        m = load_manifest(out)
        if (m.get("size_requested"), m.get("seed")) == (size, seed) and out.stat().st_size == m[
            "bytes"
        ]:
            return m
    out.parent.mkdir(parents=True, exist_ok=True)
    manifest = generate_dense(out, size=size, seed=seed)
    write_manifest(out, manifest)
    at_rest(out)
    return manifest


if __name__ == "__main__":
    import argparse

    from harness import DEFAULT_OUT

    # argparse, so that --help prints usage instead of naming the output file.
    parser = argparse.ArgumentParser(description="Write the 20 MiB, seed 1 corpus P7 measures.")
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT / "dense-20M-s1.log")
    target = parser.parse_args().out
    m = ensure_dense(target, 20 * MIB, 1)
    print(target, m["bytes"], m["lines"], m["expected"])
