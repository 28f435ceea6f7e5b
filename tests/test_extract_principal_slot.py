"""The principal slot of a denial: a clean ARN, or the text as written, and the account it gives."""

from __future__ import annotations

from diagnostics.extract import extract_text


def test_a_bare_name_ending_in_user_is_kept_as_written() -> None:
    """``User: myUser is not authorized`` keeps ``myUser``: the name's tail is no ``User`` label."""
    (f,) = extract_text(
        "AccessDeniedException: User: myUser is not authorized to perform: ssm:GetParameter"
        " on resource: myResource/myParameter\n"
    )
    assert (f.principal_arn, f.principal_text) == (None, "myUser")
