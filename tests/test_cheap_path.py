"""The cheap path (diagnostics/extract/assembly/cheap.py) agrees with the tolerant reader.

For every fixture, every real-corpus text, generated corpus logs and
generated line variants, the reader with the cheap path finds exactly the
failures (every field, the excerpt included) the tolerant reader alone finds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest.mock import patch

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnostics.extract.assembly import cheap, cheap_blob, record
from diagnostics.extract.assembly.joins import KEY_PHRASES
from diagnostics.extract.inputs.scanner import Extractor
from diagnostics.model import Failure

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT / "bench"))


@contextmanager
def _counting() -> Iterator[list[int]]:
    """Count the lines the cheap path accepts while the block runs."""
    accepted = [0]

    def counting(real: Callable[..., list[Failure] | None]) -> Callable[..., list[Failure] | None]:
        def counted(*args: object, **kwargs: object) -> list[Failure] | None:
            out = real(*args, **kwargs)
            accepted[0] += out is not None
            return out

        return counted

    with (
        patch.object(record, "cheap_line", counting(cheap.cheap_line)),
        patch.object(record, "cheap_blob_line", counting(cheap_blob.cheap_blob_line)),
    ):
        yield accepted


@contextmanager
def _tolerant_only() -> Iterator[None]:
    with (
        patch.object(record, "cheap_line", lambda *a, **k: None),
        patch.object(record, "cheap_blob_line", lambda *a, **k: None),
    ):
        yield


def _read(data: bytes, chunk: int) -> bytes:
    ex = Extractor("input.log")
    out: list[Failure] = []
    for i in range(0, len(data), chunk):
        out.extend(ex.feed(data[i : i + chunk]))
    out.extend(ex.finish())
    return orjson.dumps(out)  # every field of every failure, the excerpt too


def _agree(data: bytes, chunk: int = 1 << 20) -> int:
    """Assert both readers agree on ``data``; the number of lines the cheap path took."""
    with _tolerant_only():
        want = _read(data, chunk)
    with _counting() as accepted:
        got = _read(data, chunk)
    assert got == want
    return accepted[0]


def _fixture_files() -> list[Path]:
    return sorted(
        p
        for p in FIXTURES.rglob("*")
        if p.is_file()
        and not p.name.endswith((".expected.json", ".expect.json", ".gz"))
        and p.stat().st_size < 4 << 20
    )


def test_every_fixture_and_real_text_reads_the_same() -> None:
    """Every fixture and real pasted text gives the same failures with the cheap path on."""
    files = _fixture_files()
    assert len(files) > 400
    taken = sum(_agree(p.read_bytes()) for p in files)
    assert taken > 0  # the cheap path is exercised at all


@pytest.mark.parametrize("chunk", [1 << 20, 4096, 97])
def test_generated_dense_log_reads_the_same(tmp_path: Path, chunk: int) -> None:
    """A generated failure-dense log gives the same failures, however it is chunked."""
    from gen_dense import ensure_dense  # type: ignore[import-not-found]

    log = tmp_path / "dense.log"
    ensure_dense(log, 200_000, 3)
    taken = _agree(log.read_bytes(), chunk)
    assert taken > 200  # most denials there take the cheap path


def test_generated_application_log_reads_the_same(tmp_path: Path) -> None:
    """A generated application log (every failure format, near-misses) gives the same failures."""
    from generate import ensure_applog  # type: ignore[import-not-found]

    log = tmp_path / "app.log"
    ensure_applog(log, 1 << 20, 5, 200.0)
    assert _agree(log.read_bytes()) > 0


_PRINCIPALS = st.sampled_from(
    [
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:sts::444455556666:assumed-role/ci-deployer/session-1",
        "arn:aws:iam::111122223333:root",
        "arn:aws:iam::123456789012:user/x.",
        "arn:aws:sts::111122223333:assumed-role/a/...",
        "arn:aws-cn:iam::111122223333:user/bob",
    ]
)
_RESOURCES = st.sampled_from(
    [
        "",
        " on resource: arn:aws:s3:::bucket/key.txt",
        ' on resource: "arn:aws:s3:::bucket"',
        " on resource: arn:aws:dynamodb:us-east-1:111122223333:table/Orders",
        " on resource: arn:aws:iam::111122223333:role/x/",
        " on resource: arn:aws:ec2:us-east-1:<account>:instance/*",
        " on resource: arn:aws:sqs:eu-west-1:111122223333:q.",
    ]
)
_REASONS = st.sampled_from(
    [
        " because no identity-based policy allows the {a} action",
        " because no permissions boundary allows the {a} action",
        " because no resource-based policy allows the s3:Other action",
        " with an explicit deny in a service control policy",
        " with an explicit deny in a service control policy: arn:aws:organizations::"
        "999988887777:policy/o-a1b2c3d4e5/service_control_policy/p-1",
        " with an explicit deny in an identity-based policy: arn:aws:iam::1:policy/d",
        " with an explicit deny",
        "",
        " because no session policy allows the {a} action.",
    ]
)
_HEADS = st.sampled_from(
    [
        "",
        "An error occurred (AccessDenied) when calling the GetObject operation: ",
        "An error occurred (AccessDenied) when calling the HeadObject operation: ",
        "botocore.exceptions.ClientError: An error occurred (AccessDeniedException) "
        "when calling the GetItem operation: ",
        "AccessDeniedException: ",
        "2026-01-02T03:04:05Z ",
        "│ ",
        "    ",
        "ERROR ",
        '{"level":"error","ts":1.5,"msg":"x","err":"AccessDeniedException: ',
        '{"level":"error","code":"E1","err":"AuthorizationError: ',
        "// ",
    ]
)
_NEXT = st.one_of(
    st.sampled_from(
        [
            None,
            "",
            "   ",
            "status code: 403, request id: abc",
            "Status Code: 403",
            "Go to https://console.aws.amazon.com/iam/#/authorization-details/abc",
            "or call the GetRequestAuthorizationDetails API with authorization ID abc",
            "\tat com.example.Main.run(Main.java:1)",
            "Encoded authorization failure message: abcdefghijklmnopqrstuvwxyz0123456789",
            "INFO next request",
            "resource: arn:aws:s3:::b",
            "on resource: arn:aws:s3:::b",
            "is not authorized to perform: s3:GetObject",
        ]
    ),
    st.sampled_from(KEY_PHRASES).flatmap(lambda p: st.integers(1, len(p) - 1).map(lambda k: p[k:])),
    st.text(alphabet="abc XYZ:/-_.\t│{}\"'", max_size=40),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    head=_HEADS,
    principal=_PRINCIPALS,
    action=st.sampled_from(["s3:GetObject", "SNS:Publish", "ec2:RunInstances", "kms:decrypt"]),
    resource=_RESOURCES,
    reason=_REASONS,
    nxt=_NEXT,
    same_width=st.booleans(),
    before=st.sampled_from(["", "Traceback (most recent call last):", "User: arn:aws:iam::1:"]),
)
def test_generated_line_variants_read_the_same(
    *,
    head: str,
    principal: str,
    action: str,
    resource: str,
    reason: str,
    nxt: str | None,
    same_width: bool,
    before: str,
) -> None:
    """A denial line in any of its variants, between any neighbours, reads the same."""
    line = f"{head}User: {principal} is not authorized to perform: {action}{resource}"
    line += reason.format(a=action)
    if head.startswith("{"):
        line += '"}'
    lines = [before, line] if before else [line]
    if same_width:
        lines.append("x" * len(line))
    elif nxt is not None:
        lines.append(nxt)
    _agree(("\n".join(lines) + "\n").encode())


def test_the_cheap_path_takes_clean_lines_and_declines_the_rest() -> None:
    """A clean CLI line takes the cheap path; the same line with a status-code row does not."""
    line = (
        b"An error occurred (AccessDenied) when calling the GetObject operation: User: "
        b"arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:GetObject "
        b"on resource: arn:aws:s3:::b/k because no identity-based policy allows the "
        b"s3:GetObject action\n"
    )
    assert _agree(line + b"INFO next\n") == 1
    assert _agree(line + b"status code: 403, request id: 1\n") == 0
    assert _agree(line[:-1] + b"\\\n" + b"more\n") == 0


_BLOB = "ImvLSzAuDYFB4_J_dTtnBEjaSVOlcbScUJYi34bA_ma1UFHmgaoGSOS9oQS84C4oRRprMy2Hh9uT0OZTPs-mz1pKr"
_EC2_HEADS = st.sampled_from(
    [
        "",
        "botocore.exceptions.ClientError: ",
        "2026-01-02T03:04:05Z ",
        "│ ",
        "    ",
        "ERROR ",
        "aws: [ERROR]: ",
        "Error: ",
        "// ",
        "raise ClientError(",
    ]
)
_EC2_NEXT = st.one_of(
    _NEXT,
    st.sampled_from(
        [
            _BLOB[:40],
            "Zm9vYmFyYmF6" * 4,
            "ab" * 30,
            '{"level":"info","msg":"next"}',
            "2026-01-02T03:04:05Z INFO next",
            "\tstatus code: 403, request id: abc",
        ]
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    head=_EC2_HEADS,
    code=st.sampled_from(["UnauthorizedOperation", "AccessDenied", "Client.UnauthorizedOperation"]),
    operation=st.sampled_from(
        ["RunInstances", "CreateVolume", "HeadObject", "DescribeInstances", "AssumeRole"]
    ),
    length=st.sampled_from([20, 63, 64, 500, 10_239, 10_240]),
    tail=st.sampled_from(["", " ", "...", '"', ".", " (truncated)"]),
    nxt=_EC2_NEXT,
    same_width=st.booleans(),
    before=st.sampled_from(
        [
            "",
            "Traceback (most recent call last):",
            "User: arn:aws:iam::1:",
            "Creating EC2 Instance..",
        ]
    ),
)
def test_generated_ec2_blob_variants_read_the_same(
    *,
    head: str,
    code: str,
    operation: str,
    length: int,
    tail: str,
    nxt: str | None,
    same_width: bool,
    before: str,
) -> None:
    """EC2's one-line refusal with its blob reads the same in any variant and neighbours."""
    blob = (_BLOB * (length // len(_BLOB) + 1))[:length]
    line = (
        f"{head}An error occurred ({code}) when calling the {operation} operation: "
        f"You are not authorized to perform this operation. "
        f"Encoded authorization failure message: {blob}{tail}"
    )
    lines = [before, line] if before else [line]
    if same_width:
        lines.append(_BLOB[: len(line) % len(_BLOB)] + "x" * max(0, len(line) - len(_BLOB)))
    elif nxt is not None:
        lines.append(nxt)
    _agree(("\n".join(lines) + "\n").encode())


def test_a_whole_ec2_blob_line_takes_the_cheap_path_and_a_wrapped_one_does_not() -> None:
    """The CLI's one-line EC2 refusal with its blob is read by the cheap path, a wrapped one not."""
    line = (
        "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: "
        "You are not authorized to perform this operation. Encoded authorization failure "
        f"message: {_BLOB * 8}"
    )
    assert _agree(f"INFO start\n{line}\nINFO next\n".encode()) == 1
    assert _agree(f"{line[:120]}\n{line[120:]}\nINFO next\n".encode()) == 0
    assert _agree(f"{line}\n{_BLOB}\nINFO next\n".encode()) == 0
