"""Wraps inside a token (issue 21, class 3): a role name cut by the terminal, a reason on
the next line after "on this resource", a box border inside the error code."""

from __future__ import annotations

from diagnostics.extract import extract_text

SESSION = "arn:aws:sts::111122223333:assumed-role/app-role/session"


def test_arn_cut_inside_a_role_name_is_glued_without_a_blank() -> None:
    """A 120-column terminal cut "app-ro" / "le/session": the principal is whole."""
    line = (
        "An error occurred (AccessDeniedException) when calling the Decrypt operation: User: "
        + SESSION
        + " is not authorized to perform: kms:Decrypt on this resource because no "
        "identity-based policy allows the kms:Decrypt action"
    )
    cut = line.index("app-ro") + len("app-ro")
    (f,) = extract_text(line[:cut] + "\n" + line[cut:] + "\n")
    assert f.principal_arn == SESSION and f.account_id == "111122223333"


def test_reason_on_the_line_after_on_this_resource() -> None:
    """KMS's "on this resource" then the reason clause on its own line: one sentence."""
    text = (
        "An error occurred (AccessDeniedException) when calling the Decrypt operation: User: "
        f"{SESSION} is not authorized to perform: kms:Decrypt on this resource\n"
        "because no identity-based policy allows the kms:Decrypt action\n"
    )
    (f,) = extract_text(text)
    assert (f.action, f.policy_type, f.explicit_deny) == ("kms:Decrypt", "identity", False)


def test_box_border_inside_the_error_code() -> None:
    """A boxed diagnostic whose right border cuts "AccessDeniedE │" / "│ xception"."""
    msg = (
        "Error: reading IAM Role (app): operation error IAM: GetRole, https response error "
        "StatusCode: 403, RequestID: 5b3c, api error AccessDeniedException: User: "
        "arn:aws:sts::111122223333:assumed-role/deploy/ci is not authorized to perform: "
        "iam:GetRole on resource: role app because no identity-based policy allows the "
        "iam:GetRole action"
    )
    width = msg.index("AccessDeniedE") + len("AccessDeniedE")
    rows = [msg[i : i + width] for i in range(0, len(msg), width)]
    box = "\n".join(["╷", *(f"│ {r.ljust(width)} │" for r in rows), "╵"]) + "\n"
    (f,) = extract_text(box)
    assert (f.error_code, f.operation, f.action) == (
        "AccessDeniedException",
        "GetRole",
        "iam:GetRole",
    )
    assert (f.resource, f.resource_text) == (None, "role app")


def _wrap(text: str, width: int) -> str:
    return "\n".join(text[i : i + width] for i in range(0, len(text), width)) + "\n"


_SENTENCE = (
    f"User: {SESSION} is not authorized to perform: iam:CreateRole on resource: "
    "arn:aws:iam::111122223333:role/app-role because no identity-based policy allows the "
    "iam:CreateRole action"
)


def test_wrapped_sentence_keeps_its_id_suffix_and_class() -> None:
    """Ruby's `message (Aws::IAM::Errors::AccessDenied)` wrapped at 80 columns, the message
    ending in an authorization-ID suffix: the ID and the code are both read."""
    ident = "7q2m9x4k1c8v3b6n0z5l2j7h4g9f1d3s"
    suffix = (
        ". Go to https://us-east-1.console.aws.amazon.com/iam/home?region=us-east-1#/"
        f"authorization-details/{ident} for complete details, or call the "
        f"GetRequestAuthorizationDetails API with the following authorization id: {ident}"
    )
    (f,) = extract_text(_wrap(_SENTENCE + suffix + " (Aws::IAM::Errors::AccessDenied)", 80))
    assert (f.error_code, f.authorization_id) == ("AccessDenied", ident)


def test_wrapped_frame_above_the_last_row_names_the_operation() -> None:
    """Go v2's frame wrapped so the code's marker is on the last row: operation and code read."""
    line = (
        "operation error IAM: CreateRole, https response error StatusCode: 403, RequestID: "
        "4442587FB7D0A2F9, api error AccessDenied: Access Denied"
    )
    (f,) = extract_text(_wrap(line, 120))
    assert (f.error_code, f.operation) == ("AccessDenied", "CreateRole")


def test_wrapped_denials_one_after_another_stay_two() -> None:
    """Two complete denials wrapped at one width, back to back, are two failures."""
    first = _SENTENCE.replace("app-role because", "app-role-1 because")
    second = _SENTENCE.replace("app-role because", "app-role-2 because")
    rows = _wrap(first, 80) + _wrap(second, 80)
    found = extract_text(rows)
    assert [f.resource for f in found] == [
        "arn:aws:iam::111122223333:role/app-role-1",
        "arn:aws:iam::111122223333:role/app-role-2",
    ]


def test_row_cut_inside_a_word_of_the_phrase() -> None:
    """An 80-column wrap cutting "is no" / "t authorized" (no marker on either row) still
    gives the whole sentence with the exception class before it."""
    line = "com.amazonaws.services.s3.model.AmazonS3Exception: " + _SENTENCE
    cut = line.index("is not ") + len("is no")
    (f,) = extract_text(line[:cut] + "\n" + line[cut:] + "\n")
    assert (f.principal_arn, f.action) == (SESSION, "iam:CreateRole")


