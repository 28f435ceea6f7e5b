"""`watch` resolves authorization IDs as they arrive: in the batch, or deferred and retried."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from test_faults_loop import AWS_ENV, TimedDaemon
from test_watch_daemon import write_config

from diagnostics.decode import Decoder, DecodeSettings
from diagnostics.model import DecodeResult, Failure, SourceRef
from diagnostics.service.decoding import DeadlineDecoder
from diagnostics.service.resolving import DeferringResolver
from diagnostics.testing.toolbox_double import DETAILS, ToolboxDouble
from diagnostics.testing.toolbox_samples import ACCOUNT, SCP_DOCUMENTS, scp_deny_details
from diagnostics.troubleshooter import Resolver

ID = "7q2m9x4k1c8v3b6n0z5l2j7h4g9f1d3s"


@pytest.fixture
def toolbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[ToolboxDouble]:
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    with ToolboxDouble() as double:
        double.add_details(ID, scp_deny_details(), SCP_DOCUMENTS)
        yield double


def _failure(authorization_id: str = ID) -> Failure:
    return Failure(
        kind="plain",
        source=SourceRef("app.log", 1, 0),
        account_id=ACCOUNT,
        action="s3:PutObject",
        authorization_id=authorization_id,
    )


def _wrapper(toolbox: ToolboxDouble, deadline: float, **kw: Any) -> DeferringResolver:
    settings = DecodeSettings(
        region="us-east-1",
        toolbox_endpoint_url=toolbox.endpoint_url,
        max_per_second=1000.0,
        max_attempts=1,
        retry_mode="standard",
    )
    inner = DeadlineDecoder(Decoder(settings), deadline=deadline)
    return DeferringResolver(inner, Resolver(settings), deadline=deadline, **kw)


def _errors(pairs: list[tuple[Failure, DecodeResult]]) -> list[str | None]:
    return [r.authorization_error for _, r in pairs]


def test_batch_resolves_within_the_deadline(toolbox: ToolboxDouble) -> None:
    """A healthy iam-toolbox answers inside the batch: details attached, nothing deferred."""
    wrapper = _wrapper(toolbox, 5.0)
    try:
        [(_, result)] = list(wrapper.decode_many([_failure()]))
    finally:
        wrapper.close()
    assert result.authorization_details is not None and result.authorization_error is None
    assert wrapper.pending == 0


class HeldToolbox(ToolboxDouble):
    """The iam-toolbox double, answering only once the test calls ``release()``."""

    def __init__(self) -> None:
        super().__init__()
        self.released = threading.Event()

    def handle_get(
        self, path: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, Mapping[str, str], bytes] | None:
        self.released.wait(120)
        return super().handle_get(path, query, headers)


def test_slow_answer_is_deferred_then_alerted_with_details(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slower than the deadline: alerted at once as deferred (pinging), then again once resolved."""
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    beats: list[float] = []
    with HeldToolbox() as toolbox:
        toolbox.add_details(ID, scp_deny_details(), SCP_DOCUMENTS)
        wrapper = _wrapper(toolbox, 0.3, heartbeat=lambda: beats.append(time.monotonic()))
        try:
            # The answer is held until release(): only the deadline lets the batch return.
            [(_, first)] = list(wrapper.decode_many([_failure()]))
            assert str(first.authorization_error).startswith("resolving deferred")
            assert wrapper.breaker_open() and wrapper.pending == 1 and beats
            toolbox.released.set()
            deadline = time.monotonic() + 60  # a bound for a hang
            while not wrapper.retry_due() and time.monotonic() < deadline:
                time.sleep(0.05)
            # An open breaker stops new calls, not the collection of a finished one.
            [(failure, later)] = list(wrapper.decode_many([]))
        finally:
            toolbox.released.set()
            wrapper.close()
    assert failure.authorization_id == ID
    assert later.authorization_details is not None and later.authorization_error is None
    assert wrapper.recovered == 1 and wrapper.pending == 0
    assert toolbox.call_count(DETAILS) == 1, "the background call's answer was reused"


def test_throttled_after_retries_is_retried_later(toolbox: ToolboxDouble) -> None:
    """Throttled past botocore's retries: deferred, then resolved on a later retry."""
    toolbox.fail_next("throttle", 1, operation=DETAILS)
    wrapper = _wrapper(toolbox, 5.0, retry_after=0.0)
    try:
        first = list(wrapper.decode_many([_failure()]))
        assert _errors(first)[0] is not None and wrapper.pending == 1
        assert wrapper.retry_due()
        # The retry is submitted and waited for within the batch deadline.
        [(_, later)] = list(wrapper.decode_many([]))
    finally:
        wrapper.close()
    assert later.authorization_details is not None
    assert [c.error_code for c in toolbox.calls if c.operation == DETAILS] == [
        "ThrottlingException",
        None,
    ]


def test_open_breaker_defers_without_calling(toolbox: ToolboxDouble) -> None:
    """While the breaker is open, new IDs are deferred with no iam-toolbox call."""
    wrapper = _wrapper(toolbox, 5.0)
    try:
        wrapper.trip("test", 1)
        pairs = list(wrapper.decode_many([_failure("abc123")]))
    finally:
        wrapper.close()
    assert toolbox.calls == []
    assert str(_errors(pairs)[0]).startswith("resolving deferred") and wrapper.pending == 1


