"""``authz-diag scan``: one pass over files, directories or stdin.

A failure printed many times is reported once with its count, so output
comes in input order of first occurrences when the input ends (or when a
failure leaves the bounded fold window).
"""

from __future__ import annotations

import io
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO

from diagnostics.diagnose.fold import DEFAULT_WINDOW, Folded, Folder, counted
from diagnostics.diagnose.pipeline import DecoderLike, Pipeline
from diagnostics.extract import extract_path, extract_stream, iter_input_files
from diagnostics.model import Diagnosis, Failure, InputStats
from diagnostics.render.streamed import RENDERED, rendered
from diagnostics.run.progress import Progress
from diagnostics.run.scan_plan import auto_jobs, read_size, split_parts
from diagnostics.text.safe import line

if TYPE_CHECKING:
    from diagnostics.rules import RuleSet
    from diagnostics.run.scan_workers import ScanWorkers


@dataclass(slots=True)
class ScanResult:
    """What one scan saw; the CLI turns it into an exit status."""

    stats: InputStats = field(default_factory=InputStats)
    diagnoses: int = 0
    missing_inputs: list[str] = field(default_factory=list)
    #: Diagnoses of the collected formats (``policy``, ``markdown``...), for the caller.
    kept: list[Diagnosis] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        """2 when an input could not be read at all, else 1 when a failure was found, else 0."""
        if self.missing_inputs:
            return 2
        return 1 if self.diagnoses else 0


class WarningPrinter:
    """Prints each input warning once, as soon as the stage that raised it yields."""

    def __init__(self, stream: TextIO, limit: int = 200) -> None:
        self.stream = stream
        self.limit = limit
        self.printed = 0
        self.suppressed = 0

    def drain(self, stats: InputStats) -> None:
        for message in stats.warnings:
            if self.printed < self.limit:
                # Warnings name files and quote input: one escaped line each.
                print(f"authz-diag: warning: {line(message)}", file=self.stream)
                self.printed += 1
            else:
                self.suppressed += 1
        stats.warnings.clear()

    def close(self) -> None:
        if self.suppressed:
            print(
                f"authz-diag: {self.suppressed} more warnings not shown",
                file=self.stream,
            )


@dataclass(slots=True)
class Position:
    """How far the scan is through its inputs, in on-disk bytes (for the progress bar).

    Counting decompressed bytes against file sizes would run past 100% on
    gzip, so a file counts by its size once finished and by what was read
    of it, capped at its size, while it is being read.
    """

    stats: InputStats
    finished: int = 0
    size: int = 0
    start: int = 0

    def begin(self, path: Path) -> None:
        try:
            self.size = path.stat().st_size
        except OSError:
            self.size = 0
        self.start = self.stats.bytes_read

    def end(self) -> None:
        self.finished += self.size
        self.size = 0

    def done(self) -> int:
        return self.finished + min(self.stats.bytes_read - self.start, self.size)


def planned_bytes(inputs: Sequence[str]) -> int | None:
    """The on-disk size of everything ``inputs`` names, or None when stdin is one of them."""
    planned = plan(inputs)
    return planned[1] if planned is not None else None


def plan(inputs: Sequence[str]) -> tuple[int, int, int] | None:
    """(files, on-disk bytes, ``read_size`` bytes) of what ``inputs`` name; None for stdin."""
    if "-" in inputs:
        return None
    count = size = work = 0
    for name in inputs:
        path = Path(name)
        files = iter_input_files(path, InputStats()) if path.is_dir() else iter([path])
        for file in files:
            try:
                size += file.stat().st_size
            except OSError:
                continue
            count += 1
            work += read_size(file)
    return count, size, work


def _only_file(inputs: Sequence[str]) -> Path | None:
    """The first file ``inputs`` name (named alone or in a directory); plan() counted one."""
    for name in inputs:
        path = Path(name)
        files = iter_input_files(path, InputStats()) if path.is_dir() else iter([path])
        for file in files:
            if file.is_file():
                return file
    return None


def _workers(
    inputs: Sequence[str], jobs: int | None, ruleset: RuleSet | None
) -> ScanWorkers | None:
    """Worker processes for this scan: ``jobs`` of them, or as ``auto_jobs`` decides for None."""
    if jobs == 1 or inputs == ["-"]:
        return None  # no walk of the tree to plan what one process does anyway
    planned = plan(inputs)
    if jobs is None:
        jobs = auto_jobs(planned[0], planned[2]) if planned is not None else 1
        if jobs < 2:
            return None
    # One file is read here, unless it is big enough to cut: a worker could only wait for it.
    only = _only_file(inputs) if planned is not None and planned[0] == 1 else None
    one_file = (
        planned is not None
        and planned[0] < 2
        and not (only is not None and split_parts(only, jobs) > 1)
    )
    from diagnostics.run.scan_workers import ScanWorkers

    return ScanWorkers.start(jobs, ruleset, extract=not one_file)


