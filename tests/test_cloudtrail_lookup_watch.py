"""The ``cloudtrail_lookup`` watch source against the LookupEvents double, with a real state DB.

``Committer`` plays the watch service: it runs each event's ``mark`` in a
state transaction, as the service does with the alerts it stores.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from diagnostics.errors import ConfigError
from diagnostics.service.config import ConfigTable, LimitsConfig
from diagnostics.sources.base import Event, FoundFailures, SourceContext
from diagnostics.sources.cloudtrail_lookup import CLOUDTRAIL_LOOKUP, CloudTrailLookupSource
from diagnostics.sources.registry import source_types
from diagnostics.sources.settings import SourceConfig
from diagnostics.support.state import StateDB
from diagnostics.testing.lookup_events_double import LookupEventsDouble
from diagnostics.testing.lookup_events_samples import denied_message, lookup_record


class Committer:
    """Collects events and commits each mark in its own transaction, like the service."""

    def __init__(self, state: StateDB, *, commit: bool = True) -> None:
        self.state = state
        self.commit = commit
        self.events: list[FoundFailures] = []

    def __call__(self, ev: Event) -> bool:
        assert isinstance(ev, FoundFailures)
        self.events.append(ev)
        if self.commit and ev.mark is not None:
            with self.state.transaction() as conn:
                ev.mark(conn)
        return True

    @property
    def event_ids(self) -> list[str | None]:
        return [f.source.event_id for ev in self.events for f in ev.failures]


@pytest.fixture
def trail(monkeypatch: pytest.MonkeyPatch) -> Iterator[LookupEventsDouble]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLELOOKUP001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    with LookupEventsDouble(page_size=2) as double:
        yield double


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateDB]:
    db = StateDB.in_dir(tmp_path / "state")
    yield db
    db.close()


def check(table: dict[str, Any]) -> Any:
    t = ConfigTable(table, "watch.toml [[source]] #1")
    opts = CLOUDTRAIL_LOOKUP.check(t)
    t.finish()
    return opts


def _source(
    trail: LookupEventsDouble, state: StateDB, **table: Any
) -> tuple[CloudTrailLookupSource, SourceContext]:
    options = check({"regions": ["us-east-1"], "endpoint_url": trail.endpoint_url, **table})
    ctx = SourceContext(state=state, limits=LimitsConfig(), poll_interval=0.1)
    src = CLOUDTRAIL_LOOKUP.create(SourceConfig("cloudtrail_lookup", "ctl", options, "#1"), ctx)
    src.load()
    return src, ctx


def _denial(minutes: float, action: str = "iam:CreateRole") -> dict[str, Any]:
    service, _, name = action.partition(":")
    return lookup_record(
        name,
        f"{service}.amazonaws.com",
        datetime.now(UTC) - timedelta(minutes=minutes),
        error_code="AccessDenied",
        error_message=denied_message(action, "arn:aws:iam::123456789012:role/app"),
        read_only=False,
    )


def test_new_events_are_picked_up_and_a_restart_alerts_nothing_twice(
    trail: LookupEventsDouble, state: StateDB
) -> None:
    """Each poll reports only new denials, and a restarted source repeats none of them."""
    first = _denial(5)
    trail.add_record(first)
    trail.add_record(lookup_record("GetRole", "iam.amazonaws.com", datetime.now(UTC)))
    src, _ = _source(trail, state, start_at="1h")
    emit = Committer(state)
    assert src.poll(emit) == 1
    assert emit.event_ids == [first["eventID"]]

    second = _denial(0)
    trail.add_record(second)
    assert src.poll(emit) == 1
    assert emit.event_ids == [first["eventID"], second["eventID"]]

    again, _ = _source(trail, state, start_at="1h")
    emit2 = Committer(state)
    assert again.poll(emit2) == 0 and emit2.event_ids == []
    third = _denial(0, "kms:Decrypt")
    trail.add_record(third)
    assert again.poll(emit2) == 1
    assert emit2.event_ids == [third["eventID"]]


def test_an_event_delivered_late_is_found_by_the_overlapping_window(
    trail: LookupEventsDouble, state: StateDB
) -> None:
    """A denial that shows up after the cursor passed its time is still reported (look-back)."""
    src, _ = _source(trail, state, start_at="1h", lookback="2m")
    emit = Committer(state)
    assert src.poll(emit) == 0
    end = trail.calls[-1].end_time
    assert end is not None
    late = _denial(0)
    # CloudTrail made it visible only now, though it happened during the last pass.
    late["eventTime"] = datetime.fromtimestamp(end - 1, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    trail.add_record(late)
    assert src.poll(emit) == 1
    assert emit.event_ids == [late["eventID"]]
    assert trail.calls[-1].start_time == pytest.approx(end - 120)  # the last end, less 2m


def test_a_crash_before_the_commit_loses_nothing(trail: LookupEventsDouble, state: StateDB) -> None:
    """Failures whose alerts were never committed are reported again after a restart."""
    lost = _denial(2)
    trail.add_record(lost)
    src, _ = _source(trail, state, start_at="30m")
    assert src.poll(Committer(state, commit=False)) == 1
    again, _ = _source(trail, state, start_at="30m")
    emit = Committer(state)
    assert again.poll(emit) == 1 and emit.event_ids == [lost["eventID"]]


def test_an_unparsable_event_is_counted_and_the_others_alerted(
    trail: LookupEventsDouble, state: StateDB
) -> None:
    """A CloudTrailEvent that is not a record is counted; the pass goes on."""
    good = _denial(1)
    trail.add_record(good)
    trail.add_record(_denial(2, "kms:Decrypt"), raw="<html>gateway error</html>")
    src, ctx = _source(trail, state, start_at="1h")
    emit = Committer(state)
    assert src.poll(emit) == 1
    assert emit.event_ids == [good["eventID"]]
    assert ctx.stats["ctl_unparsable_events"] == 1
    assert ctx.stats["ctl_events_read"] == 2


def test_a_refused_lookup_is_counted_and_its_own_denial_alerted_once(
    trail: LookupEventsDouble, state: StateDB
) -> None:
    """AccessDenied on LookupEvents never stops the source and is alerted once with its fix."""
    trail.fail_next("access_denied", 2)
    src, ctx = _source(trail, state)
    emit = Committer(state)
    assert src.poll(emit) == 0
    assert src.poll(emit) == 0
    assert ctx.stats["ctl_pass_errors"] == 2
    own = [f for ev in emit.events for f in ev.failures]
    assert [f.action for f in own] == ["cloudtrail:LookupEvents"]
    assert src.poll(emit) == 0  # the grant arrived: the next pass reads again
    assert trail.calls[-1].error_code is None


def test_config_is_checked_and_the_type_registered() -> None:
    """Bad cloudtrail_lookup options are refused with the key named; the type is registered."""
    assert source_types()["cloudtrail_lookup"] is CLOUDTRAIL_LOOKUP
    cases = [
        ({}, "'regions' is required"),
        ({"region": "us-east-1", "regions": ["eu-west-1"]}, "not both"),
        ({"regions": ["us-east-1"], "start_at": "91d"}, "90 days"),
        ({"regions": ["us-east-1"], "lookup_attribute": "errorCode=AccessDenied"}, "KEY one of"),
        ({"regions": ["us-east-1"], "poll_interval": "0s"}, "above 0s"),
        ({"regions": ["us-east-1"], "filter": "x"}, "unknown key 'filter'"),
    ]
    for table, message in cases:
        with pytest.raises(ConfigError, match=message):
            check(table)
    assert check({"region": "eu-west-1", "lookback": "20m"})["lookback"] == 1200.0


def test_a_first_start_reports_nothing_from_before_it(
    trail: LookupEventsDouble, state: StateDB
) -> None:
    """Without start_at, denials that happened before the first start are not alerted."""
    trail.add_record(_denial(3))
    src, _ = _source(trail, state)
    emit = Committer(state)
    assert src.poll(emit) == 0 and emit.event_ids == []
