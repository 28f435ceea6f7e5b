"""Code and documentation templates of a denial message are not failures; redacted pastes are.

The template lines are written the way emulators, mocks and SDK tests build
the message (the shapes seen in public code: Go ``fmt.Sprintf`` and
``fmt.Errorf``, Python f-strings and ``str.format``, Rust ``format!``, Java
``String.format`` and MessageFormat, shell ``printf``, Ruby interpolation,
Jinja and Go templates, a doc comment with a blob placeholder).
"""

from __future__ import annotations

import pytest

from diagnostics.extract import extract_text

TEMPLATES = [
    'return fmt.Errorf("AccessDenied: User: %s is not authorized to perform: sts:AssumeRole", id)',
    '\t\tMessage: fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s",',
    "    printf 'An error occurred (AccessDeniedException) when calling the GetParameter "
    "operation: User: %s is not authorized to perform: ssm:GetParameter on resource: %s\\n' "
    '"$ARN" "$4" >&2',
    '    raise ClientError({"Error": {"Code": "AccessDenied", "Message": f"User: {CALLER_ARN} '
    'is not authorized to perform: sts:AssumeRole on resource: {ROLE_ARN}"}}, "AssumeRole")',
    '        "AccessDenied", f"User: {user_arn} is not authorized to perform: {action}"',
    '    expected := "User: ${ATTACKER_PRINCIPAL} is not authorized to perform: s3:GetObject '
    'on resource: ${BUCKET_ARN}/*"',
    '            "User: {} is not authorized to perform: {action} on resource: {}",',
    '    m = "User: {0} is not authorized to perform: s3:PutObject on resource: {1}".format(a, r)',
    '  message: "User: {{ .Principal }} is not authorized to perform: {{ .Action }}"',
    '    raise "User: #{arn} is not authorized to perform: iam:PassRole on resource: #{role}"',
    '    throw new AccessDenied(String.format("User: %s is not authorized to perform: %s", u, a));',
    '    // Example: "An error occurred (UnauthorizedOperation) when calling the RunInstances '
    "operation: You are not authorized to perform this operation. Encoded authorization failure "
    'message: <complete blob>"',
    "# e.g. User: {principal_arn} is not authorized to perform: {action} on resource: {resource}",
]


@pytest.mark.parametrize("line", TEMPLATES, ids=range(len(TEMPLATES)))
def test_template_gives_no_failure(line: str) -> None:
    """A message template with variables in its slots is code, not a denial."""
    assert extract_text(line) == []


#: Real pastes with redacted slots (the corpus has each kind): still failures.
REDACTED = [
    (
        "User: arn:aws:sts::{redacted}:assumed-role/{redacted} is not authorized to perform: "
        "elasticloadbalancing:AddTags on resource: arn:aws:elasticloadbalancing:ap-northeast-2:"
        "{redacted}:loadbalancer/app/x/1 because no identity-based policy allows the "
        "elasticloadbalancing:AddTags action",
        "elasticloadbalancing:AddTags",
    ),
    (
        "AccessDenied: User: <arn> is not authorized to perform: autoscaling:DescribeTags",
        "autoscaling:DescribeTags",
    ),
    (
        "An error occurred (AccessDenied) when calling the GetObject operation: User: "
        "arn:aws:iam::xxxxxxxxxxxx:user/ci is not authorized to perform: s3:GetObject",
        "s3:GetObject",
    ),
    (
        "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: You "
        "are not authorized to perform this operation. Encoded authorization failure message: "
        "<ENCODED MESSAGE>",
        "ec2:RunInstances",
    ),
]


@pytest.mark.parametrize(("line", "action"), REDACTED, ids=range(len(REDACTED)))
def test_redacted_paste_is_still_a_failure(line: str, action: str) -> None:
    """A person's redaction (``{redacted}``, ``<arn>``, ``xxx``) keeps the failure."""
    found = extract_text(line)
    assert len(found) == 1
    assert found[0].action == action or found[0].operation == action.split(":")[1]
