"""``type = "file"`` config: the ``[[source]]`` keys checked, and the source built."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diagnostics.errors import ConfigError
from diagnostics.sources.base import SourceContext
from diagnostics.sources.file import FileSource

if TYPE_CHECKING:
    from diagnostics.service.config import ConfigTable, SourceConfig


class _FileType:
    def check(self, table: ConfigTable) -> Mapping[str, Any]:
        paths = table.str_list("paths")
        if not paths:
            raise ConfigError(
                f"{table.where}: key 'paths' is required; e.g. paths = [\"/var/log/app/*.log\"]"
            )
        for p in paths:
            if not Path(p).is_absolute():
                raise ConfigError(
                    f"{table.where}: key 'paths' entry {p!r} is relative; use an absolute path "
                    "(the service's working directory is not yours)"
                )
        start_at = table.text("start_at", "end")
        if start_at not in ("end", "beginning"):
            raise ConfigError(f'{table.where}: key \'start_at\' must be "end" or "beginning"')
        return {
            "paths": paths,
            "start_at": start_at,
            "follow_symlinks": table.flag("follow_symlinks", False),
            "rotate_grace": table.duration("rotate_grace", 2.0),
        }

    def create(self, config: SourceConfig, ctx: SourceContext) -> FileSource:
        o = config.options
        return FileSource(
            config.name,
            ctx,
            list(o["paths"]),
            start_at=o["start_at"],
            follow_symlinks=o["follow_symlinks"],
            rotate_grace=o["rotate_grace"],
        )


FILE = _FileType()
