"""CloudWatch Logs words a refusal with the account and the operation, not an IAM action."""

from __future__ import annotations

from diagnostics.extract import extract_text

SENTENCE = (
    "User with accountId: 111122223333 is not authorized to perform CreateLogGroup with Tags "
    "(Service: CloudWatchLogs, Status Code: 400, Request ID: 72c1fa9c-01d6-41c3-9366-a54cb0626a9a)"
)


def test_account_only_refusal_gives_the_account_and_the_operation() -> None:
    """``User with accountId: N is not authorized to perform CreateLogGroup`` is a refusal."""
    (f,) = extract_text(f'Resource handler returned message: "{SENTENCE}"\n')
    assert (f.account_id, f.operation, f.principal_arn) == ("111122223333", "CreateLogGroup", None)


def test_runs_of_blanks_from_a_pasted_page_do_not_hide_it() -> None:
    """The same sentence with runs of blanks (an HTML paste) is still read."""
    (f,) = extract_text(SENTENCE.replace(" to perform", "   to perform") + "\n")
    assert f.operation == "CreateLogGroup"
