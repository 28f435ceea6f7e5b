"""Seeded application-log corpora: realistic noise with failures placed among it.

The failure formats follow the public shapes in the README and examples/:
AWS CLI errors, boto tracebacks, EC2 messages carrying the plain sentence and
the encoded blob, blob-only EC2 messages, blobs hard-wrapped by a terminal,
Terraform's box-drawn diagnostics and JSON log lines.  Near-misses (an
"access denied" from nginx, Spring, Kubernetes RBAC, a CI tool saying a user
"is not authorized to perform this action") must not be reported.

Everything comes from one ``random.Random(seed)``, so a seed and a size name
one exact file.  The manifest records what a correct scan must find.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from noise import NEAR_MISSES, NOISE

MIB = 1024 * 1024
#: The two markers of the P1 grep baseline.
GREP_MARKERS = (b"Encoded authorization failure message", b"is not authorized to perform")

ACCOUNTS = ("111122223333", "444455556666", "777788889999")
ROLES = ("ci-deployer", "orders-api", "KarpenterControllerRole", "etl-runner", "data-reader")
USERS = ("alice", "bob", "deploy-bot")
SERVICES = ("orders", "payments", "ingest", "billing", "search", "auth-gateway")


def fake_encoded_blob(rng: random.Random) -> str:
    """A base64url blob of a seen length (500 to 3,000 characters); some start with - or _."""
    length = rng.randint(500, 3000)
    text = base64.urlsafe_b64encode(rng.randbytes(length * 3 // 4 + 3)).decode().rstrip("=")
    text = text[:length]
    lead = rng.random()
    if lead < 0.05:
        text = "-" + text[1:]
    elif lead < 0.10:
        text = "_" + text[1:]
    return text


def _principal(rng: random.Random, n: int) -> tuple[str, str]:
    account = rng.choice(ACCOUNTS)
    if rng.random() < 0.7:
        arn = f"arn:aws:sts::{account}:assumed-role/{rng.choice(ROLES)}/session-{n}"
    else:
        arn = f"arn:aws:iam::{account}:user/{rng.choice(USERS)}"
    return account, arn


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


# -- failure blocks ------------------------------------------------------------
# Each returns the lines of one failure (without line endings).  ``n`` is the
# failure's ordinal, woven into a resource so no two plain failures are equal
# (scan folds repeats of the same printed failure into one).


def _cli_plain(rng: random.Random, n: int) -> list[str]:
    _, arn = _principal(rng, n)
    bucket = f"acme-data-{n}"
    return [
        "$ aws s3 cp s3://" + bucket + "/raw/events.parquet .",
        "An error occurred (AccessDenied) when calling the GetObject operation: "
        f'User: {arn} is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::'
        f'{bucket}/raw/events.parquet" because no identity-based policy allows the '
        "s3:GetObject action",
    ]


def _cli_scp_deny(rng: random.Random, n: int) -> list[str]:
    account, arn = _principal(rng, n)
    return [
        "aws: [ERROR]: An error occurred (UnauthorizedOperation) when calling the "
        "TerminateInstances operation: You are not authorized to perform this operation. "
        f"User: {arn} is not authorized to perform: ec2:TerminateInstances on resource: "
        f"arn:aws:ec2:eu-west-1:{account}:instance/i-{n:017x} with an explicit deny in a "
        "service control policy: arn:aws:organizations::999988887777:policy/o-a1b2c3d4e5/"
        "service_control_policy/p-examplescp1"
    ]


def _boto_traceback(rng: random.Random, n: int) -> list[str]:
    account, arn = _principal(rng, n)
    return [
        "Traceback (most recent call last):",
        '  File "/app/orders/store.py", line 88, in load_order',
        "    item = table.get_item(Key={'id': order_id})",
        '  File "/usr/lib/python3/site-packages/botocore/client.py", line 1021, in _make_api_call',
        "    raise error_class(parsed_response, operation_name)",
        "botocore.exceptions.ClientError: An error occurred (AccessDeniedException) when "
        f"calling the GetItem operation: User: {arn} is not authorized to perform: "
        f"dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:{account}:table/Orders{n} "
        "because no permissions boundary allows the dynamodb:GetItem action",
    ]


def _json_plain(rng: random.Random, n: int) -> list[str]:
    account, arn = _principal(rng, n)
    return [
        '{"level":"error","ts":1732698901.2,"msg":"failed to publish order event",'
        f'"err":"AuthorizationError: User: {arn} is not authorized to perform: SNS:Publish '
        f"on resource: arn:aws:sns:us-east-1:{account}:order-events-{n} because no "
        'resource-based policy allows the SNS:Publish action"}'
    ]


def _ec2_message(rng: random.Random, n: int, *, plain: bool) -> str:
    account, arn = _principal(rng, n)
    sentence = (
        f"User: {arn} is not authorized to perform: ec2:RunInstances on resource: "
        f"arn:aws:ec2:us-east-1:{account}:instance/* because no identity-based policy allows "
        "the ec2:RunInstances action. "
        if plain
        else ""
    )
    return (
        "You are not authorized to perform this operation. "
        + sentence
        + "Encoded authorization failure message: "
        + fake_encoded_blob(rng)
    )


def _ec2_both(rng: random.Random, n: int) -> list[str]:
    return [
        "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: "
        + _ec2_message(rng, n, plain=True)
    ]


def _ec2_blob_only(rng: random.Random, n: int) -> list[str]:
    return [
        "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: "
        + _ec2_message(rng, n, plain=False)
    ]


def _wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)]


def _terminal_wrapped(rng: random.Random, n: int) -> list[str]:
    # A terminal or CI log viewer hard-wraps at a fixed column, mid-word.
    width = rng.choice((80, 100, 120, 132, 160))
    return _wrap(_ec2_blob_only(rng, n)[0], width)


def _terraform_box(rng: random.Random, n: int) -> list[str]:
    width = rng.choice((100, 110, 120))
    message = (
        "Error: creating EC2 Instance: operation error EC2: RunInstances, https response error "
        f"StatusCode: 403, RequestID: {_uuid(rng)}, api error UnauthorizedOperation: "
        + _ec2_message(rng, n, plain=rng.random() < 0.6)
    )
    body = ["│ " + part for part in _wrap(message, width)]
    return [
        "╷",
        *body,
        "│ ",
        f"│   with aws_instance.web_{n},",
        f'│   on main.tf line 12, in resource "aws_instance" "web_{n}":',
        f'│   12: resource "aws_instance" "web_{n}" {{',
        "│ ",
        "╵",
    ]


def _json_encoded(rng: random.Random, n: int) -> list[str]:
    return [
        '{"level":"ERROR","time":"2026-11-27T09:14:05.871Z","logger":"controller.provisioner",'
        f'"message":"launching nodeclaim","nodeclaim":"default-{n}","error":"creating instance, '
        "UnauthorizedOperation: " + _ec2_message(rng, n, plain=rng.random() < 0.5) + "\\n\\t"
        f'status code: 403, request id: {_uuid(rng)}"}}'
    ]


FailureMaker = Callable[[random.Random, int], list[str]]

#: name -> (expected kind, weight, maker)
FAILURE_FORMATS: dict[str, tuple[str, int, FailureMaker]] = {
    "cli_plain": ("plain", 3, _cli_plain),
    "cli_scp_deny": ("plain", 1, _cli_scp_deny),
    "boto_traceback": ("plain", 2, _boto_traceback),
    "json_plain": ("plain", 2, _json_plain),
    "ec2_both": ("encoded", 2, _ec2_both),
    "ec2_blob_only": ("encoded", 1, _ec2_blob_only),
    "terminal_wrapped": ("encoded", 2, _terminal_wrapped),
    "terraform_box": ("encoded", 2, _terraform_box),
    "json_encoded": ("encoded", 2, _json_encoded),
}


@dataclass(slots=True)
class _Counter:
    lines: int = 0
    bytes: int = 0
    grep_lines: int = 0
    by_format: dict[str, int] = field(default_factory=dict)
    near_misses: dict[str, int] = field(default_factory=dict)
    failures_at: list[list[Any]] = field(default_factory=list)


def _grep_hit(line: str) -> bool:
    return "Encoded authorization failure message" in line or "is not authorized to perform" in line


def generate_applog(
    path: Path,
    *,
    size: int,
    seed: int,
    failures_per_mib: float = 2.0,
    near_misses_per_mib: float = 4.0,
    crlf_share: float = 0.05,
) -> dict[str, Any]:
    """Write about ``size`` bytes of log to ``path``; return the manifest of what is in it.

    Failures sit at random byte positions (``failures_per_mib`` on average);
    ``crlf_share`` of them, and 1% of noise lines, end in CRLF as Windows CI
    agents write them.
    """
    rng = random.Random(seed)
    n_failures = round(failures_per_mib * size / MIB)
    n_near = round(near_misses_per_mib * size / MIB)
    formats = list(FAILURE_FORMATS.items())
    fail_weights = [w for _, (_, w, _) in formats]
    near = list(NEAR_MISSES.items())
    near_weights = [w for w, _ in NEAR_MISSES.values()]
    noise = list(NOISE.values())
    noise_weights = [w for w, _ in noise]
    # (byte position, is_failure) events, placed uniformly over the file.
    events = sorted(
        [(rng.randrange(size), True) for _ in range(n_failures)]
        + [(rng.randrange(size), False) for _ in range(n_near)]
    )
    c = _Counter()
    buf: list[str] = []
    buffered = 0
    ev = 0
    with path.open("wb") as fh:

        def emit(line: str, ending: str = "\n") -> None:
            nonlocal buffered
            data = line + ending
            buf.append(data)
            c.lines += 1
            # Lines are mostly ASCII; box-drawing characters are 3 bytes in UTF-8.
            size_of = len(data) if data.isascii() else len(data.encode())
            c.bytes += size_of
            buffered += size_of

        while c.bytes < size:
            while ev < len(events) and events[ev][0] <= c.bytes:
                _, is_failure = events[ev]
                ev += 1
                if is_failure:
                    name, (kind, _, maker) = rng.choices(formats, fail_weights)[0]
                    ordinal = len(c.failures_at)
                    crlf = rng.random() < crlf_share
                    first = c.lines + 1
                    for line in maker(rng, ordinal):
                        c.grep_lines += _grep_hit(line)
                        emit(line, "\r\n" if crlf else "\n")
                    c.failures_at.append([first, c.lines, name, kind, crlf])
                    c.by_format[name] = c.by_format.get(name, 0) + 1
                else:
                    name, (_, nmaker) = rng.choices(near, near_weights)[0]
                    line = nmaker(rng, c.lines)
                    c.grep_lines += _grep_hit(line)
                    emit(line)
                    c.near_misses[name] = c.near_misses.get(name, 0) + 1
            for _, maker_ in rng.choices(noise, noise_weights, k=256):
                emit(maker_(rng, c.lines), "\r\n" if rng.random() < 0.01 else "\n")
            if buffered >= MIB:
                fh.write("".join(buf).encode())
                buf.clear()
                buffered = 0
        fh.write("".join(buf).encode())
    kinds: dict[str, int] = {}
    for entry in c.failures_at:
        kinds[entry[3]] = kinds.get(entry[3], 0) + 1
    return {
        "corpus": "applog",
        "path": str(path),
        "seed": seed,
        "size_requested": size,
        "bytes": c.bytes,
        "lines": c.lines,
        "failures_per_mib": failures_per_mib,
        "expected": {"failures": len(c.failures_at), "by_kind": kinds, "by_format": c.by_format},
        "near_misses": c.near_misses,
        "grep_matching_lines": c.grep_lines,
        "failures_at": c.failures_at,
    }
