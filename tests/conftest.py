"""Suite-wide hygiene: no test may reach real AWS or read the developer's credentials."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

_AWS_VARS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
)


@pytest.fixture(autouse=True)
def _isolated_aws_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Strip credentials, point config files at nothing, and never ask instance metadata."""
    for name in _AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path_factory.getbasetemp() / "no-aws-config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    # The instance metadata service is a link-local address: never a test target.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(autouse=True)
def _structlog_per_test(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A test that runs ``cli.main`` or ``watch`` in-process configures structlog for itself only.

    The CLI configures structlog process-wide, printing to the ``sys.stderr`` of
    that moment and caching each logger on first use; left alone, a later test's
    ``capture_logs`` sees nothing and its output goes to a closed capture.
    Loggers are not cached in tests, and the defaults come back after each one.
    """
    import structlog

    real = structlog.configure

    def configure(**settings: Any) -> None:
        settings["cache_logger_on_first_use"] = False
        real(**settings)

    monkeypatch.setattr(structlog, "configure", configure)
    yield
    structlog.reset_defaults()
