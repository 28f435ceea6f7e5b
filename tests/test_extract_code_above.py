"""An error code on the line above or below its message (XML and JSON bodies, IDE titles)."""

from __future__ import annotations

import json

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


def test_code_below_a_json_message_field() -> None:
    """JS SDK v2 error objects print "message" before "code": the code below is read."""
    text = (
        "{\n"
        '  "message": "User: arn:aws:sts::111122223333:assumed-role/api/fn is not authorized '
        "to perform: dynamodb:PutItem on resource: "
        'arn:aws:dynamodb:eu-west-1:111122223333:table/places",\n'
        '  "code": "AccessDeniedException",\n'
        '  "statusCode": 400\n'
        "}\n"
    )
    (f,) = extract_text(text)
    assert (f.error_code, f.action) == ("AccessDeniedException", "dynamodb:PutItem")


def test_bare_message_then_code_below_is_a_refusal() -> None:
    """`"Message": "Access Denied"` with the code on the next line is one bare refusal."""
    text = '{\n    "Message": "Access Denied",\n    "Code": "AccessDeniedException"\n}\n'
    (f,) = extract_text(text)
    assert (f.error_code, f.source.line) == ("AccessDeniedException", 2)
    assert "line below" in f.parse_notes[0]


def test_code_below_in_a_terraform_box_and_after_a_wrapped_message() -> None:
    """A boxed body, and a message wrapped at 80 columns, still get the code below them."""
    boxed = (
        '╷\n│ {\n│     "Message": "User: arn:aws:sts::111122223333:assumed-role/d/s is not '
        "authorized to perform: lambda:InvokeFunction on resource: "
        'arn:aws:lambda:us-east-1:111122223333:function:f",\n'
        '│     "Code": "AccessDeniedException"\n│ }\n╵\n'
    )
    (f,) = extract_text(boxed)
    assert f.error_code == "AccessDeniedException"
    message = (
        '    "Message": "User: arn:aws:sts::111122223333:assumed-role/deployer/ci-session is '
        "not authorized to perform: dynamodb:PutItem on resource: "
        "arn:aws:dynamodb:us-east-1:111122223333:table/orders because no identity-based "
        'policy allows the dynamodb:PutItem action",'
    )
    wrapped = "\n".join(message[i : i + 80] for i in range(0, len(message), 80))
    text = "{\n" + wrapped + '\n    "Code": "AccessDeniedException"\n}\n'
    (g,) = extract_text(text)
    assert (g.error_code, g.action) == ("AccessDeniedException", "dynamodb:PutItem")
    # The wrap fell on the space before "is": the row's blank is kept, not glued.
    assert "ci-session is not authorized" in g.excerpt


def test_a_code_below_the_body_is_not_borrowed() -> None:
    """The body's closing brace ends it: a code after it belongs to something else."""
    text = '{\n  "message": "Access Denied"\n}\n{"code": "AccessDenied"}\n'
    assert extract_text(text) == []


def test_exception_class_alone_above_the_sentence() -> None:
    """An IDE prints the exception class on its own line above the message."""
    text = (
        "AccessDeniedException\n"
        "User: arn:aws:sts::111122223333:assumed-role/r/s is not authorized to perform: "
        "dynamodb:Query on resource: arn:aws:dynamodb:us-east-1:111122223333:table/t\n"
    )
    (f,) = extract_text(text)
    assert f.error_code == "AccessDeniedException"


def test_cli_json_error_inside_a_json_log_field() -> None:
    """The CLI's JSON error body logged as an escaped string field gives its code."""
    body = '{\n    "Code": "AccessDenied",\n    "Message": "Access Denied"\n}'
    line = json.dumps({"level": "error", "msg": body})
    (f,) = extract_text(line + "\n")
    assert f.error_code == "AccessDenied"


def test_error_tracker_title_with_the_ruby_class_then_the_bare_message() -> None:
    """An error tracker's title (a Ruby SDK class) over "Access Denied" is one refusal."""
    text = (
        "## Error in production\n\n"
        "Aws::S3::Errors::AccessDenied in UploadsController#create\n"
        "Access Denied\n\n"
        "app/controllers/uploads_controller.rb:12 - create\n"
    )
    found = extract_text(text)
    assert [(f.error_code, f.event_source, f.source.line) for f in found] == [
        ("AccessDenied", "S3", 4)
    ]


def test_a_bare_access_denied_line_under_other_text_is_nothing() -> None:
    """The words "Access Denied" alone on a line under prose or a non-AWS class give nothing."""
    assert extract_text("Login page\nAccess Denied\n") == []
    assert extract_text("MyApp::Errors::AccessDenied in HomeController\nAccess Denied\n") == []


def test_js_sdk_v2_bodiless_403_printed_by_console_log() -> None:
    """aws-sdk-js v2's ``{ [Forbidden: null]`` (a HEAD refused with no body) is a refusal."""
    text = (
        "Error getting object head:\n"
        "{ [Forbidden: null]\n"
        "  message: null,\n"
        "  code: 'Forbidden',\n"
        "  statusCode: 403,\n"
        "  retryable: false }\n"
    )
    found = extract_text(text)
    assert [(f.error_code, f.source.line) for f in found] == [("Forbidden", 2)]
