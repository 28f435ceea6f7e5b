"""``DeadlineDecoder``: a real ``Decoder`` over HTTP to the STS double, behind a batch deadline."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from diagnostics.decode import Decoder, DecodeSettings
from diagnostics.model import Failure, SourceRef
from diagnostics.service.decoding import DeadlineDecoder
from diagnostics.testing import StsDouble, decoded_message, fake_blob


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")


def settings(endpoint: str, **kw: float) -> DecodeSettings:
    return DecodeSettings(
        endpoint_url=endpoint,
        region="us-east-1",
        max_per_second=1000.0,
        retry_mode="standard",
        max_attempts=1,
        timeout=kw.get("timeout", 10.0),
    )


def encoded(i: int) -> Failure:
    return Failure("encoded", SourceRef("-", i), encoded_message=fake_blob(i))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def slow_sts() -> Iterator[StsDouble]:
    with StsDouble(latency=4.0, default=lambda blob, call: decoded_message()) as d:
        yield d


def test_a_batch_never_waits_past_its_deadline(slow_sts: StsDouble) -> None:
    """STS answering after 4 s with a 1 s deadline: results at 1 s, deferred, heartbeats sent."""
    beats: list[float] = []
    dd = DeadlineDecoder(
        Decoder(settings(slow_sts.endpoint_url)),
        deadline=1.0,
        heartbeat=lambda: beats.append(time.monotonic()),
    )
    start = time.monotonic()
    pairs = list(dd.decode_many([encoded(i) for i in range(3)]))
    took = time.monotonic() - start
    assert took < 1.6
    assert [p[0].source.line for p in pairs] == [0, 1, 2], "input order is kept"
    assert all((r.error or "").startswith("decode deferred: STS is slow") for _, r in pairs)
    assert "batch_deadline" in (pairs[0][1].error or "")
    assert len(beats) >= 2, "the watchdog is fed while waiting"
    assert dd.breaker_open() and dd.deferred == 3


def test_open_breaker_defers_without_calling_sts_and_closes_after_cooldown(
    slow_sts: StsDouble,
) -> None:
    """After a late batch, the next one is answered at once; STS is tried again after cooldown."""
    clock = Clock()
    dd = DeadlineDecoder(
        Decoder(settings(slow_sts.endpoint_url)), deadline=0.5, cooldown=30.0, clock=clock
    )
    # The injected clock does not move by itself, so advance it from the heartbeat.
    dd.heartbeat = lambda: setattr(clock, "now", clock.now + 0.3)
    list(dd.decode_many([encoded(1)]))
    calls = slow_sts.call_count()
    start = time.monotonic()
    pairs = list(dd.decode_many([encoded(2), Failure("plain", SourceRef("-"))]))
    assert time.monotonic() - start < 0.2
    assert (pairs[0][1].error or "").startswith("decode deferred")
    assert pairs[1][1].error is None, "a failure without a blob is not 'deferred'"
    assert slow_sts.call_count() == calls
    clock.now += 31.0
    assert not dd.breaker_open()


def test_cached_blobs_are_still_decoded_while_the_breaker_is_open() -> None:
    """A blob decoded earlier comes from the cache while STS is considered down."""
    with StsDouble(default=lambda blob, call: decoded_message(action="ec2:RunInstances")) as sts:
        clock = Clock()
        dd = DeadlineDecoder(Decoder(settings(sts.endpoint_url)), deadline=5.0, clock=clock)
        [(_, first)] = list(dd.decode_many([encoded(7)]))
        assert first.decoded is not None
        dd._trip("deadline", 1)  # as if the next batch had been late
        [(_, again)] = list(dd.decode_many([encoded(7)]))
    assert again.decoded == first.decoded and again.error is None


def test_unreachable_sts_opens_the_breaker() -> None:
    """Connection refused for every blob: results say unreachable, later batches are deferred."""
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dd = DeadlineDecoder(Decoder(settings(f"http://127.0.0.1:{port}", timeout=1.0)), deadline=10.0)
    first = list(dd.decode_many([encoded(i) for i in range(3)]))
    assert all(r.error and "decode deferred" not in r.error for _, r in first)
    assert dd.breaker_open()
    [(_, later)] = list(dd.decode_many([encoded(9)]))
    assert (later.error or "").startswith("decode deferred")
