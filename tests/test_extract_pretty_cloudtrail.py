"""A CloudTrail record pretty-printed inside other text is read as a CloudTrail record."""

from __future__ import annotations

import json

from diagnostics.extract import extract_text

RECORD = {
    "eventVersion": "1.09",
    "userIdentity": {
        "type": "IAMUser",
        "arn": "arn:aws:iam::111122223333:user/temp-user",
        "accountId": "111122223333",
    },
    "eventTime": "2023-08-26T20:35:56Z",
    "eventSource": "s3.amazonaws.com",
    "eventName": "ListObjects",
    "awsRegion": "us-east-1",
    "userAgent": "[aws-cli/1.27.74 Python/3.10.6]",
    "errorCode": "AccessDenied",
    "errorMessage": "Access Denied",
    "requestParameters": {"bucketName": "example-bucket", "prefix": ""},
    "responseElements": None,
    "eventID": "8d6e1f0a-1111-2222-3333-444455556666",
}
PRETTY = json.dumps(RECORD, indent=2).splitlines()


def _kinds(text: str) -> list[tuple[str, str | None, str | None, bool]]:
    return [(f.kind, f.principal_arn, f.operation, f.truncated) for f in extract_text(text)]


def test_record_in_prose_is_read_whole() -> None:
    """jq's output pasted between sentences gives one CloudTrail failure with its caller."""
    text = "Here is the event:\n" + "\n".join(PRETTY) + "\nAny idea?\n"
    assert _kinds(text) == [
        ("cloudtrail", "arn:aws:iam::111122223333:user/temp-user", "ListObjects", False)
    ]


def test_record_behind_a_paste_sites_line_numbers_and_cut() -> None:
    """Numbered lines (``17.   "errorCode": ...``) cut before the end still give the record."""
    cut = PRETTY[: PRETTY.index('  "responseElements": null,') + 1]
    text = "JSON 1.90 KB\n" + "\n".join(f"{n:>4}. {line}" for n, line in enumerate(cut, 1)) + "\n"
    assert _kinds(text) == [
        ("cloudtrail", "arn:aws:iam::111122223333:user/temp-user", "ListObjects", True)
    ]


def test_error_fields_alone_stay_plain_text() -> None:
    """``{"errorCode": ..., "errorMessage": ...}`` with no record keys is read as before."""
    text = '{\n  "errorCode": "AccessDenied",\n  "errorMessage": "Access Denied"\n}\n'
    assert [f.kind for f in extract_text(text)] != ["cloudtrail"]
