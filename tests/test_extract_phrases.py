"""Generated plain messages: every principal, action, resource form and reason, in every wrapper.

Hypothesis composes the sentence AWS prints from its parts and wraps it the
way tools do (CLI prefix, JSON string, Terraform box, ANSI colour, CRLF); the
extractor must give back exactly the parts that went in.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.extract import extract_text

ACCOUNT = "123456789012"
PRINCIPALS = [
    f"arn:aws:iam::{ACCOUNT}:user/deploy",
    f"arn:aws:iam::{ACCOUNT}:user/division_abc/subdivision_xyz/JaneDoe",
    f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-runner/gh-run-4711",
    f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/jane@example.com",
    f"arn:aws:iam::{ACCOUNT}:root",
    f"arn:aws:sts::{ACCOUNT}:federated-user/alice",
    f"arn:aws-cn:iam::{ACCOUNT}:user/ops",
]
ACTIONS = [
    "s3:GetObject",
    "ec2:RunInstances",
    "iam:PassRole",
    "kms:Decrypt",
    "execute-api:Invoke",
    "sqs:sendmessage",
    "dynamodb:query",
    "SNS:Publish",
    "dynamodb:BatchWriteItem",
]
#: The spelling the failure reports for actions not written canonically.
CANONICAL = {
    "sqs:sendmessage": "sqs:SendMessage",
    "dynamodb:query": "dynamodb:Query",
    "SNS:Publish": "sns:Publish",
}
RESOURCES = [
    None,
    f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/*",
    "arn:aws:s3:::bucket-name/key with spaces.txt",
    f"arn:aws:iam::{ACCOUNT}:role/service-role/app",
    f"arn:aws:kms:us-east-2:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
]
#: (reason text with {a} for the action, policy_type, explicit_deny)
REASONS = [
    ("", None, None),
    (" because no identity-based policy allows the {a} action", "identity", False),
    (" because no resource-based policy allows the {a} action", "resource", False),
    (" because no session policy allows the {a} action", "session", False),
    (" because no permissions boundary allows the {a} action", "permissions_boundary", False),
    (" because no VPC endpoint policy allows the {a} action", "vpc_endpoint", False),
    (" because no service control policy allows the {a} action", "scp", False),
    (" with an explicit deny in an identity-based policy", "identity", True),
    (" with an explicit deny in a resource-based policy", "resource", True),
    (" with an explicit deny in a sessions policy", "session", True),
    (" with an explicit deny in a permissions boundary", "permissions_boundary", True),
    (" with an explicit deny in a VPC endpoint policy", "vpc_endpoint", True),
    (" with an explicit deny in a service control policy", "scp", True),
    (" with an explicit deny in a resource control policy", "rcp", True),
    (" with an explicit deny in the role trust policy", "trust", True),
]
POLICY_ARNS = [
    None,
    f"arn:aws:iam::{ACCOUNT}:policy/DenyProdWrites",
    "arn:aws:organizations::111111111111:policy/o-a1b2c3d4e5/service_control_policy/p-abcd1234",
]


def _json_wrap(s: str) -> str:
    return json.dumps({"level": "error", "msg": "request failed", "error": s})


WRAPPERS = {
    "bare": lambda s: s,
    "cli": lambda s: f"An error occurred (AccessDenied) when calling the Op operation: {s}",
    "cli-v2": lambda s: (
        f"aws: [ERROR]: An error occurred (AccessDenied) when calling the Op operation: {s}"
    ),
    "json": _json_wrap,
    "box": lambda s: f"╷\n│ Error: {s}\n│ \n╵",
    "ansi": lambda s: f"\x1b[1m\x1b[31mError: \x1b[0m\x1b[0m\x1b[1m{s}\x1b[0m",
    "crlf": lambda s: f"step 3 failed\r\n{s}\r\ndone\r",
    "quoted": lambda s: f'Resource handler returned message: "{s} (Service: X, Status Code: 403)"',
}


@settings(max_examples=300, deadline=None)
@given(
    principal=st.sampled_from(PRINCIPALS),
    action=st.sampled_from(ACTIONS),
    resource=st.sampled_from(RESOURCES),
    reason=st.sampled_from(REASONS),
    policy_arn=st.sampled_from(POLICY_ARNS),
    wrapper=st.sampled_from(sorted(WRAPPERS)),
)
def test_generated_plain_message(
    *,
    principal: str,
    action: str,
    resource: str | None,
    reason: tuple[str, str | None, bool | None],
    policy_arn: str | None,
    wrapper: str,
) -> None:
    """Each generated sentence gives one plain failure with exactly its own parts."""
    text, policy_type, explicit = reason
    quoted = resource is not None and resource.startswith("arn:aws:s3")
    sentence = f"User: {principal} is not authorized to perform: {action}"
    if resource is not None:
        sentence += f' on resource: "{resource}"' if quoted else f" on resource: {resource}"
    sentence += text.format(a=action)
    if policy_arn is not None and explicit:
        sentence += f": {policy_arn}"
    found = extract_text(WRAPPERS[wrapper](sentence) + "\n")
    assert len(found) == 1, found
    f = found[0]
    want = CANONICAL.get(action, action)
    assert (f.kind, f.principal_arn, f.action) == ("plain", principal, want)
    assert f.account_id == ACCOUNT
    assert f.resource == resource
    assert (f.policy_type, f.explicit_deny) == (policy_type, explicit)
    assert f.policy_arn == (policy_arn if explicit else None)
    expected_region = resource.split(":")[3] if resource and resource.split(":")[3] else None
    assert f.region == expected_region


BLOB_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _fold(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)]


@settings(max_examples=200, deadline=None)
@given(
    blob=st.text(BLOB_ALPHABET, min_size=500, max_size=3000),
    style=st.sampled_from(["fixed", "backslash", "after-phrase", "indented", "one-line"]),
    width=st.integers(min_value=60, max_value=240),
    prefix=st.sampled_from(["", "│ ", "2024-06-11T08:21:44.512Z ", "    "]),
)
def test_generated_wrapped_blob(blob: str, style: str, width: int, prefix: str) -> None:
    """A blob wrapped the way terminals and tools wrap it is joined back exactly."""
    head = f"{prefix}Error: UnauthorizedOperation: Encoded authorization failure message: "
    if style == "fixed":  # a terminal's hard wrap: every row exactly `width` wide
        lines = _fold(head + blob, width)
    elif style == "backslash":
        lines = [head + blob[:width]] + [piece for piece in _fold(blob[width:], width) if piece]
        lines = [line + "\\" for line in lines[:-1]] + lines[-1:]
    elif style == "after-phrase":  # the blob on its own lines, broken every 76 characters
        lines = [head.rstrip(), *_fold(blob, 76)]
    elif style == "indented":
        lines = [head + blob[:width]] + [f"{prefix}    {p}" for p in _fold(blob[width:], width)]
    else:
        lines = [head + blob]
    text = "\n".join(line for line in lines if line) + "\n\tstatus code: 403, request id: 1\n"
    found = [f for f in extract_text(text) if f.kind == "encoded"]
    assert [f.encoded_message for f in found] == [blob]
    assert not found[0].truncated
    assert found[0].source.line == 1


def test_plain_hits_memo_stays_bounded_and_returns_fresh_lists() -> None:
    """Asking about many lines keeps the memo small; a caller changing its list changes nothing."""
    from diagnostics.extract.parsers import plain

    line = (
        "User: arn:aws:iam::111122223333:user/u{n} is not authorized to perform: "
        "s3:GetObject on resource: arn:aws:s3:::b{n}/k because no identity-based policy "
        "allows the s3:GetObject action"
    )
    for n in range(200):
        hits = plain.find_plain(line.format(n=n))
        assert [h.resource for h in hits] == [f"arn:aws:s3:::b{n}/k"]
        hits.clear()
        assert len(plain.find_plain(line.format(n=n))) == 1
        assert len(plain._memo) <= plain._MEMO_ENTRIES
    huge = line.format(n=1) + " " + "x" * plain._MEMO_TEXT
    plain._memo.clear()
    assert len(plain.find_plain(huge)) == 1 and not plain._memo