def test_js_v3_error_object_with_a_bare_message() -> None:
    """JSON.stringify of a JS SDK v3 S3 error ("Access Denied", code in "Code"): one failure."""
    line = (
        '{"$fault":"client","$metadata":{"httpStatusCode":403,"requestId":"4442587FB7D0A2F9",'
        '"attempts":1,"totalRetryDelay":0},"name":"AccessDenied","message":"Access Denied",'
        '"Code":"AccessDenied","RequestId":"4442587FB7D0A2F9"}'
    )
    for text in (line + "\n", _wrap(line, 80)):
        (f,) = extract_text(text)
        assert f.error_code == "AccessDenied"


def test_an_application_code_field_alone_is_no_failure() -> None:
    """An app's own JSON with "code":"AccessDenied" and no SDK metadata is not read as AWS's."""
    assert extract_text('{"code":"AccessDenied","message":"Access Denied","status":403}\n') == []


def test_wrap_inside_authorized_on_rows_with_no_other_marker() -> None:
    """A .NET exception whose only marker word a 120-column wrap cut ("autho" / "rized")."""
    line = "Amazon.IdentityManagement.AmazonIdentityManagementServiceException: " + _SENTENCE
    cut = line.index("authorized") + len("autho")
    (f,) = extract_text(line[:cut] + "\n" + line[cut:] + "\n")
    assert (f.principal_arn, f.action) == (SESSION, "iam:CreateRole")


def test_cli_operation_name_cut_by_the_wrap() -> None:
    """SAM's changeset error cut inside "CreateRole" at 120 columns names the operation."""
    line = (
        "Error: Failed to create changeset for the stack: example-stack, An error occurred "
        "(AccessDenied) when calling the CreateRole operation: Access Denied"
    )
    (f,) = extract_text(_wrap(line, 120))
    assert (f.error_code, f.operation) == ("AccessDenied", "CreateRole")


def test_java_frame_cut_after_its_parenthesis() -> None:
    """Java v1's "Access Denied (" / "Service: ...; Error Code: X; ..." at 80 columns gives X."""
    line = (
        "com.amazonaws.services.dynamodbv2.model.AmazonDynamoDBException: Access Denied "
        "(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: AccessDeniedException; "
        "Request ID: 4442587FB7D0A2F9; Proxy: null)"
    )
    (f,) = extract_text(_wrap(line, 80))
    assert f.error_code == "AccessDeniedException"


def test_blob_in_an_xml_body_wrapped_at_80_columns() -> None:
    """boto2's EC2 XML body hard-wrapped at 80 columns: the whole blob is read."""
    blob = "AbC4-xYz_" + "q0Ws9JpLm3Rt7Uv1Xz5Bn8Ck2Dh6Fg" * 24
    body = (
        "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not "
        "authorized to perform this operation. Encoded authorization failure message: "
        f"{blob}</Message></Error></Errors><RequestID>4442587FB7D0A2F9</RequestID></Response>"
    )
    (f,) = extract_text(_wrap(body, 80))
    assert (f.error_code, f.encoded_message) == ("UnauthorizedOperation", blob)


def test_next_line_as_wide_by_chance_is_its_own_denial() -> None:
    """Two different denials on lines that happen to be equally wide stay two (a blog's list)."""
    first = (
        "An error occurred (AccessDeniedException) when calling the DescribeInstances operation: "
        "User: arn:aws:iam::123456789012:user/developer is not authorized to perform: "
        "ec2:DescribeInstances on resource: *"
    )
    second = (
        "AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/MyRole/session is "
        "not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:"
        "123456789012:table/MyTable-2024"
    )
    assert len(first) == len(second) >= 60  # by chance as wide as a terminal's rows
    found = extract_text(first + "\n" + second + "\n")
    assert [f.action for f in found] == ["ec2:DescribeInstances", "dynamodb:GetItem"]


def test_dotnet_bare_message_cut_by_the_wrap_is_read_from_its_inner_exception_line() -> None:
    """.NET's "Access Denie"/"d" cut at 80 columns is found once, via the inner exception line."""
    outer = "Amazon.IdentityManagement.AmazonIdentityManagementServiceException: Access Denied"
    inner = (
        " ---> Amazon.Runtime.Internal.HttpErrorResponseException: Exception of type "
        "'Amazon.Runtime.Internal.HttpErrorResponseException' was thrown."
    )
    rows = [line[i : i + 80] for line in (outer, inner) for i in range(0, len(line), 80)]
    assert rows[1] == "d"
    (f,) = extract_text("\n".join(rows) + "\n")
    # Reported where it was read, as for other rows joined from above a record.
    assert (f.event_source, f.source.line) == ("IdentityManagement", 3)
    (g,) = extract_text(outer + "\n" + inner + "\n")  # unwrapped: read once, not twice
    assert g.source.line == 1
