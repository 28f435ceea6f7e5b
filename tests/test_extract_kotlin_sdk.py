"""The Kotlin SDK's message for a service error with no message of its own (smithy-kotlin)."""

from __future__ import annotations

from diagnostics.extract import extract_text

HEAD_403 = (
    "Download error : aws.sdk.kotlin.services.s3.model.S3Exception: Service returned error code "
    "403: Forbidden, Error type: Unknown, Protocol response: HTTP 403 Forbidden, "
    "Request ID: 77Z6MWJM9PHWGK0D\n"
)


def test_bodiless_403_is_a_refusal_with_the_service_of_its_class() -> None:
    """``Service returned error code ...`` with ``Protocol response: HTTP 403`` is a refusal."""
    (f,) = extract_text(HEAD_403)
    assert (f.event_source, f.principal_arn) == ("s3", None)


def test_another_status_is_nothing() -> None:
    """The same words with ``HTTP 404 Not Found`` are no authorization failure."""
    text = HEAD_403.replace("403: Forbidden", "404: Not Found").replace(
        "HTTP 403 Forbidden", "HTTP 404 Not Found"
    )
    assert extract_text(text) == []
