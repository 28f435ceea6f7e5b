"""The Slack sink against the loopback receiver: order, rate limit, retries, spool, secrets."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from diagnostics.alerts import Alert, AlertManager, AlertSettings
from diagnostics.model import Diagnosis, Finding, Fix
from diagnostics.sinks import SlackSink, build_payload
from diagnostics.support.state import StateDB
from diagnostics.testing.alert_examples import (
    hostile_log_values,
    run_instances_implicit_deny,
    s3_explicit_deny_scp,
)
from diagnostics.testing.slack_receiver import SlackReceiver, check_payload


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def alert_for(d: Diagnosis, n: int = 0) -> Alert:
    """A new-group alert for ``d``, made distinct by ``n`` (its count)."""
    from diagnostics.alerts import group_key

    return Alert(
        key=group_key(d),
        status="new",
        count=n + 1,
        first_seen=1_700_000_000.0,
        last_seen=1_700_000_000.0 + n,
        sources=(f"app.log:{n + 1}",),
        samples=(),
        diagnosis=d,
        diagnoses=(d,),
        sources_total=1,
        new_count=n + 1,
    )


def counts(rx: SlackReceiver) -> list[int]:
    """The alert number (its count field) of each accepted post, in arrival order."""
    out = []
    for p in rx.accepted:
        header = p.json["blocks"][0]["text"]["text"]
        out.append(1 if "(once)" in header else int(header.rsplit("(", 1)[1].rstrip("×)")))
    return out


@pytest.fixture
def rx() -> object:
    with SlackReceiver() as receiver:
        yield receiver


def test_delivers_in_order_at_most_one_per_second(rx: SlackReceiver) -> None:
    """Three alerts arrive in order, at least a second apart (the default rate limit)."""
    sink = SlackSink("slack", rx.url, timeout=5)
    sink.send([alert_for(run_instances_implicit_deny(), n) for n in range(3)])
    assert rx.wait_for(3, timeout=60)
    sink.close(1)
    assert counts(rx) == [1, 2, 3]
    times = [p.time for p in rx.accepted]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(g >= 0.95 for g in gaps), gaps
    assert rx.violations == []


def test_429_retry_after_is_honoured() -> None:
    """After a 429 with Retry-After: 7 the sink waits 7 seconds before posting again."""
    clock = Clock()
    with SlackReceiver(clock=clock) as rx:
        sink = SlackSink("slack", rx.url, clock=clock, start=False, timeout=5)
        rx.rate_limit(retry_after=7)
        sink.send([alert_for(s3_explicit_deny_scp())])
        assert sink.step() == 7
        clock.now += 3
        assert sink.step() == pytest.approx(4)
        assert len(rx.posts) == 1
        clock.now += 4
        assert sink.step() == 0
        assert [p.status for p in rx.posts] == [429, 200]
        assert sink.step() is None


def test_5xx_backs_off_exponentially_capped_then_recovers() -> None:
    """Six 500s are retried after 1, 2, 4, 8, 10, 10 s (capped); then the message is delivered."""
    clock = Clock()
    with SlackReceiver(clock=clock) as rx:
        sink = SlackSink("slack", rx.url, clock=clock, start=False, backoff_cap=10, timeout=5)
        rx.fail(500, count=6)
        sink.send([alert_for(s3_explicit_deny_scp(), n) for n in range(2)])
        waits = []
        while (w := sink.step()) is not None:
            if w:
                waits.append(w)
            clock.now += w
        assert waits[:6] == [1, 2, 4, 8, 10, 10]
        assert counts(rx) == [1, 2]
        assert sink.delivered == 2


def test_hanging_webhook_times_out_and_retries() -> None:
    """A webhook that never answers times out, and the message goes out on the next try."""
    with SlackReceiver() as rx:
        sink = SlackSink("slack", rx.url, start=False, timeout=0.3, max_per_second=100)
        rx.hang(seconds=5)
        sink.send([alert_for(s3_explicit_deny_scp())])
        with capture_logs() as logs:
            assert sink.step() == 1.0
        assert logs[0]["event"] == "slack.unavailable"
        assert "Timeout" in logs[0]["reason"] or "timed out" in logs[0]["reason"]
        sink._not_before = 0.0  # skip the backoff wait in real time
        assert sink.step() == 0
        assert len(rx.accepted) == 1


def test_spool_is_bounded_drops_newest_counted_and_drains_in_order() -> None:
    """With Slack down, a spool full of one account's first alerts drops the newest (the
    account's oldest stays; counted, logged once); the rest drain in order."""
    clock = Clock()
    with SlackReceiver(clock=clock) as rx:
        rx.fail(503, for_seconds=60)
        sink = SlackSink("slack", rx.url, clock=clock, start=False, spool_max=5, timeout=5)
        with capture_logs() as logs:
            for n in range(8):
                sink.send([alert_for(run_instances_implicit_deny(), n)])
                w = sink.step()
                clock.now += 1
        assert sink.spooled() == 5
        assert sink.dropped == 3
        full = [e for e in logs if e["event"] == "slack.spool_full"]
        # Logged at once, then summarised once a minute (not a line per drop).
        assert [(e["dropped"], e["dropped_total"]) for e in full] == [(1, 1)]
        clock.now += 120
        while (w := sink.step()) is not None:
            clock.now += w
        assert counts(rx) == [1, 2, 3, 4, 5]


