"""The public shell of a lookup client: its core, counters, close, and ``with`` support."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from diagnostics.lookup.engine import Lookup
from diagnostics.lookup.stats import LookupStats


class LookupHandle:
    """Base of ``Decoder`` and ``Resolver``: each sets ``core`` in its ``__init__``."""

    core: Lookup

    @property
    def stats(self) -> LookupStats:
        return self.core.stats

    def close(self) -> None:
        self.core.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
