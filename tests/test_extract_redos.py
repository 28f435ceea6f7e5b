"""ReDoS: every regex the extractor runs on input is linear, and says why (issue 7, issue 8).

The patterns are collected from the modules themselves, so a new regex is
covered (and must carry its "linear" comment) without editing this test.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import time
from pathlib import Path
from types import ModuleType

import pytest

import diagnostics.extract
from diagnostics.extract import Extractor

#: Inputs that make backtracking regexes explode: long runs of one class,
#: near-matches repeated, separators without the text that should follow.
PATHOLOGICAL = [
    "a" * 60_000,
    " " * 60_000,
    "\t " * 30_000,
    ":" * 60_000,
    "\\" * 60_000,
    '"' * 60_000,
    "0" * 60_000,
    "A-_" * 20_000,
    "\x1b[" * 30_000,
    "\x1b]" * 30_000,
    "arn:aws:" * 8_000,
    "User: " * 10_000,
    "is not authorized to perform: " * 2_000,
    "because no " * 6_000,
    "with an explicit deny in a " * 2_000,
    "(AccessDenied) when calling the " * 2_000,
    "operation error EC2: " * 3_000,
    "(Service: S3, Status Code: 403, " * 2_000,
    "Encoded authorization failure message: " * 1_500,
    '{"allowed":' * 6_000,
    "2024-01-01T00:00:00" * 3_000,
    "==> amazon-ebs: " * 4_000,
    "\\u00" * 15_000,
]
BUDGET_SECONDS = 0.5


def _modules() -> list[ModuleType]:
    names = [
        m.name
        for m in pkgutil.walk_packages(
            diagnostics.extract.__path__, prefix=f"{diagnostics.extract.__name__}."
        )
        if not m.ispkg
    ]
    return [importlib.import_module(name) for name in sorted(names)]


def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    found: list[tuple[str, re.Pattern[str]]] = []
    for module in _modules():
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                found.append((f"{module.__name__}.{name}", value))
    return found


PATTERNS = _patterns()
SOURCE = "\n".join(
    path.read_text(encoding="utf-8")
    for path in sorted(Path(diagnostics.extract.__file__).parent.rglob("*.py"))
)


def _scans(name: str) -> bool:
    """Whether the package runs this pattern at every position (search, finditer, sub)."""
    short = name.rsplit(".", 1)[1]
    return any(f"{short}.{verb}(" in SOURCE for verb in ("search", "finditer", "findall", "sub"))


def test_patterns_were_found() -> None:
    """The collector sees the extractor's regexes (so the checks below are not vacuous)."""
    assert len(PATTERNS) >= 10


@pytest.mark.parametrize(("name", "pattern"), PATTERNS, ids=[n for n, _ in PATTERNS])
def test_regex_is_linear_on_pathological_input(name: str, pattern: re.Pattern[str]) -> None:
    """Running a pattern the way the package does (anchored, or scanning) over 60,000
    pathological characters takes well under the budget."""
    scans = _scans(name)
    for text in PATHOLOGICAL:
        # CPU time, not wall time: a loaded machine stretched a 0.3 s search to 0.59 s.
        start = time.process_time()
        if scans:
            pattern.search(text)
        for pos in (0, 1, len(text) // 2):
            pattern.match(text, pos)
        elapsed = time.process_time() - start
        assert elapsed < BUDGET_SECONDS, f"{name} took {elapsed:.2f}s on {text[:20]!r}..."


def test_every_regex_says_why_it_is_linear() -> None:
    """Each re.compile in the package has a comment mentioning 'linear' on or just above it."""
    missing: list[str] = []
    package = Path(diagnostics.extract.__file__).parent
    for path in sorted(package.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if "re.compile(" not in line:
                continue
            window = " ".join(lines[max(0, i - 3) : i + 3]).lower()
            if "linear" not in window:
                missing.append(f"{path.name}:{i + 1}")
    assert missing == []


#: Whole hostile lines (about 1 MB each) that once cost minutes of quadratic work.
HOSTILE_LINES = {
    "code-colon": "AccessDenied: " * 70_000,
    "cli-frames": "(AccessDenied) when calling the X operation: " * 20_000,
    "go2-frames": "api error AccessDenied: " * 40_000,
    "java-frames": "(Service: S3, Status Code: 403, Error Code: AccessDenied, " * 15_000,
    "sentences": "is not authorized to perform: " * 30_000,
    "phrases": "Encoded authorization failure message: " * 25_000,
    "ec2-sentences": "UnauthorizedOperation: You are not authorized to perform this operation. "
    * 14_000,
    "sqs-wording": "Access to the resource https://sqs.us-east-1.amazonaws.com/ is denied. "
    * 14_000,
    "empty-principals": "AccessDenied: is not authorized to perform: " * 23_000,
    "principals": (
        "User: arn:aws:iam::123456789012:user/" + "a" * 2000 + " is not authorized to perform: x:Y "
    )
    * 400,
}


@pytest.mark.parametrize("name", sorted(HOSTILE_LINES))
def test_hostile_megabyte_line_is_fast(name: str) -> None:
    """A 1 MB line built from one marker repeated is processed in seconds, not minutes."""
    data = (HOSTILE_LINES[name] + "\n").encode()
    ext = Extractor("hostile.log", max_line_bytes=1 << 20)
    start = time.perf_counter()
    found = ext.feed(data) + ext.finish()
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, f"{name}: {elapsed:.1f}s"
    assert len(found) <= 400
