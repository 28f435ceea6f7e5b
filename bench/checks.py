"""Correctness checks: does a scan's JSON output match what the generator placed?"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson


@dataclass(slots=True)
class AppLogCheck:
    """Scan output matched against the manifest's failure blocks, by line number."""

    expected: int
    reported: int
    by_kind: dict[str, int] = field(default_factory=dict)
    #: format -> [found, expected]
    by_format: dict[str, list[int]] = field(default_factory=dict)
    missed: list[list[Any]] = field(default_factory=list)
    #: Reported failures on lines where no failure was placed (false positives).
    extra_lines: list[int] = field(default_factory=list)
    #: Blocks reported more than once.
    doubled: list[list[Any]] = field(default_factory=list)
    unlocated: int = 0

    @property
    def ok(self) -> bool:
        return (
            self.reported == self.expected
            and not self.missed
            and not self.extra_lines
            and not self.doubled
        )

    def describe(self, log: Path | None = None) -> str:
        lines = [
            f"expected {self.expected} failures, scan reported {self.reported} {self.by_kind}",
        ]
        if self.missed:
            per: dict[str, int] = {}
            for block in self.missed:
                per[block[2]] = per.get(block[2], 0) + 1
            lines.append(f"missed {len(self.missed)} by format: {per}")
        if self.doubled:
            per = {}
            for block in self.doubled:
                per[block[2]] = per.get(block[2], 0) + 1
            lines.append(f"reported more than once: {len(self.doubled)} by format: {per}")
        if self.extra_lines:
            lines.append(f"false positives on {len(self.extra_lines)} lines")
            if log is not None:
                for text in _line_texts(log, self.extra_lines[:3]):
                    lines.append(f"  e.g. {text[:160]!r}")
        if self.unlocated:
            lines.append(f"{self.unlocated} reported failures carry no line number")
        return "\n".join(lines)


def _line_texts(path: Path, numbers: list[int]) -> list[str]:
    wanted = set(numbers)
    out = []
    with path.open("rb") as fh:
        for i, line in enumerate(fh, 1):
            if i in wanted:
                out.append(line.decode(errors="replace").rstrip())
                if len(out) == len(wanted):
                    break
    return out


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The diagnoses ``scan --format json`` wrote, one object per line."""
    with path.open("rb") as fh:
        return [orjson.loads(line) for line in fh if line.strip()]


def check_applog(output: Path, manifest: dict[str, Any]) -> AppLogCheck:
    """Match every reported failure to the block the generator placed at its line."""
    blocks: list[list[Any]] = manifest["failures_at"]
    firsts = [b[0] for b in blocks]
    diagnoses = read_jsonl(output)
    check = AppLogCheck(expected=len(blocks), reported=len(diagnoses))
    hits = [0] * len(blocks)
    for d in diagnoses:
        kind = str(d.get("kind"))
        check.by_kind[kind] = check.by_kind.get(kind, 0) + 1
        line = (d.get("source") or {}).get("line")
        if not isinstance(line, int):
            check.unlocated += 1
            continue
        i = bisect.bisect_right(firsts, line) - 1
        if i >= 0 and blocks[i][0] <= line <= blocks[i][1]:
            hits[i] += 1
        else:
            check.extra_lines.append(line)
    for block, n in zip(blocks, hits, strict=True):
        entry = check.by_format.setdefault(block[2], [0, 0])
        entry[1] += 1
        entry[0] += n > 0
        if n == 0:
            check.missed.append(block)
        elif n > 1:
            check.doubled.append(block)
    return check


def check_cloudtrail(output: Path, manifest: dict[str, Any]) -> tuple[bool, str]:
    """Count and kind of the failures a scan of a generated tree reported."""
    diagnoses = read_jsonl(output)
    expected = int(manifest["expected"]["failures"])
    kinds: dict[str, int] = {}
    event_ids = set()
    for d in diagnoses:
        kinds[str(d.get("kind"))] = kinds.get(str(d.get("kind")), 0) + 1
        event_ids.add((d.get("source") or {}).get("event_id"))
    ok = len(diagnoses) == expected and len(event_ids) == expected
    text = (
        f"expected {expected} authorization failures, scan reported {len(diagnoses)} {kinds} "
        f"with {len(event_ids)} distinct eventIDs"
    )
    return ok, text