def test_ten_minute_outage(tmp_path: Path) -> None:
    """A 10-minute outage: every alert is spooled, none dropped, all delivered in order after."""
    clock = Clock()
    state = StateDB.in_dir(tmp_path)
    with SlackReceiver(clock=clock) as rx:
        rx.fail(500, for_seconds=600)
        sink = SlackSink("slack", rx.url, clock=clock, start=False, state=state, timeout=5)
        next_alert, made, wake = clock.now, 0, clock.now
        attempts_during_outage = 0
        peak = 0
        start = clock.now
        # One new alert every 5 s for the 10 minutes; the worker steps when it asks to.
        while made < 120 or sink.spooled():
            clock.now = min(next_alert, wake) if made < 120 else wake
            if made < 120 and clock.now >= next_alert:
                sink.send([alert_for(run_instances_implicit_deny(), made)])
                made += 1
                next_alert += 5
            if clock.now >= wake:
                before = len(rx.posts)
                w = sink.step()
                if clock.now - start < 600:
                    attempts_during_outage += len(rx.posts) - before
                wake = clock.now + (w if w is not None else 5)
            peak = max(peak, sink.spooled())
        done = clock.now - start
    assert counts(rx) == list(range(1, 121))
    assert sink.dropped == 0
    assert rx.violations == []
    # Backoff caps at 60 s, so Slack is probed about once a minute while down.
    assert attempts_during_outage <= 16
    assert 100 <= peak <= 120
    assert done < 600 + 60 + 120  # after recovery (<= one cap) it drains at 1/s
    print(
        f"\n10-minute outage: {made} alerts, peak spool {peak}, {attempts_during_outage} "
        f"attempts while down, {len(rx.accepted)} delivered, {sink.dropped} dropped, "
        f"all delivered {done - 600:.0f} s after recovery"
    )


def test_spool_survives_restart(tmp_path: Path) -> None:
    """Alerts spooled while Slack is down are delivered, in order, by the next process."""
    clock = Clock()
    with SlackReceiver(clock=clock) as rx:
        rx.fail(500, count=1)
        db = StateDB.in_dir(tmp_path)
        sink = SlackSink("slack", rx.url, clock=clock, start=False, state=db, timeout=5)
        sink.send([alert_for(s3_explicit_deny_scp(), n) for n in range(3)])
        assert sink.step() == 1.0
        db.close()
        sink2 = SlackSink(
            "slack", rx.url, clock=clock, start=False, state=StateDB.in_dir(tmp_path), timeout=5
        )
        while (w := sink2.step()) is not None:
            clock.now += w
        assert counts(rx) == [1, 2, 3]


def test_close_drains_spool_with_worker(rx: SlackReceiver) -> None:
    """close() gives the worker time to deliver what is spooled."""
    sink = SlackSink("slack", rx.url, max_per_second=20, timeout=5)
    sink.send([alert_for(s3_explicit_deny_scp(), n) for n in range(4)])
    sink.close(5)
    assert counts(rx) == [1, 2, 3, 4]
    assert sink.spooled() == 0


def test_one_failing_sink_does_not_block_slack(rx: SlackReceiver) -> None:
    """A broken file sink does not stop the Slack sink receiving the alert."""
    from diagnostics.sinks import FileSink

    broken = FileSink("file", Path("/nonexistent-dir/alerts.jsonl"))
    slack = SlackSink("slack", rx.url, timeout=5)
    m = AlertManager(AlertSettings(group_wait=0), None, [broken, slack])
    with capture_logs() as logs:
        m.add(s3_explicit_deny_scp())
        m.tick()
    assert rx.wait_for(1, timeout=60)
    slack.close(1)
    assert any(e["event"] == "alert.sink_failed" and e["sink"] == "file" for e in logs)


