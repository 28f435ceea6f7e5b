"""One big file read as several byte ranges (by scan workers), then put back together.

``file_ranges`` says where a file may be cut (``split.py``), ``extract_range``
reads one range as ``extract_path`` reads that part of the whole file, with
line numbers counted from the range's first line and warnings kept for the
caller, and ``Lines`` turns those into what one pass over the file gives:
failures on the file's own line numbers, at most ``MAX_WARNINGS_PER_KIND``
warnings of a kind for the whole file.
"""

from __future__ import annotations

import dataclasses
import mmap
import operator
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from diagnostics.extract.inputs.files import _feed_mapped, describe_error, read_as_lines
from diagnostics.extract.inputs.mapped import KnownLines, mapped
from diagnostics.extract.inputs.scanner import MAX_WARNINGS_PER_KIND, Extractor, Warned
from diagnostics.extract.inputs.split import safe_cuts
from diagnostics.model import Failure, InputStats, SourceRef

#: Bytes searched ahead, and read behind before their pages are let go, per
#: range: several workers each hold this much of the file in their RSS.
RANGE_WINDOW = 2 << 20

#: Every field of a failure, in the order its constructor takes them.
_FAILURE_FIELDS = operator.attrgetter(*(f.name for f in dataclasses.fields(Failure)))
_SOURCE_AT = [f.name for f in dataclasses.fields(Failure)].index("source")


def file_ranges(path: Path, parts: int) -> list[int] | None:
    """Bounds ``[0, c1, ..., size]`` of up to ``parts`` ranges, or None to read it whole.

    None also when the file is not read as plain lines through a map
    (gzip, UTF-16, binary, a JSON document, written to just now) or cannot
    be opened: ``extract_path`` then reads it, and says what is wrong.
    """
    try:
        with path.open("rb") as fh:
            if not read_as_lines(fh):
                return None
            mm = mapped(fh)
            if mm is None:
                return None
            with mm:
                bounds = safe_cuts(mm, parts)
    except OSError:
        return None
    return bounds if len(bounds) > 2 else None


@dataclass(slots=True)
class Recorded:
    """A range's warnings as (kind, line in the range, message); what a file shows of each kind."""

    items: list[tuple[str, int | None, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def __call__(self, kind: str, line: int | None, message: str) -> None:
        count = self.counts.get(kind, 0) + 1
        self.counts[kind] = count
        # The file shows its first MAX of a kind and says there were more: no range needs more.
        if count <= MAX_WARNINGS_PER_KIND + 1:
            self.items.append((kind, line, message))


def extract_range(
    path: Path,
    start: int,
    end: int,
    stats: InputStats,
    warn: Recorded,
    *,
    max_line_bytes: int = 1 << 20,
) -> Iterator[Failure]:
    """Failures in ``path``'s bytes ``[start, end)`` (cut by ``file_ranges``), lines from 1."""
    name = str(path)
    try:
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            end = min(end, len(mm))
            known = KnownLines(mm, max_line_bytes, window=RANGE_WINDOW, start=start, end=end)
            extractor = Extractor(
                name,
                stats=stats,
                max_line_bytes=max_line_bytes,
                known=known,
                base=start,
                warn=warn,
            )
            yield from _feed_mapped(extractor, mm, start, end, drop_every=RANGE_WINDOW)
            yield from extractor.finish()
    except (OSError, ValueError) as exc:  # ValueError: the file shrank to nothing
        stats.rejected += 1
        stats.warnings.append(
            f"{name}: read failed ({describe_error(exc)}); "
            "what was read before it was still searched"
        )


class Lines:
    """A split file's ranges, taken in order, on the file's own line numbers."""

    def __init__(self, path: Path, stats: InputStats) -> None:
        self.before = 0  # lines in the ranges already taken
        self._warned = Warned(str(path), stats)

    def failures(self, failures: Iterable[Failure]) -> Iterator[Failure]:
        """``failures`` of the next range, numbered as in the whole file."""
        if not self.before:
            yield from failures
        else:
            for failure in failures:
                yield _shifted(failure, self.before)

    def take(self, stats: InputStats, warnings: Recorded) -> None:
        """After the range's failures: its warnings (each kind capped for the file), its lines."""
        for kind, line, message in warnings.items:
            self._warned(kind, line + self.before if line is not None else None, message)
        self.before += stats.lines


def _shifted(failure: Failure, lines: int) -> Failure:
    source = failure.source
    if source.line is None:
        return failure
    # As unpickling builds them (model.py's __reduce__): a fifth of dataclasses.replace's time.
    fields = list(_FAILURE_FIELDS(failure))
    fields[_SOURCE_AT] = SourceRef(
        source.path, source.line + lines, source.offset, source.event_id, source.rotated_from
    )
    return Failure(*fields)