def iter_failures(
    inputs: Sequence[str],
    stats: InputStats,
    result: ScanResult,
    warnings: WarningPrinter,
    stdin: BinaryIO,
    *,
    position: Position | None = None,
    workers: ScanWorkers | None = None,
) -> Iterator[Failure]:
    """Every failure in every input, in input order (files extracted by ``workers`` if given)."""
    position = position if position is not None else Position(stats)
    for name in inputs:
        if name == "-":
            stats.files += 1
            yield from extract_stream(stdin, "-", stats)
            warnings.drain(stats)
            continue
        path = Path(name)
        if path.is_dir():
            files: Iterator[Path] = iter_input_files(path, stats)
        elif path.exists():
            files = iter([path])
        else:
            result.missing_inputs.append(name)
            print(
                f"authz-diag: error: {line(name)}: no such file or directory; check the path",
                file=warnings.stream,
            )
            continue
        found = 0
        done = (
            workers.files(files, stats)
            if workers is not None and workers.extract
            else ((f, None, None) for f in files)
        )
        for file, failures, file_stats in done:
            found += 1
            position.begin(file)
            if failures is None:
                yield from extract_path(file, stats)
            else:
                yield from failures
                if file_stats is not None:  # None: a split file, counted range by range
                    stats.add(file_stats)
            position.end()
            if workers is not None:
                stats.warnings.extend(workers.warnings)
                workers.warnings.clear()
            warnings.drain(stats)
        if not found:
            # A typo'd or not-yet-synced directory must not look like a clean bill of health.
            stats.warnings.append(
                f"{name}: no files to scan in this directory (empty, or only skipped entries); "
                "check the path"
            )
            warnings.drain(stats)


def folded(
    failures: Iterator[Failure], stats: InputStats, window: int = DEFAULT_WINDOW
) -> Iterator[Folded]:
    """Each distinct failure once, with its repeat count (Packer prints each error three times).

    Retries with different blobs are distinct failures.  Output waits for the
    end of input, or for an entry to leave the bounded window.
    """
    folder = Folder(window)
    for failure in failures:
        if folder.add(failure):
            stats.duplicates += 1
        else:
            stats.failures += 1
        yield from folder.ready()
    yield from folder.drain()


def _with_repeats(diagnoses: Iterable[Diagnosis], entries: deque[Folded]) -> Iterator[Diagnosis]:
    """Attach each fold's count; the pipeline keeps input order, so entries pair in order."""
    for diagnosis in diagnoses:
        entry = entries.popleft()
        yield counted(diagnosis, entry.occurrences, entry.last_source)


def run_scan(
    inputs: Sequence[str],
    *,
    ruleset: RuleSet | None,
    decoder: DecoderLike | None,
    fmt: str,
    out: BinaryIO,
    err: TextIO,
    stdin: BinaryIO | None = None,
    transform: Callable[[Diagnosis], Diagnosis] | None = None,
    jobs: int | None = 1,
    found: Callable[[InputStats, list[str]], Iterator[Failure]] | None = None,
) -> tuple[ScanResult, list[Diagnosis]]:
    """Scan ``inputs`` and stream ``text``/``json`` output; ``policy`` output is returned.

    ``jobs``: worker processes for a tree of files (``scan_workers``); None
    lets the size of the input decide, 1 keeps the scan in this process.
    ``found``: failures from elsewhere (``--cloudtrail-lookup``) instead of ``inputs``;
    it names what it could not read in the list it is given (exit status 2).
    """
    result = ScanResult()
    warnings = WarningPrinter(err)
    position = Position(result.stats)
    # Forked now, before the progress and decoder threads start.
    workers = _workers(inputs, jobs, ruleset) if found is None else None
    failures = (
        iter_failures(
            inputs,
            result.stats,
            result,
            warnings,
            stdin if stdin is not None else sys.stdin.buffer,
            position=position,
            workers=workers,
        )
        if found is None
        else found(result.stats, result.missing_inputs)
    )
    progress = Progress(
        result.stats,
        err,
        total=planned_bytes(inputs) if err.isatty() and found is None else None,
        done=position.done,
        shares_terminal_with=out,
    )

    def write(chunk: bytes) -> None:
        progress.hold()
        try:
            out.write(chunk)
            out.flush()
        finally:
            progress.release()

    try:
        with progress:
            if workers is not None and decoder is None and transform is None and fmt in RENDERED:
                # Diagnosis is the same pure function in every process: workers render.
                for count, chunk in workers.render(folded(failures, result.stats), fmt):
                    result.diagnoses += count
                    write(chunk)
            else:
                for diagnosis in _diagnosed(failures, result, ruleset, decoder, transform):
                    result.diagnoses += 1
                    if fmt in RENDERED:
                        write(rendered(diagnosis, result.diagnoses, fmt))
                    else:
                        result.kept.append(diagnosis)
    finally:
        if workers is not None:
            workers.close()
            result.stats.warnings.extend(workers.warnings)
    warnings.drain(result.stats)
    warnings.close()
    return result, result.kept


def _diagnosed(
    failures: Iterator[Failure],
    result: ScanResult,
    ruleset: RuleSet | None,
    decoder: DecoderLike | None,
    transform: Callable[[Diagnosis], Diagnosis] | None,
) -> Iterator[Diagnosis]:
    """Each distinct failure diagnosed in this process, with its repeat count."""
    pipeline = Pipeline(ruleset, decoder)
    entries: deque[Folded] = deque()

    def distinct() -> Iterator[Failure]:
        for entry in folded(failures, result.stats):
            entries.append(entry)  # before the pipeline can diagnose it
            yield entry.failure

    diagnoses: Iterator[Diagnosis] = _with_repeats(pipeline.diagnose(distinct()), entries)
    return map(transform, diagnoses) if transform is not None else diagnoses


def scan(
    inputs: Sequence[str],
    *,
    ruleset: RuleSet | None,
    decoder: DecoderLike | None = None,
    err: TextIO | None = None,
    stdin: BinaryIO | None = None,
) -> tuple[ScanResult, list[Diagnosis]]:
    """Scan ``inputs`` without printing and return the diagnoses ``run_scan`` would print.

    For tests, benchmarks and library users; input warnings go to ``err``
    (stderr by default).
    """
    return run_scan(
        inputs,
        ruleset=ruleset,
        decoder=decoder,
        fmt="policy",
        out=io.BytesIO(),
        err=err if err is not None else sys.stderr,
        stdin=stdin,
    )
