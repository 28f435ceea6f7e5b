"""How the decoder reaches STS: credentials, per-account roles, limits."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field

from diagnostics.config import check_bounds, key
from diagnostics.errors import ConfigError

# RoleSessionName allows [\w+=,.@-]{2,64} (STS API reference, AssumeRole).
# Linear: one character class.
_SESSION_UNSAFE = re.compile(r"[^\w+=,.@-]")

#: Tries per AWS call, the first included: botocore's own default for the
#: standard and adaptive retry modes.  One value for scan and watch (it was 5
#: and 3): a retry spends the shared max_per_second budget, and watch retries
#: an undecoded failure on a later batch anyway.
MAX_ATTEMPTS = 3


def default_session_name() -> str:
    """``authz-diag-<hostname>``, so CloudTrail in each account shows who decodes."""
    host = _SESSION_UNSAFE.sub("-", socket.gethostname()) or "host"
    return f"authz-diag-{host}"[:64]


@dataclass(frozen=True, slots=True)
class DecodeSettings:
    """The ``[decode]`` table: how the decoder and the resolver reach AWS.

    The watch config reads it with ``diagnostics.config.read_table``; the
    ``scan`` command builds it from its flags.  Fields without ``key()`` are
    set by the code, never by a config file.
    """

    enabled: bool = key(
        True,
        doc="Decode encoded authorization messages with STS and ask IAM Access Troubleshooter "
        "for details; false sends nothing to AWS.",
        example="true",
    )
    region: str | None = key(
        None, doc="Region of the STS and iam-toolbox endpoints (default: the environment's).",
        example='"us-east-1"',
    )  # fmt: skip
    profile: str | None = key(
        None, doc="Named AWS profile for the daemon's own credentials.", example='"authz-diag"'
    )
    role_arn_template: str | None = key(
        None,
        doc="Assume this role in the failure's account to decode there; must contain {account}.",
        example='"arn:aws:iam::{account}:role/AuthzDiagnosticsDecoder"',
        pattern=r".*\{account\}.*",
        pattern_hint="a role ARN containing {account}",
    )
    external_id: str | None = key(
        None, doc="ExternalId for AssumeRole; must match the role's trust policy.",
        example='"authz-diag-7f3c"',
    )  # fmt: skip
    session_name: str = field(default_factory=default_session_name)
    max_per_second: float = key(
        5.0,
        doc="Cap on every HTTP request to STS from this process, retries included.",
        example="5",
        minimum=0,
        above=True,
    )
    concurrency: int = key(4, doc="STS calls in flight at once.", example="4", minimum=1)
    endpoint_url: str | None = key(
        None, doc="STS endpoint (a VPC endpoint or a test double).",
        example='"https://sts.us-east-1.amazonaws.com"',
    )  # fmt: skip
    #: Where AssumeRole goes (default: ``endpoint_url``), such as moto in tests.
    assume_role_endpoint_url: str | None = None
    max_attempts: int = key(
        MAX_ATTEMPTS,
        doc="Tries per STS or iam-toolbox call, the first included (botocore's default); "
        "a failure still undecoded is retried on a later batch.",
        example="3",
        minimum=1,
    )
    #: Seconds to connect and to read each STS answer.
    timeout: float = 10.0
    #: botocore retry mode: "adaptive" backs off client-side on throttling.
    retry_mode: str = "adaptive"
    #: Seconds an "invalid or expired" answer stays cached (a positive one: ``cache_ttl``).
    negative_ttl: float = 600.0
    toolbox_endpoint_url: str | None = key(
        None, doc="IAM Access Troubleshooter (iam-toolbox) endpoint, for a VPC endpoint or a "
        "test double.", example='"https://iam-toolbox.us-east-1.amazonaws.com"',
    )  # fmt: skip
    #: When not empty, the only accounts any AWS call is made for (AssumeRole, decode,
    #: iam-toolbox); a failure naming another account is reported undecoded.  The
    #: watch config sets it from ``[alerts] accounts``.
    accounts: frozenset[str] = frozenset()
    batch_deadline: float = key(
        20.0,
        doc="Longest one batch waits for AWS before its failures are alerted undecoded; "
        "keep it below the unit's WatchdogSec (30s).",
        example='"20s"',
        unit="duration",
        minimum=0,
        above=True,
    )

    def __post_init__(self) -> None:
        check_bounds(self)
        if not 2 <= len(self.session_name) <= 64 or _SESSION_UNSAFE.search(self.session_name):
            raise ConfigError(
                "session_name must be 2 to 64 characters of letters, digits and +=,.@_-"
            )

    def role_arn_for(self, account: str | None) -> str | None:
        """The decoder role to assume for ``account``; ``None`` means base credentials."""
        if self.role_arn_template is None or not account:
            return None
        return self.role_arn_template.format(account=account)
