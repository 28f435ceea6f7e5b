"""Align what a scan found with a corpus case's expected failures, and score it.

Shared by ``tests/test_real_corpus.py`` and ``bench/accuracy.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from diagnostics.model import JSONObject
from diagnostics.testing.corpus import FAILURE_KEYS, MEASURED, Case, asserts

#: How much each identifying key weighs when pairing expected with found failures.
_ALIGN_WEIGHTS = {
    "encoded_prefix": 8,
    "authorization_id": 8,
    "principal": 4,
    "action": 4,
    "operation": 2,
    "error_code": 2,
    "resource": 1,
    "kind": 1,
}


def actual_value(found: JSONObject, key: str) -> Any:
    """The value of an expectation key in a diagnosis' JSON."""
    if key == "encoded_prefix":
        blob = found.get("encoded_message")
        return blob[:16] if isinstance(blob, str) else None
    if key == "principal":
        return (found.get("principal_arn"), found.get("principal_text"))
    if key == "resource":
        return (found.get("resource"), found.get("resource_text"))
    return found.get(key)


def expected_value(expected: JSONObject, key: str) -> Any:
    if key == "principal":
        arn = expected.get("principal_arn")
        # A clean ARN is all that counts; else the text as written (None when unsaid).
        return (arn, None) if arn else (None, expected.get("principal_text"))
    if key == "resource":
        value = expected.get("resource")
        return (value, None) if value else (None, expected.get("resource_text"))
    return expected[key]


def _agrees(expected: JSONObject, found: JSONObject, key: str) -> bool:
    if key == "principal":
        (want_arn, want_text), (got_arn, got_text) = (
            expected_value(expected, key),
            actual_value(found, key),
        )
        if want_arn:
            return bool(got_arn == want_arn)
        if "principal_text" not in expected:
            return got_arn is None  # only "not an ARN" was asserted
        return got_arn is None and got_text == want_text
    if key == "resource":
        (want, want_text), (got, got_text) = expected_value(expected, key), actual_value(found, key)
        if want:
            return bool(got == want)
        # A clean ARN must not be invented; the text as written counts where it was asserted.
        return got is None and ("resource_text" not in expected or got_text == want_text)
    return bool(expected_value(expected, key) == actual_value(found, key))


def _affinity(expected: JSONObject, found: JSONObject) -> int:
    return sum(
        weight
        for key, weight in _ALIGN_WEIGHTS.items()
        if asserts(expected, key) and _agrees(expected, found, key)
    )


@dataclass(frozen=True, slots=True)
class Alignment:
    """Which found failure answers which expected one (indices), and the leftovers."""

    pairs: tuple[tuple[int, int], ...]
    missed: tuple[int, ...]
    extra: tuple[int, ...]


def align(expected: Sequence[JSONObject], found: Sequence[JSONObject]) -> Alignment:
    """Greedy best-first pairing, ties in input order, so one miss shifts nothing else.

    A pair needs at least one identifying key in common (kind counts), so a
    missed failure is not blamed on an unrelated extra one.
    """
    scored = sorted(
        (-_affinity(e, f), i, j) for i, e in enumerate(expected) for j, f in enumerate(found)
    )
    used_e: set[int] = set()
    used_f: set[int] = set()
    pairs = []
    for neg, i, j in scored:
        if neg == 0 or i in used_e or j in used_f:
            continue
        used_e.add(i)
        used_f.add(j)
        pairs.append((i, j))
    return Alignment(
        tuple(sorted(pairs)),
        tuple(i for i in range(len(expected)) if i not in used_e),
        tuple(j for j in range(len(found)) if j not in used_f),
    )


def describe(failure: JSONObject) -> str:
    """A short label for a failure in a report: its kind, code, action and principal."""
    bits = [str(failure.get(k)) for k in ("kind", "error_code", "action") if failure.get(k)]
    who = failure.get("principal_arn") or failure.get("principal_text")
    if who:
        bits.append(str(who))
    line = (failure.get("source") or {}).get("line")
    if line:
        bits.append(f"line {line}")
    return " ".join(bits) or "(no fields)"


def _show(value: Any) -> str:
    return (
        orjson.dumps(value).decode()
        if not isinstance(value, tuple)
        else "/".join(orjson.dumps(v).decode() for v in value)
    )


@dataclass(slots=True)
class CaseScore:
    """How the reader did on one case."""

    slug: str
    negative: bool
    classes: tuple[str, ...] = ()
    expected: int = 0
    matched: int = 0
    extra: int = 0
    #: per measured field: [right, asked]
    fields: dict[str, list[int]] = field(default_factory=lambda: {k: [0, 0] for k in MEASURED})
    #: Every difference, one readable line each; empty when the case passes.
    misses: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.misses


