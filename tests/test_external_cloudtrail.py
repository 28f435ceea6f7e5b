"""External check: real public CloudTrail captures (see shared/external/cloudtrail/INDEX.md).

The expected numbers come from INDEX.md and from an independent walk over the
files here (json/gzip from the standard library), never from the extractor.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from diagnostics.extract import extract_path, iter_input_files
from diagnostics.model import Failure, InputStats

Pairs = list[tuple[Failure, dict[str, Any]]]

EXTERNAL = Path(__file__).resolve().parents[1].parent / "shared" / "external" / "cloudtrail"

pytestmark = pytest.mark.skipif(
    not EXTERNAL.is_dir(), reason=f"{EXTERNAL} is absent (CI places shared/ beside the clone)"
)

#: The authorization codes INDEX.md counts (its own regex, applied to errorCode).
_INDEX_AUTHZ = re.compile(
    r"AccessDenied|Unauthorized|Forbidden|AuthFailure|AuthorizationError|NotAuthorized"
)
_BLOB_PHRASE = "Encoded authorization failure message: "


def _records(obj: Any) -> Iterator[dict[str, Any]]:
    """Every CloudTrail record in a parsed document, whichever envelope holds it."""
    if isinstance(obj, list):
        for item in obj:
            yield from _records(item)
    elif isinstance(obj, dict):
        if "eventName" in obj and "eventSource" in obj:
            yield obj
        elif "Records" in obj:
            yield from _records(obj["Records"])
        elif isinstance(obj.get("CloudTrailEvent"), str):
            yield from _records(json.loads(obj["CloudTrailEvent"]))
        elif isinstance(obj.get("logEvents"), list):
            for event in obj["logEvents"]:
                yield from _records(json.loads(event["message"]))


def _load(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8")
    try:
        return list(_records(json.loads(text)))
    except json.JSONDecodeError:  # JSON lines
        return [r for line in text.splitlines() if line.strip() for r in _records(json.loads(line))]


def _data_files() -> list[Path]:
    return sorted(p for p in EXTERNAL.rglob("*") if p.is_file() and p.name != "INDEX.md")


@pytest.fixture(scope="module")
def pairs() -> list[tuple[Failure, dict[str, Any]]]:
    """Each failure beside the record it must come from (same file, same order)."""
    stats = InputStats()
    out: list[tuple[Failure, dict[str, Any]]] = []
    seen_records = 0
    for path in iter_input_files(EXTERNAL, stats):
        if path.name == "INDEX.md":
            continue
        records = _load(path)
        seen_records += len(records)
        expected = [r for r in records if _INDEX_AUTHZ.search(str(r.get("errorCode", "")))]
        found = list(extract_path(path, stats))
        assert len(found) == len(expected), path
        out.extend(zip(found, expected, strict=True))
    assert seen_records == 3237  # INDEX.md's total: the oracle read every file
    assert stats.warnings == []
    return out


def test_exactly_the_114_authorization_failures(
    pairs: Pairs,
) -> None:
    """All 114 failures are found, file by file, with INDEX.md's error-code breakdown."""
    assert len(pairs) == 114
    assert Counter(f.error_code for f, _r in pairs) == {
        "Client.UnauthorizedOperation": 90,
        "AccessDenied": 24,
    }
    assert {f.kind for f, _r in pairs} == {"cloudtrail"}


def test_no_false_positives_among_3237_records(pairs: Pairs) -> None:
    """Each failure is its own authorization-failure record: throttling, NoSuch* and failed
    console sign-ins are never reported, and no record is reported twice."""
    for f, record in pairs:
        assert f.source.event_id == record["eventID"]
        assert f.error_code == record["errorCode"]
        assert f.event_time == record["eventTime"]


def test_fields_come_from_the_record(pairs: Pairs) -> None:
    """Operation, region, time, source and principal are the record's own values; a
    placeholder principal (``<accountId>``) is kept as written, not as an ARN."""
    for f, record in pairs:
        assert f.operation == record["eventName"]
        assert f.event_source == record["eventSource"]
        assert f.region == record["awsRegion"]
        arn = record["userIdentity"].get("arn")
        assert (f.principal_arn or f.principal_text) == arn
        assert f.principal_arn is None or "<" not in f.principal_arn


def test_blobs_are_exact_and_every_cut_blob_is_truncated(
    pairs: Pairs,
) -> None:
    """A complete blob is extracted exactly; every blob CloudTrail cut with '...' is truncated."""
    complete = cut = 0
    for f, record in pairs:
        message = record.get("errorMessage", "")
        if _BLOB_PHRASE not in message:
            assert f.encoded_message is None
            continue
        blob = message.split(_BLOB_PHRASE, 1)[1]
        if blob.endswith("..."):
            cut += 1
            assert f.truncated, f.source
            assert f.encoded_message is not None
            assert blob.startswith(f.encoded_message)
        else:
            complete += 1
            assert not f.truncated
            assert f.encoded_message == blob
    assert cut >= 1
    assert complete + cut == 90


def test_plain_text_in_messages_fills_action(pairs: Pairs) -> None:
    """Where the errorMessage names the action, the failure carries it; elsewhere action is None."""
    for f, record in pairs:
        m = re.search(
            r"is not authorized to perform: ([\w-]+):(\w+)", record.get("errorMessage", "")
        )
        assert f.action == (f"{m.group(1).lower()}:{m.group(2)}" if m else None)
