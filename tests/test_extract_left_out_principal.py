"""Sentences that leave out the principal (issue 21, class 2) keep every other slot."""

from __future__ import annotations

import pytest

from diagnostics.extract import extract_text

SCP = "arn:aws:organizations::111122223333:policy/o-abc/service_control_policy/p-1"
MODEL = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2"


@pytest.mark.parametrize(
    "text",
    [
        # As Bedrock's error reaches boto3 users: the sentence starts after the colon.
        "botocore.errorfactory.AccessDeniedException: An error occurred (AccessDeniedException) "
        f"when calling the InvokeModel operation: not authorized to perform: bedrock:InvokeModel "
        f"on resource: {MODEL} with an explicit deny in a service control policy: {SCP}\n",
        # The same sentence hard-wrapped over three lines.
        "AccessDeniedException: not authorized to perform: bedrock:InvokeModel on resource:\n"
        f"{MODEL} with an explicit\n"
        f"deny in a service control policy: {SCP}\n",
    ],
    ids=["one-line", "wrapped"],
)
def test_left_out_principal_keeps_resource_and_reason(text: str) -> None:
    """Action, resource, the SCP and its ARN are read; the principal is null with a note."""
    (f,) = extract_text(text)
    assert (f.principal_arn, f.principal_text) == (None, None)
    assert (f.action, f.resource) == ("bedrock:InvokeModel", MODEL)
    assert (f.policy_type, f.explicit_deny, f.policy_arn) == ("scp", True, SCP)
    assert any("names no principal" in n for n in f.parse_notes)


def test_readme_heading_shape() -> None:
    """A troubleshooting heading as public READMEs print it is one failure with its action."""
    (f,) = extract_text(
        "### `AccessDeniedException: not authorized to perform: bedrock-agentcore:CreateRegistry`\n"
    )
    assert f.action == "bedrock-agentcore:CreateRegistry"


def test_prose_is_not_a_sentence() -> None:
    """'You are not authorized to perform' and mid-sentence prose are not this shape."""
    assert extract_text("Note that users are not authorized to perform: this is by design.\n") == []


@pytest.mark.parametrize("elision", ["...", "…", "[...]"])
def test_elided_principal_after_the_code(elision: str) -> None:
    """``AccessDenied: ... is not authorized`` (a doc eliding the principal) is one failure."""
    (f,) = extract_text(
        f"AccessDenied: {elision} is not authorized to perform: ec2:StartInstances\n"
    )
    assert (f.principal_arn, f.principal_text) == (None, elision)
    assert (f.action, f.error_code) == ("ec2:StartInstances", "AccessDenied")


def test_placeholder_principal_after_the_code() -> None:
    """``AccessDeniedException: <Username> is not authorized ...`` keeps the placeholder."""
    (f,) = extract_text(
        "AccessDeniedException: <Username> is not authorized to perform "
        "dynamodb:BatchWriteItem on resource: <table-name>\n"
    )
    assert (f.principal_text, f.action) == ("<Username>", "dynamodb:BatchWriteItem")


def test_title_line_starting_with_is() -> None:
    """A title line ``Is not authorized to perform: ecr:...`` is a failure with no principal."""
    (f,) = extract_text("Is not authorized to perform: ecr:GetAuthorizationToken\n")
    assert (f.principal_arn, f.principal_text, f.action) == (
        None,
        None,
        "ecr:GetAuthorizationToken",
    )


def test_sentence_after_an_elision() -> None:
    """``Could not assume role... not authorized to perform: sts:AssumeRole`` is one failure."""
    (f,) = extract_text(
        "Could not assume role in target account... not authorized to perform: sts:AssumeRole\n"
    )
    assert f.action == "sts:AssumeRole"


def test_is_inside_prose_is_no_title() -> None:
    """A capitalised "Is" mid-line ("What Is not authorized ...") starts no sentence."""
    assert extract_text("What Is not authorized to perform: ecr:X means\n") == []
