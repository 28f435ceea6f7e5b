"""Two complete denials on adjacent lines are two failures: no join absorbs the second.

Every pair of the shapes below (same and different actions, blobs, request
ids and principals, with and without a log prefix) is written on two
consecutive lines; ``scan`` must report both, each with its own blob,
principal or action.  A pair that prints one request twice (same text) is a
repeat: one report seen twice, never a loss.
"""

from __future__ import annotations

import io
import itertools
import random
import string
from pathlib import Path

import pytest

from diagnostics.run.scan import scan

ACCOUNT = "111122223333"


def _blob(seed: int) -> str:
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "-_"
    return "".join(rng.choice(alphabet) for _ in range(720))


def _cli_ec2(blob: str) -> str:
    return (
        "botocore.exceptions.ClientError: An error occurred (UnauthorizedOperation) when "
        "calling the RunInstances operation: You are not authorized to perform this operation. "
        f"Encoded authorization failure message: {blob}"
    )


def _ec2_sentence_and_blob(user: str, blob: str) -> str:
    return (
        "An error occurred (UnauthorizedOperation) when calling the StartInstances operation: "
        f"You are not authorized to perform this operation. User: arn:aws:iam::{ACCOUNT}:user/"
        f"{user} is not authorized to perform: ec2:StartInstances on resource: "
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0abc because no identity-based policy "
        f"allows the ec2:StartInstances action. Encoded authorization failure message: {blob}"
    )


def _sentence(user: str, action: str) -> str:
    return (
        f"An error occurred (AccessDenied) when calling the {action.split(':')[1]} operation: "
        f"User: arn:aws:iam::{ACCOUNT}:user/{user} is not authorized to perform: {action} on "
        f"resource: arn:aws:s3:::bucket/key because no identity-based policy allows the "
        f"{action} action"
    )


def _scp(user: str) -> str:
    return (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/app/{user} is not authorized to perform: "
        "bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/m with an "
        "explicit deny in a service control policy: arn:aws:organizations::999988887777:policy/"
        "o-abc/service_control_policy/p-123"
    )


def _go_v2(op: str, request_id: str) -> str:
    return (
        f"operation error S3: {op}, https response error StatusCode: 403, RequestID: "
        f"{request_id}, HostID: aGVsbG8=, api error AccessDenied: Access Denied"
    )


def _old_sentence(user: str) -> str:
    # The 2018 wording: no reason clause, the sentence ends on the resource ARN.
    return (
        f"User: arn:aws:iam::{ACCOUNT}:user/{user} is not authorized to perform: "
        f"iam:CreateRole on resource: arn:aws:iam::{ACCOUNT}:role/app-role"
    )


#: (name, line, what tells it apart from its siblings)
SHAPES: list[tuple[str, str]] = [
    ("cli-ec2-blob-a", _cli_ec2(_blob(1))),
    ("cli-ec2-blob-b", _cli_ec2(_blob(2))),
    ("ec2-sentence-blob-a", _ec2_sentence_and_blob("alice", _blob(3))),
    ("ec2-sentence-blob-b", _ec2_sentence_and_blob("alice", _blob(4))),
    ("sentence-alice-get", _sentence("alice", "s3:GetObject")),
    ("sentence-bob-get", _sentence("bob", "s3:GetObject")),
    ("sentence-alice-put", _sentence("alice", "s3:PutObject")),
    ("scp-alice", _scp("alice")),
    ("scp-bob", _scp("bob")),
    ("go-v2-put-a", _go_v2("PutObject", "AAAA1111")),
    ("go-v2-get-b", _go_v2("GetObject", "BBBB2222")),
    ("old-alice", _old_sentence("alice")),
    ("old-bob", _old_sentence("bob")),
]
PREFIXES = ["", "2026-01-01T10:00:0{n}Z ERROR worker "]


def _identity(d: dict[str, object]) -> tuple[object, ...]:
    return (d["encoded_message"], d["principal_arn"], d["action"], d["kind"])


def _alone(line: str, tmp: Path) -> list[dict[str, object]]:
    path = tmp / "one.log"
    path.write_text(line + "\n")
    _, diagnoses = scan([str(path)], ruleset=None, decoder=None, err=io.StringIO())
    return [d.to_json() for d in diagnoses]


PAIRS = [
    pytest.param(a, b, prefix, id=f"{a[0]}+{b[0]}{'+prefix' if prefix else ''}")
    for (a, b) in itertools.product(SHAPES, repeat=2)
    if a[0] != b[0]
    for prefix in PREFIXES
]


@pytest.mark.parametrize(("first", "second", "prefix"), PAIRS)
def test_two_adjacent_denials_are_both_reported(
    tmp_path: Path, first: tuple[str, str], second: tuple[str, str], prefix: str
) -> None:
    """Each of two different denials on consecutive lines keeps its own report."""
    alone = [_alone(line, tmp_path) for _, line in (first, second)]
    assert all(len(found) == 1 for found in alone), "each shape alone is one failure"
    path = tmp_path / "pair.log"
    lines = [prefix.format(n=n) + line for n, (_, line) in enumerate((first, second))]
    path.write_text("\n".join(lines) + "\n")
    _, diagnoses = scan([str(path)], ruleset=None, decoder=None, err=io.StringIO())
    found = [d.to_json() for d in diagnoses]
    wanted = [_identity(a[0]) for a in alone]
    got = [_identity(d) for d in found]
    if wanted[0] == wanted[1]:
        # The same failure printed twice (retries): one report, seen twice.
        assert got == [wanted[0]] and found[0]["occurrences"] == 2
        return
    assert got == wanted, f"expected both denials, got {len(found)}"
    assert [d["source"]["line"] for d in found] == [1, 2]  # type: ignore[index]


def test_identical_lines_are_one_failure_seen_twice(tmp_path: Path) -> None:
    """The very same denial printed twice is one report with occurrences 2."""
    path = tmp_path / "twice.log"
    path.write_text((_cli_ec2(_blob(9)) + "\n") * 2)
    _, diagnoses = scan([str(path)], ruleset=None, decoder=None, err=io.StringIO())
    found = [d.to_json() for d in diagnoses]
    assert len(found) == 1 and found[0]["occurrences"] == 2


def test_one_refusal_printed_by_message_and_class_line_is_one_report(tmp_path: Path) -> None:
    """An SQS refusal, then the Ruby SDK's class line repeating it (ManageIQ logs): one report."""
    path = tmp_path / "evm.log"
    path.write_text(
        "ERROR -- evm: Event Monitor Thread aborted because [Access to the resource "
        "https://sqs.us-east-1.amazonaws.com/ is denied.]\n"
        "ERROR -- evm: [Aws::SQS::Errors::AccessDenied]: Access to the resource "
        "https://sqs.us-east-1.amazonaws.com/ is denied.  Method:[block (2 levels)]\n"
    )
    _, diagnoses = scan([str(path)], ruleset=None, decoder=None, err=io.StringIO())
    (d,) = diagnoses
    assert d.failure.error_code == "AccessDenied" and d.failure.region == "us-east-1"
