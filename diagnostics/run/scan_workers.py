"""``scan`` of a tree of files on several cores: extraction and diagnosis in worker processes.

The scan's order-sensitive stage stays in the parent, so output is byte for
byte what one process writes (tests hold ``--jobs 2`` to ``--jobs 1``):

- Each file is extracted by a worker.  The parent takes the results file by
  file in input order, so the repeat fold (sequential, and cheap) sees the
  same stream of failures as in one process.
- When no decoder and no transform take part, the distinct failures the fold
  releases go back to the workers in chunks, with their output numbers and
  repeat counts; workers diagnose and render them, and the parent writes the
  chunks in order.  Decoding stays in the parent: STS's rate limit and the
  decode cache are one per scan.

Workers are forked, and only while the parent runs no other thread (a fork
taken while another thread holds a lock can deadlock the child); otherwise
the scan runs in one process.  At most ``IN_FLIGHT`` tasks per worker are
queued; a big file, or one that yields more than ``MAX_TASK_FAILURES``
failures, is extracted by the parent itself (as it comes in input order), so
neither side holds much more than the fold window would.  A worker that
dies (killed, out of memory) breaks the pool: the scan says so and finishes
in the parent from the first file or chunk not done.
"""

from __future__ import annotations

import itertools
import multiprocessing
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diagnostics.diagnose.fold import Folded, counted
from diagnostics.diagnose.pipeline import Pipeline
from diagnostics.extract import extract_path
from diagnostics.extract.inputs.ranges import Lines, Recorded, extract_range, file_ranges
from diagnostics.model import Failure, InputStats, SourceRef
from diagnostics.render.streamed import rendered
from diagnostics.run.scan_plan import MAX_TASK_BYTES, read_size, split_parts

if TYPE_CHECKING:
    from diagnostics.rules import RuleSet

#: Tasks queued per worker: enough to keep it busy, few enough to bound memory.
IN_FLIGHT = 2
#: A file with more failures than this is extracted by the parent instead.
MAX_TASK_FAILURES = 10_000
#: Distinct failures diagnosed per task.
CHUNK = 128
#: Verdicts a worker remembers: the parent already folded the repeats, so a
#: worker's memo rarely hits, and each of its entries holds whole findings.
WORKER_MEMO = 256

BROKEN = (
    "a scan worker process died (killed, or out of memory?); "
    "the scan goes on in one process (--jobs 1 avoids workers)"
)

#: (output number, failure, occurrences, last source): a diagnosis task's item.
Item = tuple[int, Failure, int, SourceRef | None]

# Worker-side state, set by ``_start`` in each forked worker.
_worker: dict[str, object] = {}


def render_items(pipeline: Pipeline, items: list[Item], fmt: str) -> bytes:
    """What ``scan`` writes for these distinct failures, in order (workers and fallback)."""
    diagnoses = pipeline.diagnose(item[1] for item in items)
    return b"".join(
        rendered(counted(diagnosis, occurrences, last), number, fmt)
        for (number, _failure, occurrences, last), diagnosis in zip(items, diagnoses, strict=True)
    )


def _start(ruleset: RuleSet | None) -> None:
    # Ctrl-C reaches the whole process group: the parent alone decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker["pipeline"] = Pipeline(ruleset, None, memo_size=WORKER_MEMO)


def _extract_task(path: str) -> tuple[list[Failure] | None, InputStats]:
    stats = InputStats()
    failures: list[Failure] = []
    for failure in extract_path(Path(path), stats):
        failures.append(failure)
        if len(failures) > MAX_TASK_FAILURES:
            return None, InputStats()  # the parent reads this one itself
    return failures, stats


#: A range's failures, counters and warnings, as ``extract_range`` gives them.
RangeResult = tuple[list[Failure], InputStats, Recorded]


def _range_task(path: str, start: int, end: int) -> RangeResult | None:
    stats = InputStats()
    warn = Recorded()
    failures: list[Failure] = []
    for failure in extract_range(Path(path), start, end, stats, warn):
        failures.append(failure)
        if len(failures) > MAX_TASK_FAILURES:
            return None  # the parent reads this range itself
    return failures, stats, warn


def _diagnose_task(items: list[Item], fmt: str) -> bytes:
    pipeline = _worker["pipeline"]
    assert isinstance(pipeline, Pipeline)
    return render_items(pipeline, items, fmt)


@dataclass(slots=True)
class _Task:
    """A file (or one range of it) handed to a worker; no future: the parent reads it."""

    path: Path
    future: Future[Any] | None
    bounds: tuple[int, int] | None = None
    last: bool = True


