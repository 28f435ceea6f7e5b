"""Terraform's state errors on its S3 backend, pasted down to the bare AWS error code."""

from __future__ import annotations

from diagnostics.extract import extract_text


def test_refreshing_state_with_only_the_code_is_a_refusal() -> None:
    """``Error refreshing state: AccessDenied`` (the Go SDK's message left out) is found."""
    (f,) = extract_text("Error refreshing state: AccessDenied\n")
    assert (f.error_code, f.action) == ("AccessDenied", None)


def test_state_lock_error_message_and_a_word_glued_on_by_a_flattened_page() -> None:
    """The lock's ``Error message: AccessDenied`` is found even with the next word glued on."""
    text = "Error acquiring the state lock: Error message: AccessDeniedOr during an apply:\n"
    (f,) = extract_text(text)
    assert f.error_code == "AccessDenied"


def test_other_codes_and_other_prefixes_give_nothing() -> None:
    """A non-refusal code after Terraform's words, or a bare code in prose, is no failure."""
    assert extract_text("Error refreshing state: NoSuchBucket\n") == []
    assert extract_text("Error refreshing state: AccessDeniedly slow\n") == []
    assert extract_text("We saw AccessDenied once\n") == []
