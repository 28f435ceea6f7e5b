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
    done = time.monotonic()
    took = done - start
    # Back before STS's 4 s answer once the wait began (a 1.6 s bound failed at load 6;
    # from the start, a loaded run took 4.0 s, time spent before the wait began (such
    # as building the boto3 client), which this bound does not measure:
    # the deferral itself is asserted below, the bound only proves nobody waited for STS).
    assert beats, "the watchdog is fed while waiting"
    assert done - beats[0] < 3.0
    assert [p[0].source.line for p in pairs] == [0, 1, 2], "input order is kept"
    assert all((r.error or "").startswith("decode deferred: STS is slow") for _, r in pairs)
    assert "batch_deadline" in (pairs[0][1].error or "")
    # At least once: how many more depends on how late a loaded machine wakes the wait
    # (the cadence is asserted on a clock that moves only with the heartbeat, below).
    assert beats and beats[0] - start < took, "the watchdog is fed while waiting"
    assert dd.breaker_open() and dd.deferred == 3


def test_the_watchdog_is_fed_every_heartbeat_interval_of_a_wait(slow_sts: StsDouble) -> None:
    """A 1 s deadline waited out in 0.3 s steps (a clock that moves only at each heartbeat):
    the watchdog is fed at each step, four times, not once at the end."""
    clock = Clock()
    beats: list[float] = []

    def beat() -> None:
        beats.append(clock.now)
        clock.now += 0.3

    dd = DeadlineDecoder(
        Decoder(settings(slow_sts.endpoint_url)), deadline=1.0, clock=clock, heartbeat=beat
    )
    [(_, result)] = list(dd.decode_many([encoded(7)]))
    assert (result.error or "").startswith("decode deferred")
    assert [round(b - 1000.0, 1) for b in beats] == [0.0, 0.3, 0.6, 0.9]


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
        dd.trip("deadline", 1)  # as if the next batch had been late
        [(_, again)] = list(dd.decode_many([encoded(7)]))
    assert again.decoded == first.decoded and again.error is None


def test_unreachable_sts_opens_the_breaker() -> None:
    """Connection refused for every blob: results say unreachable, later batches are deferred."""
    # Bound but never listening: connections are refused, and while it stays bound no
    # other process (a parallel test worker) can start listening on the port.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        dd = DeadlineDecoder(Decoder(settings(url, timeout=1.0)), deadline=10.0)
        first = list(dd.decode_many([encoded(i) for i in range(3)]))
        assert all(r.error and "decode deferred" not in r.error for _, r in first)
        assert dd.breaker_open()
        [(_, later)] = list(dd.decode_many([encoded(9)]))
    assert (later.error or "").startswith("decode deferred")


def test_a_deferred_decode_is_retried_and_yielded_once_sts_answers() -> None:
    """STS slow, then healthy: the deferred blob is decoded on a later (empty) batch, once."""
    with StsDouble(latency=4.0, default=lambda blob, call: decoded_message()) as sts:
        clock = Clock()
        dd = DeadlineDecoder(
            Decoder(settings(sts.endpoint_url)),
            deadline=0.5,
            cooldown=30.0,
            retry_after=15.0,
            clock=clock,
        )
        dd.heartbeat = lambda: setattr(clock, "now", clock.now + 0.3)
        first = list(dd.decode_many([encoded(1), encoded(1)]))
        assert all((r.error or "").startswith("decode deferred") for _, r in first)
        assert dd.deferred == 2 and dd.pending == 1, "one retry per blob"
        assert not dd.retry_due(), "not before the breaker closes and the backoff ends"
        sts.latency = 0.0  # STS recovers
        clock.now += 31.0
        # The frozen clock cannot pass the deadline: the retry waits behind the
        # first (slow) call still in flight, however loaded the machine is.
        dd.heartbeat = lambda: None
        assert dd.retry_due()
        retried = list(dd.decode_many([]))
        assert not dd.retry_due() and dd.pending == 0
        assert list(dd.decode_many([])) == [], "yielded once"
    [(failure, result)] = retried
    assert failure.encoded_message == fake_blob(1) and failure.source.line == 1
    assert result.decoded is not None and result.error is None
    assert dd.recovered == 1 and dd.abandoned == 0


def test_a_decode_late_on_every_retry_is_given_up_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Backoff doubles between retries; after MAX_ATTEMPTS late answers the blob is dropped."""
    from structlog.testing import capture_logs

    from diagnostics.service import decoding

    monkeypatch.setattr(decoding, "MAX_ATTEMPTS", 2)
    with StsDouble(latency=4.0, default=lambda blob, call: decoded_message()) as sts:
        clock = Clock()
        dd = DeadlineDecoder(
            Decoder(settings(sts.endpoint_url)), deadline=0.5, retry_after=15.0, clock=clock
        )
        dd.heartbeat = lambda: setattr(clock, "now", clock.now + 0.3)
        list(dd.decode_many([encoded(3)]))
        clock.now += 31.0  # the breaker closes; the first retry is due (15 s)
        with capture_logs() as logs:
            assert list(dd.decode_many([])) == [], "late again: nothing to yield"
            assert dd.pending == 1
            clock.now += 31.0  # breaker closed; but the second retry waits 30 s from then
            assert dd.retry_due()
            assert list(dd.decode_many([])) == []
    assert dd.pending == 0 and dd.abandoned == 1 and dd.recovered == 0
    assert [e["event"] for e in logs if e["event"] == "decode.abandoned"] == ["decode.abandoned"]


def test_the_resolver_passes_retried_decodes_through() -> None:
    """``DeferringResolver`` around the deadline decoder: a retried decode reaches the pipeline."""
    from diagnostics.service.resolving import DeferringResolver
    from diagnostics.troubleshooter import Resolver

    with StsDouble(latency=4.0, default=lambda blob, call: decoded_message()) as sts:
        clock = Clock()
        inner = DeadlineDecoder(
            Decoder(settings(sts.endpoint_url)), deadline=0.5, retry_after=15.0, clock=clock
        )
        inner.heartbeat = lambda: setattr(clock, "now", clock.now + 0.3)
        outer = DeferringResolver(
            inner, Resolver(settings(sts.endpoint_url)), deadline=0.5, clock=clock
        )
        [(_, deferred)] = list(outer.decode_many([encoded(5)]))
        assert (deferred.error or "").startswith("decode deferred")
        sts.latency = 0.0
        clock.now += 31.0
        inner.heartbeat = lambda: None  # the frozen clock: no deadline while the first call ends
        assert outer.retry_due(), "the daemon's idle tick asks the resolver"
        pairs = list(outer.decode_many([encoded(6)]))
    assert [p[0].source.line for p in pairs] == [6, 5], "the batch first, then the retry"
    assert all(r.decoded is not None for _, r in pairs)