class ScanWorkers:
    """A pool of forked workers for one scan; ``close`` it when the scan ends."""

    def __init__(self, jobs: int, ruleset: RuleSet | None, *, extract: bool = True) -> None:
        self.jobs = jobs
        self.ruleset = ruleset
        #: Workers extract files (else the parent does, and they only diagnose).
        self.extract = extract
        self.broken = False
        #: Problems for the scan's warnings (the parent drains them).
        self.warnings: list[str] = []
        self._parent_pipeline: Pipeline | None = None
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            jobs,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start,
            initargs=(ruleset,),
        )

    @classmethod
    def start(
        cls, jobs: int, ruleset: RuleSet | None, *, extract: bool = True
    ) -> ScanWorkers | None:
        """Workers, or None when the scan must run in one process."""
        if jobs < 2 or threading.active_count() > 1:
            return None
        try:
            return cls(jobs, ruleset, extract=extract)
        except (OSError, ValueError):  # no fork here, or no /dev/shm for its locks
            return None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _submit(self, fn: Callable[..., Any], *args: object) -> Future[Any] | None:
        if self._pool is None or self.broken:
            return None
        try:
            return self._pool.submit(fn, *args)
        except (BrokenProcessPool, RuntimeError):
            self._break()
            return None

    def _result(self, future: Future[Any] | None) -> Any:
        if future is None:
            return None
        try:
            return future.result()
        except BrokenProcessPool:
            self._break()
            return None

    def _break(self) -> None:
        if not self.broken:
            self.broken = True
            self.warnings.append(BROKEN)

    def files(
        self, files: Iterable[Path], stats: InputStats
    ) -> Iterator[tuple[Path, Iterable[Failure] | None, InputStats | None]]:
        """Each file with its failures and counters, in input order.

        ``None`` failures: the parent must extract that file itself (too big
        or too many failures for a task, or the pool broke).  A big file cut
        into ranges (``split_parts``) comes as an iterator over its ranges'
        failures, with None counters: each range's go into ``stats`` as the
        iterator reaches it (the progress bar moves on).
        """
        todo = self._tasks(files)
        pending: deque[_Task] = deque()

        def refill() -> None:
            while len(pending) < self.jobs * IN_FLIGHT:
                task = next(todo, None)
                if task is None:
                    return
                pending.append(task)

        refill()
        while pending:
            task = pending.popleft()
            if task.bounds is None:
                result = self._result(task.future)
                refill()
                if isinstance(result, tuple) and result[0] is not None:
                    yield task.path, result[0], result[1]
                else:
                    yield task.path, None, None
            else:
                yield task.path, self._ranges(task, pending, refill, stats), None

    def _tasks(self, files: Iterable[Path]) -> Iterator[_Task]:
        """A task per small file, one per range of a big file cut apart, None for the parent."""
        for path in files:
            parts = split_parts(path, self.jobs)
            bounds = file_ranges(path, parts) if parts > 1 else None
            if bounds is not None:
                for start, end in itertools.pairwise(bounds):
                    future = self._submit(_range_task, str(path), start, end)
                    yield _Task(path, future, (start, end), last=end == bounds[-1])
            elif read_size(path) <= MAX_TASK_BYTES:
                yield _Task(path, self._submit(_extract_task, str(path)))
            else:
                yield _Task(path, None)

    def _ranges(
        self,
        task: _Task,
        pending: deque[_Task],
        refill: Callable[[], None],
        into: InputStats,
    ) -> Iterator[Failure]:
        """The failures of a split file's ranges, in order, as one pass over the file gives them."""
        into.files += 1
        lines = Lines(task.path, into)
        while True:
            assert task.bounds is not None
            result = self._result(task.future)
            refill()
            if isinstance(result, tuple):
                failures, stats, warn = result
                yield from lines.failures(failures)
            else:
                # Too many failures for a task, or the pool broke: read it here.
                stats, warn = InputStats(), Recorded()
                yield from lines.failures(extract_range(task.path, *task.bounds, stats, warn))
            lines.take(stats, warn)
            into.add(stats)
            if task.last:
                return
            task = pending.popleft()

    def render(self, entries: Iterable[Folded], fmt: str) -> Iterator[tuple[int, bytes]]:
        """(diagnoses, output bytes) for the fold's entries, in order, chunk by chunk."""
        pending: deque[tuple[list[Item], Future[Any] | None]] = deque()
        chunk: list[Item] = []
        for number, entry in enumerate(entries, 1):
            chunk.append((number, entry.failure, entry.occurrences, entry.last_source))
            if len(chunk) == CHUNK:
                pending.append((chunk, self._submit(_diagnose_task, chunk, fmt)))
                chunk = []
                while len(pending) > self.jobs * IN_FLIGHT:
                    yield self._take(pending.popleft(), fmt)
        if chunk:
            pending.append((chunk, self._submit(_diagnose_task, chunk, fmt)))
        while pending:
            yield self._take(pending.popleft(), fmt)

    def _take(self, task: tuple[list[Item], Future[Any] | None], fmt: str) -> tuple[int, bytes]:
        items, future = task
        result = self._result(future)
        if not isinstance(result, bytes):
            result = render_items(self._fallback(), items, fmt)
        return len(items), result

    def _fallback(self) -> Pipeline:
        if self._parent_pipeline is None:
            self._parent_pipeline = Pipeline(self.ruleset, None)
        return self._parent_pipeline
