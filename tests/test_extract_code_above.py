"""An error code on the line above its message (XML bodies, the CLI's JSON error format)."""

from __future__ import annotations

from diagnostics.extract import extract_text


def test_xml_error_body_printed_by_curl() -> None:
    """S3's XML body over several lines is one bare refusal with its code."""
    text = (
        "$ curl https://example-bucket.s3.amazonaws.com/build/app.zip\n"
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Error>\n"
        "  <Code>AccessDenied</Code>\n"
        "  <Message>Access Denied</Message>\n"
        "  <RequestId>4442587FB7D0A2F9</RequestId>\n"
        "</Error>\n"
    )
    found = extract_text(text)
    assert [(f.error_code, f.source.line) for f in found] == [("AccessDenied", 5)]
    assert "line above" in found[0].parse_notes[0]


def test_cli_json_error_format() -> None:
    """`aws --cli-error-format json` prints the code above the message: both are read."""
    text = (
        "{\n"
        '    "Code": "AccessDenied",\n'
        '    "Message": "User: arn:aws:iam::111122223333:user/ci is not authorized to perform: '
        "iam:CreateRole on resource: arn:aws:iam::111122223333:role/app because no "
        'identity-based policy allows the iam:CreateRole action"\n'
        "}\n"
    )
    (f,) = extract_text(text)
    assert (f.error_code, f.action, f.principal_arn) == (
        "AccessDenied",
        "iam:CreateRole",
        "arn:aws:iam::111122223333:user/ci",
    )


def test_code_of_another_body_is_not_borrowed() -> None:
    """A blank line ends a body: a code above it belongs to something else."""
    text = '{"level": "info", "Code": "AccessDenied"}\n\n    "Message": "Access Denied"\n'
    assert extract_text(text) == []


def test_not_a_refusal_code_gives_nothing() -> None:
    """NoSuchKey above "Access Denied" text is no refusal (the code decides)."""
    text = "<Error>\n<Code>NoSuchKey</Code>\n<Message>Access Denied</Message>\n</Error>\n"
    assert extract_text(text) == []
