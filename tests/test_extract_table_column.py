"""A denial wrapped inside the last column of an events table (SAM's CloudFormation events)."""

from __future__ import annotations

import textwrap

from diagnostics.extract import extract_text

PAD = " " * 75
SENTENCE = (
    "User: arn:aws:iam::111122223333:user/developer is not authorized to perform: "
    "iam:CreateRole on resource: arn:aws:iam::111122223333:role/application-role because "
    "no identity-based policy allows the iam:CreateRole action"
)
# How SAM's table wraps the reason column (Python's textwrap at the column's width).
CELLS = textwrap.wrap(SENTENCE, 22)


def _table(cells: list[str]) -> str:
    head = "CREATE_FAILED            AWS::IAM::Role           HelloWorldFunctionRole".ljust(75)
    rows = [head + "API: iam:CreateRole"] + [PAD + c.ljust(22) for c in cells]
    return "\n".join(rows) + "\n"


def test_sentence_in_a_wrapped_column_is_read_whole() -> None:
    """Cells cut inside the principal ARN are glued back; cells cut at a blank get one."""
    (f,) = extract_text(_table(CELLS))
    assert (f.principal_arn, f.action, f.resource, f.policy_type) == (
        "arn:aws:iam::111122223333:user/developer",
        "iam:CreateRole",
        "arn:aws:iam::111122223333:role/application-role",
        "identity",
    )
