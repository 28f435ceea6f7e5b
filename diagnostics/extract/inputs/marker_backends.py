"""The compiled matchers behind the one-pass marker search, fastest first.

- ``hyperscan`` (PyPI ``hyperscan``, manylinux wheels with Intel's SIMD
  matcher): the literal compiler finds every marker at memory speed;
- ``ahocorasick-rs``: one Aho-Corasick pass, the fallback where the
  hyperscan wheel is missing (musl, other CPUs);
- neither: ``markers.py`` falls back to one ``bytes.find`` pass per marker.

Each returns ``(marker index, start, end)`` for the hits in a buffer, in
ascending order of their lines; ``markers.marker_lines`` turns them into
line starts.  Which one runs is logged once (debug) and shown by
``authz-diag --version``.
"""

from __future__ import annotations

import functools
import importlib.util
import mmap
import threading
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from diagnostics.support.logconfig import debug_wanted, get_logger

#: (pattern index, start, end) triples.
Hits = Sequence[tuple[int, int, int]]
Matcher = Callable[[memoryview], Hits]

#: Preference order, by the import name of each library.
ORDER = (("hyperscan", "hyperscan"), ("ahocorasick-rs", "ahocorasick_rs"))


class Backend(NamedTuple):
    name: str
    find: Matcher | None


def available() -> str:
    """The backend a scan would use, without importing it (for ``--version``)."""
    for name, module in ORDER:
        if importlib.util.find_spec(module) is not None:
            return name
    return "bytes.find"


def _hyperscan(markers: tuple[bytes, ...]) -> Matcher | None:
    try:
        import hyperscan
    except ImportError:
        return None
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    # literal=True: the markers are bytes, not regexes (no escaping, no ReDoS).
    db.compile(
        expressions=list(markers),
        ids=list(range(len(markers))),
        elements=len(markers),
        flags=0,
        literal=True,
    )
    lengths = [len(m) for m in markers]
    # A scratch space is per thread: watch runs sources on several threads.
    local = threading.local()

    def find(data: memoryview) -> Hits:
        scratch = getattr(local, "scratch", None)
        if scratch is None:
            scratch = local.scratch = hyperscan.Scratch(db)
        hits: list[tuple[int, int, int]] = []
        append = hits.append

        def on_match(index: int, _start: int, end: int, _flags: int, _ctx: Any) -> None:
            # Without SOM tracking hyperscan reports the end; a literal's start follows.
            append((index, end - lengths[index], end))

        db.scan(data, match_event_handler=on_match, scratch=scratch)  # type: ignore[type-var]
        return hits

    return find


def _ahocorasick(markers: tuple[bytes, ...]) -> Matcher | None:
    try:
        import ahocorasick_rs
    except ImportError:
        return None
    automaton = ahocorasick_rs.BytesAhoCorasick(
        list(markers), matchkind=ahocorasick_rs.MATCHKIND_LEFTMOST_FIRST
    )
    find: Matcher = automaton.find_matches_as_indexes
    return find


_BUILDERS: dict[str, Callable[[tuple[bytes, ...]], Matcher | None]] = {
    "hyperscan": _hyperscan,
    "ahocorasick-rs": _ahocorasick,
}


@functools.cache
def compiled(markers: tuple[bytes, ...], only: str | None = None) -> Backend:
    """The fastest installed matcher for ``markers`` (or just ``only``), compiled once."""
    for name, _module in ORDER:
        if only is not None and name != only:
            continue
        find = _BUILDERS[name](markers)
        if find is not None:
            if debug_wanted():  # a quiet scan does not import structlog for this
                get_logger(__name__).debug("markers.backend", backend=name)
            return Backend(name, find)
    return Backend("bytes.find", None)


def find_in(find: Matcher, buf: mmap.mmap, lo: int, hi: int) -> Hits:
    """``find`` over ``buf[lo:hi]`` without a copy; the views are released before returning,
    so the map can still be closed (an open export makes ``mmap.close`` raise)."""
    view = memoryview(buf)
    try:
        part = view[lo:hi]
        try:
            return find(part)
        finally:
            part.release()
    finally:
        view.release()
