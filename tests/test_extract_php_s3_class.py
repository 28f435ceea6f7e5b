"""The amazon-s3-php-class library's warning: ``S3::putObject(): [CODE] message``."""

from __future__ import annotations

from diagnostics.extract import extract_text


def test_bracketed_refusal_code_names_the_operation() -> None:
    """``S3::putObject(): [AccessDenied] Access Denied`` is a refusal of PutObject."""
    text = "PHP Warning:  S3::putObject(): [AccessDenied] Access Denied in /srv/S3.php on line 9\n"
    (f,) = extract_text(text)
    assert (f.error_code, f.operation, f.event_source) == ("AccessDenied", "PutObject", "s3")


def test_a_fork_prefix_and_a_list_call() -> None:
    """A fork's class prefix (``UpdraftPlus_S3::``) and getBucket (a listing) are read too."""
    (f,) = extract_text("UpdraftPlus_S3::getBucket(): [AccessDenied] Access Denied\n")
    assert (f.error_code, f.operation) == ("AccessDenied", "ListObjects")


def test_other_codes_give_nothing() -> None:
    """A missing bucket or an unexpected status is no authorization failure."""
    assert extract_text("S3::getObject(): [NoSuchKey] The specified key does not exist.\n") == []
    assert extract_text("S3::putObject(): [403] Unexpected HTTP status\n") == []
