"""Source types by their ``[[source]] type`` name.

Each type lives in its own module and is imported only when listed here, so
adding S3, SQS or CloudWatch Logs is one module plus one line.
"""

from __future__ import annotations

import importlib
from functools import cache

from diagnostics.sources.base import SourceType

#: type name -> "module:attribute" of an object implementing ``SourceType``.
_BUILTIN: dict[str, str] = {
    "file": "diagnostics.sources.file_config:FILE",
    "cloudtrail_dir": "diagnostics.sources.cloudtrail_dir:CLOUDTRAIL_DIR",
    "stdin": "diagnostics.sources.stdin:STDIN",
    "socket": "diagnostics.sources.unix_socket:SOCKET",
    "s3": "diagnostics.sources.s3_config:S3",
    "sqs": "diagnostics.sources.sqs:SQS",
    "cloudwatch_logs": "diagnostics.sources.cloudwatch_logs:CLOUDWATCH_LOGS",
    "cloudtrail_lookup": "diagnostics.sources.cloudtrail_lookup:CLOUDTRAIL_LOOKUP",
}
_EXTRA: dict[str, str] = {}


def register_source_type(name: str, target: str) -> None:
    """Add a source type (``target`` is ``"package.module:ATTRIBUTE"``)."""
    _EXTRA[name] = target
    source_types.cache_clear()


@cache
def source_types() -> dict[str, SourceType]:
    out: dict[str, SourceType] = {}
    for name, target in {**_BUILTIN, **_EXTRA}.items():
        module, _, attr = target.partition(":")
        out[name] = getattr(importlib.import_module(module), attr)
    return out
