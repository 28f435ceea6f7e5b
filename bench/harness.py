"""Shared benchmark machinery: timed child processes, statistics, BENCHMARKS.md sections.

Every benchmark compares our command with a baseline measured in the same
run, alternating the two, so a noisy shared machine shifts both sides alike.
Wall time includes process start; peak RSS comes from ``wait4`` for that
one child, not from the whole process tree of the harness.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = REPO / "BENCHMARKS.md"
DEFAULT_OUT = REPO / "bench" / "out"
VENV_BIN = Path(sys.executable).parent


def add_run_arguments(parser: argparse.ArgumentParser, *, corpus: bool = True) -> None:
    """The options every P-benchmark takes: runs, where results go, the corpus."""
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print, do not edit BENCHMARKS.md")
    parser.add_argument("--md", type=Path, default=BENCHMARKS_MD, help=argparse.SUPPRESS)
    if corpus:
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
        parser.add_argument("--clean", action="store_true", help="delete the corpus afterwards")


def tool(name: str) -> str:
    """The console script ``name`` from the running interpreter's venv, else from PATH."""
    candidate = VENV_BIN / name
    return str(candidate) if candidate.exists() else name


@dataclass(frozen=True, slots=True)
class Run:
    """One timed child process."""

    seconds: float
    max_rss_kib: int
    returncode: int
    stdout: bytes


#: GNU time reports the peak RSS of the command alone.  ``wait4`` on a child
#: forked from this (larger) interpreter would report at least the size of this
#: process at fork time: Linux carries ``maxrss`` across ``exec``.
GNU_TIME = Path("/usr/bin/time")


def run_child(argv: Sequence[str], *, stdout_path: Path | None = None) -> Run:
    """Run ``argv`` once: wall time from spawn to reap, and the command's own peak RSS.

    Exit status 0 and 1 are both success (``scan`` exits 1 when it found
    failures), so a Python traceback on stderr is treated as the failure it is.
    """
    out = stdout_path.open("wb") if stdout_path is not None else subprocess.DEVNULL
    scratch = Path(tempfile.mkdtemp(prefix="authz-bench-"))
    err_path = scratch / "stderr"
    rss_path = scratch / "rss"
    wrapped = list(argv)
    if GNU_TIME.exists():
        wrapped = [str(GNU_TIME), "-f", "%M", "-o", str(rss_path), *wrapped]
    try:
        with err_path.open("wb") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(wrapped, stdout=out, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        errors = err_path.read_bytes()
        rss = usage.ru_maxrss
        if GNU_TIME.exists():
            # The last line; GNU time may first note a non-zero exit status.
            rss = int(rss_path.read_text().split()[-1])
    finally:
        if not isinstance(out, int):
            out.close()
        shutil.rmtree(scratch, ignore_errors=True)
    if proc.returncode not in (0, 1) or b"Traceback (most recent call last)" in errors:
        raise RuntimeError(
            f"{' '.join(str(a) for a in argv[:4])} ... exited {proc.returncode}: "
            f"{errors.decode(errors='replace')[-2000:]}"
        )
    data = stdout_path.read_bytes() if stdout_path is not None and _small(stdout_path) else b""
    return Run(seconds, rss, proc.returncode, data)


def _small(path: Path) -> bool:
    return path.stat().st_size < 256 * 1024 * 1024


@dataclass(slots=True)
class Series:
    """Repeated measurements of one contender."""

    name: str
    seconds: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)

    def add(self, run: Run) -> None:
        self.seconds.append(run.seconds)
        self.rss_kib.append(run.max_rss_kib)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def byte_compile() -> None:
    """Write the package's ``.pyc`` files, as ``pip install`` does for a regular install.

    An editable install run with ``PYTHONDONTWRITEBYTECODE`` (as on our
    shared machines) compiles every module from source at each start: 70 ms
    a run that no installed copy pays.  Baselines are not Python packages.
    """
    import compileall

    compileall.compile_dir(REPO / "diagnostics", quiet=1)


