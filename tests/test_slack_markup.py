"""Slack: a log writer's bold, italics, strike-through, links and @here are shown, never applied."""

from __future__ import annotations

from pathlib import Path

import orjson
from test_output_safety import cloudtrail_record

from diagnostics.alerts import Alert
from diagnostics.diagnose.pipeline import Pipeline
from diagnostics.extract import extract_path, extract_text
from diagnostics.model import DecodeResult, InputStats
from diagnostics.rules import RuleSet, bundled_rules_dir
from diagnostics.sinks import SlackSink, build_payload
from diagnostics.testing.alert_capture import alerts_for
from diagnostics.testing.slack_receiver import SlackReceiver, check_payload, outside_code

ACCOUNT = "123456789012"
#: What Slack would format, link or ping if it were outside a code span.
MARKERS = ("*pwned*", "_pwned_", "~pwned~", "https://evil.example", "@here", "@channel")
FREE_TEXT = "k *pwned* _pwned_ ~pwned~ `tick` https://evil.example/x @here @channel"


def _alerts(tmp_path: Path) -> list[Alert]:
    """Real alerts from a hostile CloudTrail record and hostile log lines."""
    trail = tmp_path / "trail.json"
    record = cloudtrail_record(
        errorMessage="Access Denied",
        userIdentity={"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/@here"},
        requestParameters={"bucketName": "b", "key": FREE_TEXT},
        eventID="e1",
    )
    trail.write_bytes(orjson.dumps({"Records": [record]}))
    failures = list(extract_path(trail, InputStats()))
    for marker in ("*pwned*", "_pwned_", "~pwned~"):
        failures += extract_text(
            f"app ERROR User: arn:aws:iam::{ACCOUNT}:user/p{marker} is not authorized to "
            f"perform: s3:GetObject on resource: arn:aws:s3:::b/https://evil.example/{marker} "
            "because no identity-based policy allows the s3:GetObject action\n",
            "app_pwned_.log",
        )
    assert len(failures) == 4
    pipe = Pipeline(RuleSet.load([bundled_rules_dir()]))
    kept = alerts_for(
        (pipe.diagnose_one(f, DecodeResult()), f"sample {FREE_TEXT}") for f in failures
    )
    assert len(kept) == 4
    return kept


def _texts(payload: dict[str, object]) -> list[str]:
    """The fallback text and every mrkdwn text of a webhook body."""
    out = [str(payload["text"])]
    for block in payload["blocks"]:  # type: ignore[attr-defined]
        if block.get("text"):
            out.append(block["text"]["text"])
        out += [f["text"] for f in block.get("fields", [])]
        out += [e["text"] for e in block.get("elements", [])]
    return out


def test_every_log_value_is_inside_a_code_span(tmp_path: Path) -> None:
    """Outside code spans, no text of the message carries a log writer's markup, link or ping."""
    for detail in ("summary", "full"):
        (tmp_path / detail).mkdir()
        for alert in _alerts(tmp_path / detail):
            payload = build_payload(alert, detail)  # type: ignore[arg-type]
            assert payload["unfurl_links"] is False
            for text in _texts(payload):
                plain = outside_code(text)
                for marker in MARKERS:
                    assert marker not in plain, (marker, text)
            # Shown, not lost: the values are still there, inside code.
            assert "pwned" in orjson.dumps(payload).decode()


def test_fallback_text_puts_log_values_in_code_spans(tmp_path: Path) -> None:
    """The notification text (push previews) shows the principal and resource as code."""
    alert = _alerts(tmp_path)[0]
    text = build_payload(alert)["text"]
    assert f"`arn:aws:iam::{ACCOUNT}:user/@here`" in text
    assert "@here" not in outside_code(text)


def test_slack_receiver_accepts_hostile_alerts_and_sees_no_live_formatting(tmp_path: Path) -> None:
    """Through the real sink over HTTP, the receiver finds no markup, link or ping outside code."""
    alerts = _alerts(tmp_path)
    with SlackReceiver() as rx:
        sink = SlackSink("slack", rx.url, max_per_second=100, detail="full")
        try:
            sink.send(alerts)
            assert rx.wait_for(len(alerts), timeout=60)
        finally:
            sink.close(5)
        assert rx.violations == []
        assert len(rx.accepted) == len(alerts)


def test_receiver_flags_bare_links_and_pings_outside_code() -> None:
    """The loopback receiver refuses a body whose plain text would link a URL or ping a channel."""
    good = {"text": "ok `https://x.example @here`", "blocks": []}
    assert check_payload(good) == []
    for text in ("see https://x.example", "hey @here", "```a``` @channel"):
        problems = check_payload({"text": text, "blocks": []})
        assert problems and "outside code" in problems[0]
