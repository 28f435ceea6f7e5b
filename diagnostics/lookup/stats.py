"""Counters of one lookup client, shared by STS decoding and iam-toolbox resolving."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

Counter = Literal["calls", "cache_hits", "answered", "skipped", "pages", "documents"]


@dataclass(slots=True)
class LookupStats:
    """Read them; the lookup updates them under ``lock``."""

    #: Remote lookups started (each may retry inside botocore).
    calls: int = 0
    cache_hits: int = 0
    #: Lookups AWS answered.
    answered: int = 0
    #: Failures that needed no call (already decoded, no blob or ID).
    skipped: int = 0
    #: Extra requests one lookup made (iam-toolbox pages and policy documents).
    pages: int = 0
    documents: int = 0
    #: Failed lookups by kind (``lookup.errors`` constants and the client's own).
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: Counter, count: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + count)

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1

    # The names each client's callers know.
    @property
    def decoded(self) -> int:
        return self.answered

    @property
    def resolved(self) -> int:
        return self.answered

    @property
    def resolves(self) -> int:
        return self.calls
