"""Sample STS answers for tests, rule authors and benchmarks.

``decoded_message`` builds a DecodedMessage shaped like the ones STS returns;
``fake_blob`` a deterministic base64url string that looks like an encoded
message.  ``diagnostics.testing.sts_double`` re-exports both.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any


def decoded_message(
    *,
    action: str = "s3:GetObject",
    resource: str = "arn:aws:s3:::example-bucket/key",
    principal_arn: str = "arn:aws:iam::123456789012:user/alice",
    explicit_deny: bool = False,
    conditions: Mapping[str, str | list[str]] | None = None,
) -> dict[str, Any]:
    """A DecodedMessage shaped like the ones STS returns, for tests and benchmarks."""
    account = principal_arn.split(":")[4] if principal_arn.count(":") >= 5 else ""
    given = conditions or {"aws:username": principal_arn.rsplit("/", 1)[-1]}
    items: list[dict[str, Any]] = [
        {"key": "aws:PrincipalAccount", "values": {"items": [{"value": account}]}}
    ]
    for key, value in given.items():
        values = [value] if isinstance(value, str) else list(value)
        items.append({"key": key, "values": {"items": [{"value": v} for v in values]}})
    return {
        "allowed": False,
        "explicitDeny": explicit_deny,
        "matchedStatements": {"items": []},
        "failures": {"items": []},
        "context": {
            "principal": {"id": "AIDAEXAMPLEPRINCIPAL", "arn": principal_arn},
            "action": action,
            "resource": resource,
            "conditions": {"items": items},
        },
    }


def fake_blob(seed: int | str, length: int = 1200) -> str:
    """A deterministic base64url string that looks like an encoded message."""
    out = bytearray()
    counter = 0
    while len(out) * 4 // 3 < length + 4:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return base64.urlsafe_b64encode(bytes(out)).decode().rstrip("=")[:length]
