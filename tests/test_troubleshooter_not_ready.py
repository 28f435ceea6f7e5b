"""`watch` retries an authorization ID iam-toolbox does not know yet, for a while after a denial."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_faults_loop import AWS_ENV
from test_watch_daemon import write_config

from diagnostics.decode import DecodeSettings
from diagnostics.model import Failure, SourceRef
from diagnostics.service.config import load_config
from diagnostics.service.resolving import DeferringResolver
from diagnostics.testing.toolbox_double import DETAILS, ToolboxDouble
from diagnostics.testing.toolbox_samples import ACCOUNT, SCP_DOCUMENTS, scp_deny_details
from diagnostics.troubleshooter import Resolver

ID = "4k1c8v3b6n0z5l2j7h4g9f1d3s7q2m9x"


class Clock:
    """Both clocks the wrapper reads (monotonic and wall), moved by the test."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def toolbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[ToolboxDouble]:
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    with ToolboxDouble() as double:
        double.add_details(ID, scp_deny_details(), SCP_DOCUMENTS)
        yield double


def _wrapper(toolbox: ToolboxDouble, clock: Clock, window: float = 900.0) -> DeferringResolver:
    settings = DecodeSettings(
        region="us-east-1",
        toolbox_endpoint_url=toolbox.endpoint_url,
        max_per_second=1000.0,
        max_attempts=1,
        retry_mode="standard",
    )
    return DeferringResolver(
        None,
        Resolver(settings),
        deadline=30.0,
        retry_after=15.0,
        not_found_window=window,
        clock=clock,
        wall=clock,
    )


def _failure(event_time: str | None = None) -> Failure:
    return Failure(
        kind="plain",
        source=SourceRef("app.log", 1, 0),
        account_id=ACCOUNT,
        action="s3:PutObject",
        authorization_id=ID,
        event_time=event_time,
    )


def test_not_found_right_after_the_denial_is_retried_until_the_details_exist(
    toolbox: ToolboxDouble,
) -> None:
    """NotFound for the first two calls: alerted as not ready, then again with the details."""
    toolbox.fail_next("not_found", 2, operation=DETAILS)
    clock = Clock()
    wrapper = _wrapper(toolbox, clock)
    try:
        [(_, first)] = list(wrapper.decode_many([_failure()]))
        assert str(first.authorization_error).startswith("authorization details not ready yet")
        assert wrapper.pending == 1 and not wrapper.retry_due()
        clock.now += 16.0
        assert wrapper.retry_due()
        assert list(wrapper.decode_many([])) == [], "still not found: retried later"
        assert wrapper.pending == 1 and not wrapper.retry_due()
        clock.now += 31.0
        [(failure, later)] = list(wrapper.decode_many([]))
    finally:
        wrapper.close()
    assert failure.authorization_id == ID
    assert later.authorization_details is not None and later.authorization_error is None
    assert toolbox.call_count(DETAILS) == 3 and wrapper.recovered == 1


def test_not_found_after_the_window_is_final(toolbox: ToolboxDouble) -> None:
    """An ID still unknown once the window has passed since the denial is reported as gone."""
    toolbox.fail_next("not_found", None, operation=DETAILS)
    clock = Clock()
    wrapper = _wrapper(toolbox, clock, window=60.0)
    try:
        list(wrapper.decode_many([_failure()]))
        clock.now += 61.0
        [(_, final)] = list(wrapper.decode_many([]))
    finally:
        wrapper.close()
    assert "no details for authorization ID" in str(final.authorization_error)
    assert wrapper.pending == 0


def test_not_found_for_an_old_id_is_final_at_once(toolbox: ToolboxDouble) -> None:
    """A denial whose event time is an hour old: NotFound is final in the same batch."""
    toolbox.fail_next("not_found", None, operation=DETAILS)
    clock = Clock()
    wrapper = _wrapper(toolbox, clock)
    try:
        [(_, result)] = list(wrapper.decode_many([_failure(_iso(clock.now - 3600))]))
    finally:
        wrapper.close()
    assert "no details for authorization ID" in str(result.authorization_error)
    assert wrapper.pending == 0 and toolbox.call_count(DETAILS) == 1


def test_the_window_is_configurable(tmp_path: Path) -> None:
    """`[troubleshooter] not_found_window` is read as a duration; 15 minutes by default."""
    cfg = write_config(tmp_path, f'[[source]]\ntype = "file"\npaths = ["{tmp_path}/*.log"]\n')
    assert load_config(cfg).troubleshooter.not_found_window == 900.0
    cfg.write_text(cfg.read_text() + '[troubleshooter]\nnot_found_window = "5m"\n')
    assert load_config(cfg).troubleshooter.not_found_window == 300.0


def _iso(when: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