def test_webhook_url_never_in_logs_errors_repr_or_state(tmp_path: Path) -> None:
    """Through 500s, 429s, rejections, timeouts and refused connections the URL is never shown."""
    clock = Clock()
    db = StateDB.in_dir(tmp_path)
    rx = SlackReceiver(clock=clock, max_total=10).start()
    url = rx.url
    sink = SlackSink("slack", url, clock=clock, start=False, state=db, timeout=0.3)
    with capture_logs() as logs:
        rx.fail(500)
        rx.rate_limit(3)
        rx.hang(2)
        rx.fail(404)
        sink.send([alert_for(hostile_log_values(), n) for n in range(2)])
        for _ in range(5):  # 500, 429, hang, 404, then 400 from the size check
            sink.step()
            clock.now += 1000
        rx.stop()
        sink.step()  # connection refused
        sink.close(0)
    assert {e["event"] for e in logs} >= {
        "slack.unavailable",
        "slack.rate_limited",
        "slack.webhook_refused",
        "slack.message_rejected",
    }
    secret = "xoxwebhooksecret"
    assert secret in url
    text = repr(logs) + repr(sink) + str(vars(sink).get("post"))
    assert secret not in text
    assert "T0SECRET" not in text
    db.close()
    for f in tmp_path.iterdir():
        assert secret.encode() not in f.read_bytes()


def test_log_markup_is_escaped(rx: SlackReceiver) -> None:
    """<!channel>, <http://x|y> and terminal escapes from logs reach Slack inert."""
    sink = SlackSink("slack", rx.url, timeout=5)
    sink.send([alert_for(hostile_log_values())])
    assert rx.wait_for(1, timeout=60)
    sink.close(1)
    body = rx.accepted[0].body.decode()
    assert rx.violations == []
    assert "<!channel>" not in body
    assert "&lt;!channel&gt;" in body
    assert "&lt;http[:]//evil.example|click me&gt;&amp;" in body  # shown, never a link
    assert "\x1b" not in body and "\\u001b" not in body


def huge_diagnosis() -> Diagnosis:
    d = run_instances_implicit_deny()
    fix = d.findings[0].fixes[0]
    big_fix = dataclasses.replace(fix, statements=tuple(fix.statements) * 200)
    findings = tuple(
        Finding(f"rule.{i}", "T" * 500, "high", "explanation " * 800, (big_fix,) * 3)
        for i in range(40)
    )
    decoded = dict(d.decoded or {}, padding=["x" * 1000] * 100)
    return dataclasses.replace(d, findings=findings, decoded=decoded)


@pytest.mark.parametrize("detail", ["summary", "full"])
def test_huge_diagnosis_fits_block_kit_limits(detail: str) -> None:
    """A diagnosis with 40 huge findings becomes a payload within every Block Kit limit."""
    d = huge_diagnosis()
    payload = build_payload(alert_for(d), detail)  # type: ignore[arg-type]
    assert check_payload(payload) == []
    assert len(payload["blocks"]) <= 50
    assert any("more" in str(b) for b in payload["blocks"])


def test_huge_diagnosis_accepted_by_receiver(rx: SlackReceiver) -> None:
    """The receiver accepts the payload of a huge diagnosis (no invalid_blocks)."""
    sink = SlackSink("slack", rx.url, timeout=5, detail="full")
    sink.send([alert_for(huge_diagnosis())])
    assert rx.wait_for(1, timeout=60)
    sink.close(1)
    assert rx.violations == []


def test_receiver_rejects_oversized_payload(rx: SlackReceiver) -> None:
    """The receiver answers 400 invalid_blocks to a payload over the limits, and records why."""
    import urllib.error
    import urllib.request

    body = (
        b'{"text": "x", "blocks": ['
        + b",".join([b'{"type": "section", "text": {"type": "mrkdwn", "text": "y"}}'] * 51)
        + b"]}"
    )
    req = urllib.request.Request(rx.url, data=body, method="POST")  # noqa: S310 - loopback
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)  # noqa: S310 - loopback
    assert err.value.code == 400
    assert any("51 blocks" in v for v in rx.violations)


def test_summary_detail_leaves_out_decoded_context() -> None:
    """Slack's default summary carries no raw decoded context, only a statement summary."""
    d = run_instances_implicit_deny()
    assert d.decoded is not None
    summary = str(build_payload(alert_for(d), "summary"))
    full = str(build_payload(alert_for(d), "full"))
    assert "AROAEXAMPLEID" not in summary
    assert "AROAEXAMPLEID" in full


def test_fix_placeholder_when_no_fix() -> None:
    """An explicit deny with no fix says there is nothing to add."""
    payload = build_payload(alert_for(s3_explicit_deny_scp()))
    assert "no statement to add" in str(payload)
    assert Fix  # the type is used by the golden examples
