"""The fixture corpus: every real-world format and phrase gives exactly the failures expected.

Each ``tests/fixtures/formats/<name>`` sits beside ``<name>.expected.json``: the
list of failures a user sees (after the pipeline drops repeats of the same
failure), each as the subset of fields that file pins down.  The files go
through ``extract_path``, the same entry point ``authz-diag scan`` uses, so
gzip, CloudTrail document detection and line assembly are all exercised.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from diagnostics.extract import extract_path
from diagnostics.model import Failure, InputStats

FORMATS = Path(__file__).resolve().parent / "fixtures" / "formats"
CASES = sorted(p for p in FORMATS.iterdir() if not p.name.endswith(".expected.json"))

#: Failure fields a fixture may pin, and SourceRef fields under their own names.
_FIELDS = (
    "kind",
    "principal_arn",
    "account_id",
    "action",
    "resource",
    "resource_text",
    "policy_type",
    "policy_arn",
    "explicit_deny",
    "encoded_message",
    "truncated",
    "operation",
    "event_source",
    "region",
    "error_code",
    "event_time",
    "authorization_id",
)


def _view(failure: Failure) -> dict[str, Any]:
    out: dict[str, Any] = {name: getattr(failure, name) for name in _FIELDS}
    out["parse_notes"] = list(failure.parse_notes)
    out["line"] = failure.source.line
    out["event_id"] = failure.source.event_id
    out["decoded_action"] = (failure.decoded or {}).get("context", {}).get("action")
    return out


def _unique(failures: list[Failure]) -> list[Failure]:
    seen: set[tuple[object, ...]] = set()
    out: list[Failure] = []
    for f in failures:
        key = f.dedup_key()
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def test_corpus_is_large_enough() -> None:
    """The corpus holds at least 40 format cases, each with its expectations beside it."""
    assert len(CASES) >= 40
    for case in CASES:
        assert case.with_name(case.name + ".expected.json").is_file(), case.name


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture(case: Path) -> None:
    """Scanning the fixture reports exactly the expected failures, in order, with no warnings."""
    expected: list[dict[str, Any]] = json.loads(
        case.with_name(case.name + ".expected.json").read_text(encoding="utf-8")
    )
    stats = InputStats()
    found = _unique(list(extract_path(case, stats)))
    views = [_view(f) for f in found]
    assert len(views) == len(expected), json.dumps(views, indent=1, default=str)[:4000]
    for got, want in zip(views, expected, strict=True):
        subset = {k: got[k] for k in want}
        assert subset == want
    assert stats.warnings == []
    for f in found:
        assert len(f.excerpt) <= 500
        assert "\x1b" not in f.excerpt
