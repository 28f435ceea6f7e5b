"""How the decoder reaches STS: credentials, per-account roles, limits."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field

from diagnostics.errors import ConfigError

# RoleSessionName allows [\w+=,.@-]{2,64} (STS API reference, AssumeRole).
# Linear: one character class.
_SESSION_UNSAFE = re.compile(r"[^\w+=,.@-]")


def default_session_name() -> str:
    """``authz-diag-<hostname>``, so CloudTrail in each account shows who decodes."""
    host = _SESSION_UNSAFE.sub("-", socket.gethostname()) or "host"
    return f"authz-diag-{host}"[:64]


@dataclass(frozen=True, slots=True)
class DecodeSettings:
    """Settings for ``Decoder``.

    ``role_arn_template`` (``arn:aws:iam::{account}:role/AuthzDiagnosticsDecoder``)
    turns on per-account decoding: the role is assumed in the failure's
    account.  ``max_per_second`` caps every HTTP request to STS from this
    process, retries included.  ``endpoint_url`` points at a test double;
    ``assume_role_endpoint_url`` (default: ``endpoint_url``) lets AssumeRole go
    elsewhere, such as moto.
    """

    region: str | None = None
    profile: str | None = None
    role_arn_template: str | None = None
    external_id: str | None = None
    session_name: str = field(default_factory=default_session_name)
    max_per_second: float = 5.0
    concurrency: int = 4
    endpoint_url: str | None = None
    assume_role_endpoint_url: str | None = None
    max_attempts: int = 5
    #: Seconds to connect and to read each STS answer.
    timeout: float = 10.0
    #: botocore retry mode: "adaptive" backs off client-side on throttling.
    retry_mode: str = "adaptive"
    #: Seconds an "invalid or expired" answer stays cached (a positive one: ``cache_ttl``).
    negative_ttl: float = 600.0
    #: Where IAM Access Troubleshooter (iam-toolbox) is reached; a test double.
    toolbox_endpoint_url: str | None = None
    #: When not empty, the only accounts any AWS call is made for (AssumeRole, decode,
    #: iam-toolbox); a failure naming another account is reported undecoded.
    accounts: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.max_per_second <= 0:
            raise ConfigError("max_per_second must be positive")
        if self.concurrency < 1:
            raise ConfigError("concurrency must be at least 1")
        if self.max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1")
        if self.role_arn_template is not None and "{account}" not in self.role_arn_template:
            raise ConfigError(
                "role_arn_template must contain {account}, for example "
                "arn:aws:iam::{account}:role/AuthzDiagnosticsDecoder"
            )
        if not 2 <= len(self.session_name) <= 64 or _SESSION_UNSAFE.search(self.session_name):
            raise ConfigError(
                "session_name must be 2 to 64 characters of letters, digits and +=,.@_-"
            )

    def role_arn_for(self, account: str | None) -> str | None:
        """The decoder role to assume for ``account``; ``None`` means base credentials."""
        if self.role_arn_template is None or not account:
            return None
        return self.role_arn_template.format(account=account)
