"""``[[source]] type = "s3"``: checking the table and creating the source."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from diagnostics.errors import ConfigError
from diagnostics.sources import aws_common
from diagnostics.sources.cloudtrail_layout import ACCOUNT, REGION
from diagnostics.sources.s3 import S3Source

if TYPE_CHECKING:
    from diagnostics.config.table import ConfigTable
    from diagnostics.sources.base import SourceContext
    from diagnostics.sources.settings import SourceConfig

# Linear: anchored, fixed width.
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def check_since(table: ConfigTable) -> str | None:
    since = table.text("since")
    if since is not None:
        if not _DAY.match(since):
            raise ConfigError(f"{table.where}: key 'since' must be a date like \"2024-05-01\"")
        try:
            date.fromisoformat(since)
        except ValueError:
            raise ConfigError(f"{table.where}: key 'since' {since!r} is not a real date") from None
    return since


def _positive(table: ConfigTable, key: str, default: float) -> float:
    value = table.duration(key, default)
    if value <= 0:
        raise ConfigError(f'{table.where}: key {key!r} must be above 0s, e.g. "60s"')
    return value


class _S3Type:
    def check(self, table: ConfigTable) -> Mapping[str, Any]:
        bucket = table.required_str("bucket", 'e.g. bucket = "org-cloudtrail-logs"')
        if "/" in bucket or bucket.startswith("s3:"):
            raise ConfigError(
                f"{table.where}: key 'bucket' {bucket!r} must be a bare bucket name; "
                "put the path in 'prefix'"
            )
        prefix = table.text("prefix", "") or ""
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        accounts = table.str_list("accounts")
        bad = [a for a in accounts if not ACCOUNT.fullmatch(a)]
        if bad:
            raise ConfigError(f"{table.where}: key 'accounts' entry {bad[0]!r} is not 12 digits")
        regions = table.str_list("regions")
        bad = [r for r in regions if not REGION.fullmatch(r)]
        if bad:
            raise ConfigError(
                f"{table.where}: key 'regions' entry {bad[0]!r} is not a region like 'us-east-1'"
            )
        return {
            "bucket": bucket,
            "prefix": prefix,
            "aws": aws_common.check_aws_options(table),
            "accounts": frozenset(accounts),
            "regions": frozenset(regions),
            "since": check_since(table),
            "poll_interval": _positive(table, "poll_interval", 60.0),
            "max_object_bytes": table.integer(
                "max_object_bytes", aws_common.DEFAULT_MAX_OBJECT_BYTES, minimum=1024
            ),
        }

    def create(self, config: SourceConfig, ctx: SourceContext) -> S3Source:
        return S3Source(config.name, ctx, **dict(config.options))


S3 = _S3Type()
