"""The Rust SDK's error chain: an unmodelled code is printed as ``unhandled error (CODE)``."""

from __future__ import annotations

from diagnostics.extract import extract_text


def test_unhandled_error_with_a_refusal_code_is_a_failure() -> None:
    """An anyhow/eyre chain naming ``unhandled error (AccessDeniedException)`` gives the refusal."""
    text = (
        "Error: failed to call the service\n"
        "   0: service error\n"
        "   1: unhandled error (AccessDeniedException)\n"
        "   2: service error\n"
    )
    (f,) = extract_text(text)
    assert (f.error_code, f.source.line) == ("AccessDeniedException", 3)


def test_unhandled_error_with_another_code_is_nothing() -> None:
    """``unhandled error (ThrottlingException)`` is no authorization failure."""
    assert extract_text("   1: unhandled error (ThrottlingException)\n") == []