def alternate(
    contenders: Sequence[tuple[str, Callable[[], Run]]],
    runs: int,
    *,
    warmup: bool = True,
    on_run: Callable[[str, Run], None] | None = None,
) -> list[Series]:
    """Run each contender ``runs`` times, interleaved, after one unrecorded warm-up each.

    The warm-up puts the input in the page cache for everyone, so no side
    pays for the first read from disk.
    """
    byte_compile()
    series = [Series(name) for name, _ in contenders]
    if warmup:
        for name, fn in contenders:
            result = fn()
            if on_run is not None:
                on_run(f"{name} (warm-up)", result)
    for i in range(runs):
        # Alternate the order too, so neither side always runs right after the other.
        order = list(zip(series, contenders, strict=True))
        if i % 2:
            order.reverse()
        for s, (name, fn) in order:
            result = fn()
            s.add(result)
            if on_run is not None:
                on_run(name, result)
    return series


def fmt_s(seconds: float) -> str:
    return f"{seconds:.3f}"


def timing_table(series: Sequence[Series], baseline: Series, *, rss: bool = False) -> str:
    """Markdown: min/median/max per contender and the ratio of medians to ``baseline``."""
    head = "| command | min s | median s | max s | median ÷ " + baseline.name + " |"
    sep = "|---|---:|---:|---:|---:|"
    if rss:
        head += " peak RSS MiB (max) |"
        sep += "---:|"
    rows = [head, sep]
    for s in series:
        ratio = s.median / baseline.median if baseline.median else float("nan")
        row = (
            f"| {s.name} | {fmt_s(min(s.seconds))} | {fmt_s(s.median)} | "
            f"{fmt_s(max(s.seconds))} | {ratio:.2f}× |"
        )
        if rss:
            row += f" {max(s.rss_kib) / 1024:.1f} |"
        rows.append(row)
    return "\n".join(rows)


def machine() -> str:
    """One line naming the machine, so numbers are never quoted without it."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = ", load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = ""
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}{load}; "
        f"code at {revision()}"
    )


def revision() -> str:
    """The commit measured; ``-dirty`` when the working tree differs from it."""
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except OSError:
        return "unknown revision"
    return done.stdout.strip() or "unknown revision"


def verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def update_section(name: str, body: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace the ``name`` section of BENCHMARKS.md, or append it when missing."""
    block = f"<!-- bench:{name} begin -->\n{body.rstrip()}\n<!-- bench:{name} end -->"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} begin -->.*?<!-- bench:{re.escape(name)} end -->", re.S
    )
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text, count=1)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def publish(name: str, body: str, *, write: bool, path: Path = BENCHMARKS_MD) -> None:
    """Print the markdown; with ``write``, also put it into BENCHMARKS.md."""
    print()
    print(body)
    if write:
        update_section(name, body, path)
        print(f"\n(updated section {name!r} of {path})")


def progress(label: str, run: Run) -> None:
    print(f"  {label:<40} {run.seconds:8.3f} s  rss {run.max_rss_kib / 1024:7.1f} MiB", flush=True)


class ChildDouble:
    """A loopback double in its own process (``bench/*_server.py``), driven over stdin/stdout.

    The script prints its endpoint URL first, then answers ``reset``,
    ``calls`` (a JSON list of arrival times) and ``quit``.  A separate process
    keeps the double's CPU work off the measured client's interpreter lock.
    """

    def __init__(self, script: str, *args: str) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name(script)), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.endpoint_url = self.ask("")

    def ask(self, command: str) -> str:
        assert self._proc.stdin and self._proc.stdout
        if command:
            self._proc.stdin.write(command + "\n")
            self._proc.stdin.flush()
        return self._proc.stdout.readline().strip()

    def reset_calls(self) -> None:
        self.ask("reset")

    def call_times(self) -> list[float]:
        import json

        times: list[float] = json.loads(self.ask("calls"))
        return times

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.ask("quit")
        self._proc.wait(timeout=10)
