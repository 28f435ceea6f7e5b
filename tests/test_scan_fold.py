"""``scan`` folds a failure printed again later into one report with its count and last place."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from diagnostics.decode import Decoder, DecodeSettings
from diagnostics.diagnose.fold import Folder
from diagnostics.model import Failure, SourceRef
from diagnostics.render import text
from diagnostics.rules import RuleSet
from diagnostics.run.scan import scan
from diagnostics.testing import StsDouble, decoded_message, fake_blob

AUTHZ_DIAG = str(Path(sys.executable).parent / "authz-diag")
DENIED = (
    "An error occurred (AccessDenied) when calling the GetObject operation: "
    "User: arn:aws:sts::111122223333:assumed-role/app/i-0abc is not authorized to perform: "
    's3:GetObject on resource: "arn:aws:s3:::acme-data/q3.csv" '
    "because no identity-based policy allows the s3:GetObject action\n"
)
OTHER = DENIED.replace("s3:GetObject", "s3:PutObject").replace("GetObject", "PutObject")


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return RuleSet.bundled()


def _log(tmp_path: Path, lines: dict[int, str], total: int, name: str = "app.log") -> Path:
    """A log of ``total`` lines with ``lines`` (1-based) at their places and filler elsewhere."""
    body = [
        lines.get(n, f"[2024-05-01 10:00:00] INFO request {n} ok\n") for n in range(1, total + 1)
    ]
    path = tmp_path / name
    path.write_text("".join(body), encoding="utf-8")
    return path


def test_a_failure_seen_37_times_is_one_report_with_its_count_and_span(
    tmp_path: Path, ruleset: RuleSet
) -> None:
    """37 prints from line 12 to 9,881 give one diagnosis: occurrences 37, last line 9,881."""
    places = [12 + n * 268 for n in range(36)] + [9881]
    path = _log(tmp_path, dict.fromkeys(places, DENIED), 9900)
    result, diagnoses = scan([str(path)], ruleset=ruleset, err=io.StringIO())
    [d] = diagnoses
    assert (d.occurrences, d.failure.source.line) == (37, 12)
    assert d.last_source is not None and d.last_source.line == 9881
    out = d.to_json()
    assert out["occurrences"] == 37
    assert out["last_source"]["line"] == 9881
    assert "seen 37 times, lines 12-9,881" in text.render(d)
    assert (result.stats.failures, result.stats.duplicates) == (1, 36)


def test_output_keeps_the_order_of_first_occurrences(tmp_path: Path, ruleset: RuleSet) -> None:
    """A, B, A again: A is reported first (twice seen), then B once; a single print says nothing."""
    path = _log(tmp_path, {2: DENIED, 5: OTHER, 9: DENIED}, 10)
    _, diagnoses = scan([str(path)], ruleset=ruleset, err=io.StringIO())
    assert [(d.failure.action, d.occurrences) for d in diagnoses] == [
        ("s3:GetObject", 2),
        ("s3:PutObject", 1),
    ]
    assert diagnoses[1].last_source is None
    assert "Repeats" not in text.render(diagnoses[1])


def test_retries_with_different_blobs_stay_separate(tmp_path: Path, ruleset: RuleSet) -> None:
    """Two RunInstances retries each with their own encoded blob are two reports, not a fold."""
    line = (
        "Error: creating EC2 Instance: UnauthorizedOperation: You are not authorized to perform "
        "this operation. Encoded authorization failure message: {}\n"
    )
    path = _log(tmp_path, {1: line.format(fake_blob(1)), 3: line.format(fake_blob(2))}, 4)
    _, diagnoses = scan([str(path)], ruleset=ruleset, err=io.StringIO())
    assert [d.occurrences for d in diagnoses] == [1, 1]
    assert diagnoses[0].failure.encoded_message != diagnoses[1].failure.encoded_message


def test_a_repeated_blob_is_decoded_once_and_reported_once_with_its_count(
    tmp_path: Path, ruleset: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A blob printed three times (Packer) costs one STS call and is one decoded report of 3."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEBASE00001"),
        ("AWS_SECRET_ACCESS_KEY", "not-a-real-secret"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_CONFIG_FILE", str(tmp_path / "no-config")),
        ("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials")),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    blob = fake_blob(7)
    line = (
        "==> amazon-ebs: Error launching source instance: UnauthorizedOperation: You are not "
        f"authorized to perform this operation. Encoded authorization failure message: {blob}\n"
    )
    path = _log(tmp_path, {3: line, 9: line, 15: line}, 16)
    with StsDouble() as sts:
        sts.add_message(blob, decoded_message(action="ec2:RunInstances", resource="*"))
        settings = DecodeSettings(endpoint_url=sts.endpoint_url, max_per_second=1000.0)
        with Decoder(settings) as decoder:
            _, diagnoses = scan([str(path)], ruleset=ruleset, decoder=decoder, err=io.StringIO())
        calls = sts.call_count()
    [d] = diagnoses
    assert calls == 1
    assert d.decoded is not None and d.failure.action == "ec2:RunInstances"
    assert (d.occurrences, d.failure.source.line) == (3, 3)
    assert d.last_source is not None and d.last_source.line == 15


def test_a_repeat_in_another_file_names_both_places(tmp_path: Path, ruleset: RuleSet) -> None:
    """The same denial in two inputs is one report whose text names the first and last file."""
    a = _log(tmp_path, {3: DENIED}, 3, "a.log")
    b = _log(tmp_path, {1: DENIED}, 2, "b.log")
    _, [d] = scan([str(a), str(b)], ruleset=ruleset, err=io.StringIO())
    assert d.occurrences == 2
    assert f"first {a}:3, last {b}:1" in text.render(d)


def _failure(n: int, line: int) -> Failure:
    return Failure("plain", SourceRef("x.log", line), action=f"s3:Action{n}")


def test_a_full_window_reports_its_oldest_entry_first_and_a_later_repeat_again() -> None:
    """Memory stays bounded: past the window the oldest fold is reported, order intact."""
    folder = Folder(capacity=2)
    out = []
    for n, line in ((1, 1), (2, 2), (1, 3), (3, 4), (1, 5)):
        folder.add(_failure(n, line))
        out.extend((e.failure.action, e.occurrences) for e in folder.ready())
    # Action1 left the window when Action3 arrived, Action2 when Action1 came back.
    assert out == [("s3:Action1", 2), ("s3:Action2", 1)]
    out.extend((e.failure.action, e.occurrences) for e in folder.drain())
    assert out[2:] == [("s3:Action3", 1), ("s3:Action1", 1)]
    with pytest.raises(ValueError, match="at least one"):
        Folder(capacity=0)


def test_cli_json_has_occurrences_and_last_source() -> None:
    """`scan --format json` prints the fold's occurrences and last_source; the summary counts it."""
    proc = subprocess.run(
        [AUTHZ_DIAG, "scan", "-", "--no-decode", "--format", "json"],
        input=(DENIED + "noise\n" + DENIED).encode(),
        capture_output=True,
        timeout=120,
        env=dict(os.environ),
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    [obj] = [orjson.loads(line) for line in proc.stdout.splitlines()]
    assert obj["occurrences"] == 2
    assert obj["last_source"] == {"path": "-", "line": 3, "offset": len(DENIED) + 6}


def test_one_denial_printed_in_parts_is_one_report() -> None:
    """An SDK line with the operation and a nearby line with the principal are one failure."""
    folder = Folder()
    sdk = Failure(
        "encoded",
        SourceRef("x.log", 3),
        operation="RunInstances",
        error_code="UnauthorizedOperation",
    )
    sentence = Failure(
        "plain",
        SourceRef("x.log", 7),
        principal_arn="arn:aws:sts::123456789012:assumed-role/r/s",
        action="ec2:RunInstances",
    )
    assert folder.add(sdk) is False
    assert folder.add(sentence) is True
    [entry] = list(folder.drain())
    f = entry.failure
    assert (f.kind, f.source.line, f.operation, f.principal_arn, f.action) == (
        "encoded",
        3,
        "RunInstances",
        "arn:aws:sts::123456789012:assumed-role/r/s",
        "ec2:RunInstances",
    )
    assert any("printed in parts" in note for note in f.parse_notes)


def test_parts_that_disagree_far_apart_or_from_cloudtrail_stay_separate() -> None:
    """Different principals, lines far apart, and CloudTrail records are never joined."""
    a = Failure(
        "plain", SourceRef("x.log", 1), principal_arn="arn:aws:iam::1:user/a", action="s3:X"
    )
    b = Failure(
        "plain", SourceRef("x.log", 2), principal_arn="arn:aws:iam::1:user/b", action="s3:X"
    )
    far = Failure("plain", SourceRef("x.log", 40), action="s3:X", resource="arn:aws:s3:::b")
    trail = Failure("cloudtrail", SourceRef("t.json", 1, event_id="e1"), action="s3:X")
    trail2 = Failure("cloudtrail", SourceRef("t.json", 1, event_id="e2"), action="s3:X")
    folder = Folder()
    assert [folder.add(f) for f in (a, b, far, trail, trail2)] == [False] * 5
    assert len(list(folder.drain())) == 5


def test_a_decoded_message_pasted_below_its_error_is_that_error_decoded() -> None:
    """An encoded error and the decoded message pasted below it are one failure, as decoded."""
    folder = Folder()
    error = Failure(
        "encoded",
        SourceRef("post.md", 11),
        action="ec2:RunInstances",
        operation="RunInstances",
        error_code="UnauthorizedOperation",
        encoded_message="oGsbAaIV7wlfj8zU",
    )
    context = {"action": "iam:PassRole", "resource": "arn:aws:iam::123456789012:role/r"}
    decoded = Failure(
        "decoded",
        SourceRef("post.md", 46),
        action="iam:PassRole",
        resource="arn:aws:iam::123456789012:role/r",
        explicit_deny=False,
        decoded={"allowed": False, "explicitDeny": False, "context": context},
    )
    assert folder.add(error) is False
    assert folder.add(decoded) is True
    [entry] = list(folder.drain())
    f = entry.failure
    assert (f.kind, f.source.line, f.operation, f.action, f.resource, f.explicit_deny) == (
        "encoded",
        11,
        "RunInstances",
        "iam:PassRole",
        "arn:aws:iam::123456789012:role/r",
        False,
    )
    assert f.decoded == decoded.decoded and f.encoded_message == "oGsbAaIV7wlfj8zU"


def test_a_decoded_message_after_another_denial_or_far_below_stays_apart() -> None:
    """A decoded message joins only the encoded error just above it, not one past another denial."""
    blob = Failure("encoded", SourceRef("x.log", 1), action="ec2:RunInstances", error_code="E")
    other = Failure(
        "plain", SourceRef("x.log", 3), action="s3:GetObject", error_code="AccessDenied"
    )
    decoded = Failure("decoded", SourceRef("x.log", 5), action="iam:PassRole", decoded={})
    far = Failure("decoded", SourceRef("x.log", 500), action="iam:PassRole", decoded={})
    folder = Folder()
    assert [folder.add(f) for f in (blob, other, decoded)] == [False] * 3
    folder2 = Folder()
    assert [folder2.add(f) for f in (blob, far)] == [False] * 2


def test_a_part_after_its_report_left_the_window_starts_a_new_report() -> None:
    """A report already handed out is never changed by a later part."""
    folder = Folder(capacity=1)
    folder.add(Failure("plain", SourceRef("x.log", 1), action="s3:A", error_code="AccessDenied"))
    folder.add(Failure("plain", SourceRef("x.log", 2), action="s3:B"))
    [first] = list(folder.ready())
    folder.add(Failure("plain", SourceRef("x.log", 3), action="s3:A", resource="arn:aws:s3:::b"))
    assert first.failure.resource is None
    assert [e.failure.action for e in folder.drain()] == ["s3:B", "s3:A"]


def test_a_later_print_that_adds_nothing_counts_as_an_occurrence() -> None:
    """A second, plainer print of one denial (a logger's onError line) counts as seen twice."""
    folder = Folder()
    first = Failure(
        "plain",
        SourceRef("app.log", 1),
        action="s3:PutObject",
        operation="PutObject",
        error_code="AccessDenied",
        event_source="s3",
    )
    again = Failure("plain", SourceRef("app.log", 2), error_code="AccessDenied", event_source="S3")
    assert folder.add(first) is False
    assert folder.add(again) is True
    [entry] = list(folder.drain())
    assert (entry.failure.action, entry.occurrences) == ("s3:PutObject", 2)


def _java_legacy(request_id: str) -> str:
    return (
        f"Status Code: 403, AWS Service: Amazon S3, AWS Request ID: {request_id}, "
        "AWS Error Code: AccessDenied, AWS Error Message: Access Denied"
    )


def test_one_line_listing_several_requests_reports_each(tmp_path: Path) -> None:
    """A line listing alike denials of different request IDs (an SDK's error list) gives each."""
    ids = ["3ACA31E72F490BD2", "8272D5DB79566BED", "9DB7822EF93E84F1"]
    path = tmp_path / "list.log"
    path.write_text("failed to fetch: [" + ", ".join(f'"{_java_legacy(i)}"' for i in ids) + "]\n")
    _, diagnoses = scan([str(path)], ruleset=None, decoder=None, err=io.StringIO())
    assert [d.failure.request_id for d in diagnoses] == ids


def test_retry_loop_lines_with_new_request_ids_fold(tmp_path: Path) -> None:
    """The same denial retried on later lines, each with its own request ID, is one report."""
    path = tmp_path / "retry.log"
    path.write_text("".join(f"E {_java_legacy(i)}\n" for i in ("AAAA1111BBBB", "CCCC2222DDDD")))
    _, diagnoses = scan([str(path)], ruleset=None, decoder=None, err=io.StringIO())
    assert len(diagnoses) == 1 and diagnoses[0].occurrences == 2


def _scan_text(tmp_path: Path, body: str) -> list[tuple[str | None, str | None, str | None]]:
    path = tmp_path / "post.md"
    path.write_text(body, encoding="utf-8")
    _, diagnoses = scan([str(path)], ruleset=None, decoder=None, err=io.StringIO())
    return [(d.failure.operation, d.failure.action, d.failure.principal_arn) for d in diagnoses]


def test_a_bare_refusal_and_a_full_sentence_a_few_lines_apart_stay_two(tmp_path: Path) -> None:
    """A CLI error whose whole message is "Forbidden" and a nearby sentence are two examples."""
    body = (
        "ClientError: An error occurred (403) when calling the PutObject operation: Forbidden\n"
        "\nor, from the SDK:\n\n"
        "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: s3:PutObject "
        "on resource: arn:aws:s3:::bucket/key\n"
    )
    assert _scan_text(tmp_path, body) == [
        ("PutObject", "s3:PutObject", None),
        (None, "s3:PutObject", "arn:aws:iam::123456789012:user/dev"),
    ]


def test_a_bare_refusal_and_a_sentence_naming_nobody_stay_two(tmp_path: Path) -> None:
    """A "Forbidden" CLI error and a nearby "User is not authorized to perform: X" are two."""
    body = (
        "ClientError: An error occurred (403) when calling the PutObject operation: Forbidden\n"
        "\nthe IAM wording:\n\n"
        '"User is not authorized to perform: s3:PutObject"\n'
    )
    assert _scan_text(tmp_path, body) == [
        ("PutObject", "s3:PutObject", None),
        (None, "s3:PutObject", None),
    ]


def test_a_part_never_joins_across_another_denial(tmp_path: Path) -> None:
    """Three bare S3 refusals printed one after another give three reports, not two."""
    body = (
        "An error occurred (AccessDenied) when calling the ListObjectsV2 operation: Access Denied\n"
        "An error occurred (403) when calling the HeadObject operation: Forbidden\n"
        "<Error>\n<Code>AccessDenied</Code>\n<Message>Access Denied</Message>\n</Error>\n"
    )
    assert [op for op, _, _ in _scan_text(tmp_path, body)] == ["ListObjectsV2", "HeadObject", None]


def _fold_counts(tmp_path: Path, body: str) -> list[int]:
    path = tmp_path / "post.md"
    path.write_text(body, encoding="utf-8")
    _, diagnoses = scan([str(path)], ruleset=None, decoder=None, err=io.StringIO())
    return [d.occurrences for d in diagnoses]


#: botocore's ClientError message ("An error occurred ({error_code}) when calling the
#: {operation_name} operation{retry_info}: {error_message}", botocore/exceptions.py); the
#: AWS CLI's s3 transfer line puts "upload failed: {src} to {dest} " before it
#: (awscli/customizations/s3/results.py).
_BOTO = "An error occurred (AccessDenied) when calling the PutObject operation: Access Denied"


def test_the_clis_and_the_sdks_example_of_one_refusal_are_two(tmp_path: Path) -> None:
    """Two whole SDK errors in other words, no request IDs: a post's two examples."""
    body = (
        f"upload failed: ./a.txt to s3://b/a.txt {_BOTO}\n\nUsing the SDK:\n\n"
        f"botocore.exceptions.ClientError: {_BOTO}\n"
    )
    assert _fold_counts(tmp_path, body) == [1, 1]


def test_the_clis_line_under_its_traceback_is_one(tmp_path: Path) -> None:
    """The traceback's last line contains the CLI's line: one denial printed twice."""
    body = f"botocore.exceptions.ClientError: {_BOTO}\n\n{_BOTO}\n"
    assert _fold_counts(tmp_path, body) == [2]


def test_the_same_example_pasted_again_after_prose_is_one(tmp_path: Path) -> None:
    """The same words again, however far and whatever lies between: a repeat."""
    body = f"upload failed: ./a.txt to s3://b/a.txt {_BOTO}\n\nStill failing:\n\n" * 2
    assert _fold_counts(tmp_path, body) == [2]


def test_two_posts_in_other_words_with_other_request_ids_are_two(tmp_path: Path) -> None:
    """PHP SDK v2's message list ("AWS Error Code: %s, Status Code: %s, AWS Request ID: %s,
    AWS Error Type: %s, AWS Error Message: %s", Aws/Common/Exception/NamespaceExceptionFactory)
    and the Java v1 SDK's "{message} (Service: {service}; Status Code: {status}; Error Code:
    {code}; Request ID: {id})" (AmazonServiceException.getMessage) for one SQS refusal."""
    sqs = "Access to the resource https://sqs.us-west-2.amazonaws.com/ is denied."
    body = (
        "AWS Error Code: AccessDenied, Status Code: 403, AWS Request ID: "
        f"a8156b52-0000-1111-2222-2043726a2bb8, AWS Error Type: client, AWS Error Message: {sqs}\n"
        "\nsame here, from a Lambda:\n\n"
        f'"errorMessage": "{sqs} (Service: AmazonSQS; Status Code: 403; Error Code: '
        'AccessDenied; Request ID: c61c0698-3333-4444-5555-5602cb84e824)",\n'
    )
    assert _fold_counts(tmp_path, body) == [1, 1]