def score(case: Case, found: Sequence[JSONObject]) -> CaseScore:
    """Align ``found`` with the case's expectation and record every difference."""
    expected = case.failures
    tags = case.expect.get("classes")
    classes = tuple(str(t) for t in tags) if isinstance(tags, list) else ()
    result = CaseScore(case.slug, case.negative, classes, expected=len(expected))
    aligned = align(expected, found)
    for i in aligned.missed:
        result.misses.append(f"missed failure {i + 1}: {describe(expected[i])}")
        for key in MEASURED:
            if asserts(expected[i], key):
                result.fields[key][1] += 1  # a missed failure gets none of its fields right
    for j in aligned.extra:
        what = "false alarm" if case.negative else "extra failure"
        result.misses.append(f"{what}: {describe(found[j])}")
    result.extra = len(aligned.extra)
    result.matched = len(aligned.pairs)
    for i, j in aligned.pairs:
        e, f = expected[i], found[j]
        for key in MEASURED:
            if asserts(e, key):
                ok = _agrees(e, f, key)
                result.fields[key][0] += ok
                result.fields[key][1] += 1
                if not ok:
                    result.misses.append(_mismatch(i, key, e, f))
        for key in sorted(
            FAILURE_KEYS - {"principal_arn", "principal_text", "resource_text", *MEASURED}
        ):
            if key in e and not _agrees(e, f, key):
                result.misses.append(_mismatch(i, key, e, f))
    return result


def _mismatch(i: int, key: str, e: JSONObject, f: JSONObject) -> str:
    return (
        f"failure {i + 1} {key}: expected {_show(expected_value(e, key))}, "
        f"got {_show(actual_value(f, key))}"
    )


def verdict(case: Case, result: CaseScore) -> tuple[str, str]:
    """``("pass" | "fail" | "xfail", message)``: a known gap must still fail, strictly."""
    report = f"{case.slug}: " + "; ".join(result.misses)
    if case.known_gap:
        if result.passed:
            return "fail", f"{case.slug} passes now: remove its known_gap ({case.known_gap})"
        return "xfail", f"known gap: {case.known_gap} ({report})"
    return ("pass", "") if result.passed else ("fail", report)


@dataclass(slots=True)
class Totals:
    """The corpus-wide figures ``bench/accuracy.py`` prints."""

    cases: int = 0
    negatives: int = 0
    expected: int = 0
    matched: int = 0
    false_alarms: int = 0  # failures found in negative cases
    extras: int = 0  # failures found in positive cases that nobody expected
    fields: dict[str, list[int]] = field(default_factory=lambda: {k: [0, 0] for k in MEASURED})

    def add(self, s: CaseScore) -> None:
        self.cases += 1
        self.negatives += s.negative
        self.expected += s.expected
        self.matched += s.matched
        if s.negative:
            self.false_alarms += s.extra
        else:
            self.extras += s.extra
        for key, (right, asked) in s.fields.items():
            self.fields[key][0] += right
            self.fields[key][1] += asked

    @property
    def field_right(self) -> int:
        return sum(right for right, _ in self.fields.values())

    @property
    def field_asked(self) -> int:
        return sum(asked for _, asked in self.fields.values())

    def summary(self) -> str:
        """One line: recall, false alarms (negatives + extras) and field accuracy."""
        return (
            f"recall {_pct(self.matched, self.expected)} ({self.matched}/{self.expected}), "
            f"false alarms {self.false_alarms + self.extras} "
            f"({self.false_alarms} in negatives, {self.extras} extra), "
            f"fields {_pct(self.field_right, self.field_asked)} "
            f"({self.field_right}/{self.field_asked})"
        )


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:.1f}%" if d else "n/a"


def total(scores: Iterable[CaseScore]) -> Totals:
    out = Totals()
    for s in scores:
        out.add(s)
    return out


def report_lines(scores: Sequence[CaseScore]) -> list[str]:
    """Per-case misses, then per-field accuracy, then the one-line summary last."""
    lines: list[str] = []
    for s in scores:
        lines.extend(f"{s.slug}: {miss}" for miss in s.misses)
    t = total(scores)
    lines.append(
        f"{t.cases} cases ({t.negatives} negative), {t.expected} expected failures, "
        f"{sum(not s.passed for s in scores)} cases with a difference"
    )
    for key, (right, asked) in t.fields.items():
        lines.append(f"  {key:<14} {_pct(right, asked):>6} ({right}/{asked})")
    if by_class := classes_with_differences(scores):
        shown = ", ".join(f"{tag} {bad}/{seen}" for tag, bad, seen in by_class)
        lines.append(f"cases with a difference, by class: {shown}")
    lines.append(t.summary())
    return lines


def classes_with_differences(scores: Sequence[CaseScore]) -> list[tuple[str, int, int]]:
    """(class tag, cases with a difference, cases) for each tag that has a difference."""
    seen: dict[str, list[int]] = {}
    for s in scores:
        for tag in s.classes:
            counts = seen.setdefault(tag, [0, 0])
            counts[0] += not s.passed
            counts[1] += 1
    rows = [(tag, bad, n) for tag, (bad, n) in seen.items() if bad]
    return sorted(rows, key=lambda r: (-r[1], r[0]))