def test_not_found_for_an_old_denial_is_final_not_retried(toolbox: ToolboxDouble) -> None:
    """A 404 for a denial older than the not-ready window is final: reported, never retried."""
    wrapper = _wrapper(toolbox, 5.0)
    old = dataclasses.replace(_failure("unknown1"), event_time="2020-01-01T00:00:00Z")
    try:
        pairs = list(wrapper.decode_many([old]))
    finally:
        wrapper.close()
    assert "no details for authorization ID unknown1" in str(_errors(pairs)[0])
    assert wrapper.pending == 0


def _config(tmp: Path, logdir: Path, toolbox: ToolboxDouble, deadline: str) -> Path:
    cfg = write_config(
        tmp, f'[[source]]\ntype = "file"\npaths = ["{logdir}/*.log"]\nstart_at = "end"\n'
    )
    # A second alert for the same group must not wait an hour (group_interval).
    cfg.write_text(
        cfg.read_text()
        .replace('group_interval = "1h"', 'group_interval = "0s"')
        .replace(
            "[decode]\nenabled = false\n",
            "[decode]\nenabled = true\n"
            f'region = "us-east-1"\ntoolbox_endpoint_url = "{toolbox.endpoint_url}"\n'
            f'max_attempts = 1\nbatch_deadline = "{deadline}"\n',
        )
    )
    return cfg


DENY = (
    f"User: arn:aws:sts::{ACCOUNT}:assumed-role/AppDeployer/ci is not authorized to perform: "
    "s3:PutObject on resource: arn:aws:s3:::example-artifacts/build/app-0.zip with an explicit "
    "deny in a service control policy.\nGo to https://us-east-1.console.aws.amazon.com/iam/home"
    f"?region=us-east-1#/authorization-details/{ID} for complete details, or call the "
    f"GetRequestAuthorizationDetails API with the following authorization id: {ID}\n"
)


@pytest.mark.slow
def test_daemon_resolves_ids_as_they_arrive(toolbox: ToolboxDouble, tmp_path: Path) -> None:
    """The real daemon alerts a wrapped denial with its details from the iam-toolbox double."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    d = TimedDaemon(tmp_path, _config(tmp_path, logdir, toolbox, "5s"), env=AWS_ENV)
    try:
        d.wait_ready()
        (logdir / "app.log").write_text(DENY)
        d.wait_for(lambda: len(d.diagnoses()) >= 1, 30, "one diagnosis")
    finally:
        assert d.stop() == 0
    [obj] = d.diagnoses()
    assert obj["authorization_id"] == ID
    assert obj["authorization_details"]["authorizationId"] == ID


@pytest.mark.slow
def test_daemon_defers_a_slow_id_and_alerts_again_with_details(
    toolbox: ToolboxDouble, tmp_path: Path
) -> None:
    """iam-toolbox slower than the batch deadline: a deferred alert first, the details later."""
    toolbox.latency = 2.5
    logdir = tmp_path / "logs"
    logdir.mkdir()
    d = TimedDaemon(tmp_path, _config(tmp_path, logdir, toolbox, "1s"), env=AWS_ENV)
    try:
        d.wait_ready()
        (logdir / "app.log").write_text(DENY)
        d.wait_for(
            lambda: any(x.get("authorization_details") for x in d.diagnoses()), 60, "details"
        )
    finally:
        assert d.stop() == 0
    errors = [x.get("authorization_error") or "" for x in d.diagnoses()]
    assert errors[0].startswith("resolving deferred")
    assert any(e.get("event") == "resolve.deferred" for e in d.logs())


def test_blob_and_id_both_answer_in_one_batch(toolbox: ToolboxDouble) -> None:
    """A watch batch decodes the EC2 blob with STS and resolves the ID beside it."""
    from diagnostics.testing.sts_double import StsDouble, decoded_message, fake_blob

    blob = fake_blob("watch-both", 700)
    with StsDouble() as sts:
        sts.add_message(blob, decoded_message(action="ec2:RunInstances"))
        settings = DecodeSettings(
            region="us-east-1",
            endpoint_url=sts.endpoint_url,
            toolbox_endpoint_url=toolbox.endpoint_url,
            max_per_second=1000.0,
        )
        inner = DeadlineDecoder(Decoder(settings), deadline=5.0)
        wrapper = DeferringResolver(inner, Resolver(settings), deadline=5.0)
        try:
            failure = Failure(
                kind="encoded",
                source=SourceRef("app.log", 1, 0),
                account_id=ACCOUNT,
                encoded_message=blob,
                authorization_id=ID,
            )
            [(_, result)] = list(wrapper.decode_many([failure]))
        finally:
            wrapper.close()
    assert result.decoded is not None and result.error is None
    assert result.authorization_details is not None and result.authorization_error is None
    assert sts.call_count() == 1 and toolbox.call_count(DETAILS) == 1
