"""``type = "file"`` config: the ``[[source]]`` keys, and the source built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

from diagnostics.config import ConfigProblem, key, read_table
from diagnostics.sources.base import SourceContext
from diagnostics.sources.file import FileSource

if TYPE_CHECKING:
    from diagnostics.config.table import ConfigTable
    from diagnostics.sources.settings import SourceConfig


@dataclass(frozen=True, slots=True)
class FileSourceConfig:
    """``[[source]] type = "file"``: log files tailed across rotation."""

    paths: tuple[str, ...] = key(
        (),
        doc="Absolute paths or globs of the files to tail.",
        example='["/var/log/app/*.log"]',
        pattern="/.*",
        pattern_hint="an absolute path (the service's working directory is not yours)",
        default_text="required",
    )
    start_at: Literal["end", "beginning"] = key(
        "end",
        doc='Where a file never seen before is read from; "beginning" reads what it holds.',
        example='"beginning"',
    )
    follow_symlinks: bool = key(
        False,
        doc="Read symlinked files and directories below the fixed part of a glob "
        "(refused and counted by default).",
        example="true",
    )
    rotate_grace: float = key(
        2.0,
        doc="A renamed (rotated) file is read to its end and closed after this long without "
        "growth.",
        example='"2s"',
        unit="duration",
        minimum=0,
    )

    def config_checked(self, given: frozenset[str]) -> FileSourceConfig:
        if not self.paths:
            raise ConfigProblem("key 'paths' is required; e.g. paths = [\"/var/log/app/*.log\"]")
        return self


class _FileType:
    def check(self, table: ConfigTable) -> Mapping[str, Any]:
        cfg = read_table(FileSourceConfig, table.data, table.where, extra=("type", "name"))
        table.used.update(table.data)
        return {f.name: getattr(cfg, f.name) for f in fields(cfg)}

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
