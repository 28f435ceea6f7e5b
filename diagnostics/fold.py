"""Fold repeats of a printed failure into its first occurrence, for ``scan``.

Tools print one denial many times (Packer three times, a retry loop every
few seconds).  ``scan`` reports it once, with how many times it was seen and
where the last one was, in the input order of first occurrences.  That needs
the whole input, so entries wait in a bounded window: when it is full, the
oldest entry leaves it (and is reported) first, which keeps the order, and a
repeat arriving after that is reported again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from diagnostics.model import Failure, SourceRef

#: Distinct failures held at most; like the old de-duplication window.
DEFAULT_WINDOW = 100_000


@dataclass(slots=True)
class Folded:
    """A failure as first seen, how often it was seen, and where the last repeat was."""

    failure: Failure
    occurrences: int = 1
    last_source: SourceRef | None = None


class Folder:
    """``add`` each failure in input order; iterate ``ready`` and, at the end, ``drain``."""

    __slots__ = ("_capacity", "_ready", "_window")

    def __init__(self, capacity: int = DEFAULT_WINDOW) -> None:
        if capacity < 1:
            raise ValueError("the fold window must hold at least one failure")
        self._capacity = capacity
        self._window: OrderedDict[tuple[object, ...], Folded] = OrderedDict()
        self._ready: list[Folded] = []

    def add(self, failure: Failure) -> bool:
        """Fold ``failure`` in; True when it repeats one still in the window."""
        key = failure.dedup_key()
        entry = self._window.get(key)
        if entry is not None:
            entry.occurrences += 1
            entry.last_source = failure.source
            return True
        self._window[key] = Folded(failure)
        if len(self._window) > self._capacity:
            self._ready.append(self._window.popitem(last=False)[1])
        return False

    def ready(self) -> Iterator[Folded]:
        """Entries that left the window, oldest first; each is yielded once."""
        while self._ready:
            yield self._ready.pop(0)

    def drain(self) -> Iterator[Folded]:
        """Everything still held, in first-occurrence order (end of input)."""
        yield from self.ready()
        while self._window:
            yield self._window.popitem(last=False)[1]


def span(first: SourceRef, last: SourceRef | None, occurrences: int) -> str:
    """``seen 37 times, lines 12-9,881`` (or the two places when the inputs differ)."""
    if last is None or occurrences < 2:
        return "seen once"
    seen = f"seen {occurrences:,} times"
    if first.path == last.path and first.line is not None and last.line is not None:
        return f"{seen}, lines {first.line:,}-{last.line:,}"
    return f"{seen}, first {_where(first)}, last {_where(last)}"


def _where(ref: SourceRef) -> str:
    return ref.path if ref.line is None else f"{ref.path}:{ref.line:,}"
