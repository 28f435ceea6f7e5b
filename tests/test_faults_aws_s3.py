"""The S3 source with one unreadable object, and its memory across simulated days.

Faults come from ``test_faults_aws_inject``: a real 403 AccessDenied answer
parsed by botocore, for one object only; every other call goes to moto.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import test_aws_sources as helpers
import test_faults_aws_inject as inject
from structlog.testing import capture_logs
from test_aws_sources import REGION, Committer, _bucket, check, ctx_for
from test_aws_sources_helpers import ACCOUNT_A, ACCOUNT_B, delivery, delivery_key, failure_record
from test_faults_aws_inject import S3_DENIED, Faults, warnings_named

from diagnostics.sources.s3 import MAX_OBJECT_ATTEMPTS, S3Source
from diagnostics.sources.s3_config import S3
from diagnostics.support.state import StateDB

# The moto, state-database and fault-injector fixtures, reused by name.
aws_env = helpers.aws
state_db = helpers.state
faults = inject.faults

BUCKET = helpers.BUCKET


def _deny(key: str) -> Any:
    """A step that answers AccessDenied for GetObject of ``key`` and lets the rest through."""
    unique = key.rsplit("_", 1)[-1]

    def step(request: Any) -> Any:
        return S3_DENIED if request.url.endswith(unique) else None

    return step


def _put(s3: Any, account: str, day: str, n: int) -> str:
    key = delivery_key(account, REGION, day, n)
    s3.put_object(Bucket=BUCKET, Key=key, Body=delivery([failure_record(n, account)]))
    return key


def _skipped_rows(state: StateDB) -> list[tuple[object, ...]]:
    return state.query("SELECT key, error FROM aws_s3_skipped WHERE source = 'trail'")


def test_s3_object_denied_does_not_stall_later_deliveries_and_is_skipped_in_the_end(
    aws_env: None, state_db: StateDB, faults: Faults
) -> None:
    """An object that always answers AccessDenied (SSE-KMS without kms:Decrypt) is logged with
    the permission to grant; the deliveries after it, in its folder and in another account's,
    are alerted in the same pass; it is retried, then recorded as skipped, also across a restart."""
    s3 = _bucket()
    bad = _put(s3, ACCOUNT_A, "2024-05-01", 1)
    later = [_put(s3, ACCOUNT_A, "2024-05-01", 2), _put(s3, ACCOUNT_B, "2024-05-01", 3)]
    faults.script("GetObject", [_deny(bad)] * 1000)
    ctx = ctx_for(state_db)
    opts = check(S3, {"bucket": BUCKET})
    src = S3Source("trail", ctx, **opts)
    src.load()
    emit = Committer(state_db)
    with capture_logs() as logs:
        assert src.poll(emit) == 2
        assert [e.origin for e in emit.events] == [f"s3://{BUCKET}/{k}" for k in later]
        assert ctx.stats["s3_object_errors"] == 1
        # Passes that read nothing else do not count towards skipping it (an
        # outage or a missing s3:GetObject must not skip the whole backlog).
        for _ in range(MAX_OBJECT_ATTEMPTS + 2):
            assert src.poll(emit) == 0
        assert ctx.stats["s3_object_errors"] == MAX_OBJECT_ATTEMPTS + 3
        assert "s3_objects_skipped" not in ctx.stats
        # Each pass that also reads a new delivery counts one failed read.
        for n in range(10, 10 + MAX_OBJECT_ATTEMPTS - 1):
            _put(s3, ACCOUNT_A, "2024-05-01", n)
            assert src.poll(emit) == 1
        assert ctx.stats.get("s3_objects_skipped", 0) == 1
    unreadable = warnings_named(logs, "s3 delivery unreadable; other deliveries go on")
    assert all(e["key"] == bad and "AccessDenied" in e["error"] for e in unreadable)
    assert all("kms:Decrypt" in e["hint"] and "docs/aws-setup.md" in e["hint"] for e in unreadable)
    skipped = warnings_named(logs, "s3 delivery skipped after repeated failed reads")
    assert [(e["key"], e["error"]) for e in skipped] == [(bad, "AccessDenied")]
    assert _skipped_rows(state_db) == [(bad, "AccessDenied")]
    # Skipped means no more reads of it, in this process or after a restart.
    gets = faults.calls["GetObject"]
    assert src.poll(emit) == 0
    again = S3Source("trail", ctx_for(state_db), **opts)
    again.load()
    assert again.poll(Committer(state_db)) == 0
    assert faults.calls["GetObject"] == gets
    assert len(emit.event_ids) == 2 + MAX_OBJECT_ATTEMPTS - 1  # every readable one, once


def test_s3_failing_object_stays_in_the_listing_while_days_go_by(
    aws_env: None, state_db: StateDB, faults: Faults
) -> None:
    """A denied object from an earlier day is still retried after newer days arrive (the
    look-back waits for it); once the permission is granted it is alerted."""
    s3 = _bucket()
    bad = _put(s3, ACCOUNT_A, "2024-05-01", 1)
    denied = _deny(bad)
    granted: list[bool] = []
    faults.script("GetObject", [lambda r: None if granted else denied(r)] * 1000)
    src = S3Source("trail", ctx_for(state_db), **check(S3, {"bucket": BUCKET}))
    src.load()
    emit = Committer(state_db)
    _put(s3, ACCOUNT_A, "2024-05-03", 2)
    assert src.poll(emit) == 1  # the 3rd is read; the 1st is denied
    _put(s3, ACCOUNT_A, "2024-05-05", 3)
    assert src.poll(emit) == 1  # the 5th is read; the 1st is denied again
    granted.append(True)
    assert src.poll(emit) == 1  # granted: the 1st is read although two days newer exist
    assert emit.events[-1].origin == f"s3://{BUCKET}/{bad}"
    assert src.poll(emit) == 0


def test_s3_memory_and_state_stay_bounded_across_days(
    aws_env: None, state_db: StateDB, faults: Faults
) -> None:
    """Over twenty simulated days of deliveries, the keys held in memory and the rows in the
    state table stay within the look-back (two days), every delivery is alerted once, and a
    restart reads nothing again."""
    s3 = _bucket()
    per_day = 3
    src = S3Source("trail", ctx_for(state_db), **check(S3, {"bucket": BUCKET}))
    src.load()
    emit = Committer(state_db)
    start = date(2024, 5, 1)
    held: list[int] = []
    rows: list[int] = []
    for d in range(20):
        day = (start + timedelta(days=d)).isoformat()
        for i in range(per_day):
            _put(s3, ACCOUNT_A, day, d * per_day + i)
        assert src.poll(emit) == per_day
        held.append(src.remembered)
        rows.append(int(str(state_db.query("SELECT COUNT(*) FROM aws_s3_objects")[0][0])))
    assert max(held) <= 2 * per_day and max(rows) <= 2 * per_day
    assert held[-1] == 2 * per_day and rows[-1] == 2 * per_day
    assert len(set(emit.event_ids)) == len(emit.event_ids) == 20 * per_day
    # A late delivery for the look-back day is still read.
    _put(s3, ACCOUNT_A, (start + timedelta(days=18)).isoformat(), 99)
    assert src.poll(emit) == 1
    again = S3Source("trail", ctx_for(state_db), **check(S3, {"bucket": BUCKET}))
    again.load()
    assert again.poll(Committer(state_db)) == 0
    assert again.remembered <= 2 * per_day + 1
