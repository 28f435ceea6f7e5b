"""Output safety: nothing a log writer writes reaches a terminal raw, in any output format."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from diagnostics.alerts import Alert
from diagnostics.diagnose.pipeline import Pipeline
from diagnostics.extract import extract_path, extract_text
from diagnostics.model import DecodeResult, InputStats
from diagnostics.rules import RuleSet, bundled_rules_dir
from diagnostics.sinks import StdoutSink
from diagnostics.testing.alert_capture import alerts_for
from diagnostics.text.safe import _UNSAFE, block, json_bytes, line

ACCOUNT = "123456789012"
#: ESC/OSC/CSI, BEL, C1 CSI, bidi override and isolate, zero-width space, BOM,
#: Arabic letter mark, DEL, CR, then newlines that try to print fake field lines.
HOSTILE = (
    "\x1b]0;owned\x07\x1b[2J\x9b31m\u202e\u2066\u200b\ufeff\u061c\x7f\r"
    "\n  Why       FORGED\n  Note      FORGED\n# warning: FORGED"
)
#: One line's worth (plain log lines cannot hold a newline).
HOSTILE_LINE = "\x1b[31m\x9b1m\u202e\u2067\u200f\x7f"

# Any raw character the safety layer escapes, except the newline that ends a line.
_RAW = re.compile(_UNSAFE.pattern.replace("\x00-\x1f", "\x00-\x09\x0b-\x1f"))
# A line that pretends to be one of the tool's field lines (two spaces, a
# label) or comment lines; deeper-indented text is the tool's own layout.
_FORGED_LINE = re.compile(r"^ {0,2}(?:Why|Note)\b.*FORGED|^# warning: FORGED", re.MULTILINE | re.I)


def cloudtrail_record(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "eventVersion": "1.08",
        "eventTime": "2024-05-01T12:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": "us-east-1",
        "errorCode": "AccessDenied",
        "errorMessage": (
            f"User: arn:aws:iam::{ACCOUNT}:user/a{HOSTILE} is not authorized to perform: "
            f"s3:GetObject on resource: arn:aws:s3:::b/k{HOSTILE} because no "
            "identity-based policy allows the s3:GetObject action"
        ),
        "userIdentity": {
            "type": "IAMUser",
            "arn": f"arn:aws:iam::{ACCOUNT}:user/a{HOSTILE}",
            "accountId": ACCOUNT,
        },
        "requestParameters": {"bucketName": "b", "key": f"k{HOSTILE}"},
        "recipientAccountId": ACCOUNT,
        "eventID": f"e{HOSTILE}",
    }
    base.update(over)
    return base


def _hostile_inputs(root: Path) -> Path:
    """A directory whose CloudTrail delivery, log lines and file names are all hostile."""
    inputs = root / "in"
    inputs.mkdir()
    records = [
        cloudtrail_record(),
        cloudtrail_record(eventName=f"PutObject{HOSTILE}", awsRegion=f"us{HOSTILE}", eventID="e2"),
        # Not a failure: AWS never writes such a code (it would be a forged heading).
        cloudtrail_record(errorCode=f"AccessDenied{HOSTILE}", eventID="e3"),
    ]
    (inputs / "trail.json").write_bytes(orjson.dumps({"Records": records}))
    log = (
        f"2024-05-01T12:00:00Z app ERROR User: arn:aws:iam::{ACCOUNT}:user/p{HOSTILE_LINE} "
        f"is not authorized to perform: iam:AttachUserPolicy on resource: "
        f"arn:aws:iam::{ACCOUNT}:user/q{HOSTILE_LINE} with an explicit deny in an "
        f"identity-based policy: arn:aws:iam::{ACCOUNT}:policy/Deny{HOSTILE_LINE}\n"
    )
    # An already decoded message (Packer's form): its statement ids, condition
    # keys and values reach the "Matched" lines.  (C0 controls JSON-escaped in
    # it make the extractor skip the message, so only the others are here.)
    h = HOSTILE_LINE.replace("\x1b[31m", "")
    decoded = {
        "allowed": False,
        "explicitDeny": True,
        "matchedStatements": {
            "items": [
                {
                    "statementId": f"Sid{h}",
                    "effect": "DENY",
                    "actions": {"items": [{"value": "s3:GetObject"}]},
                    "resources": {"items": [{"value": f"arn:aws:s3:::d/k{h}"}]},
                    "conditions": {
                        "items": [
                            {
                                "key": f"aws:SourceIp{h}",
                                "values": {"items": [{"value": f"10.0.0.1{h}"}]},
                            }
                        ]
                    },
                }
            ]
        },
        "failures": {"items": []},
        "context": {
            "principal": {"id": "AIDA", "arn": f"arn:aws:iam::{ACCOUNT}:user/d{h}"},
            "action": "s3:GetObject",
            "resource": f"arn:aws:s3:::d/k{h}",
            "conditions": {"items": []},
        },
    }
    log += (
        "==> amazon-ebs: Error launching source instance: UnauthorizedOperation: You are not "
        f"authorized to perform this operation. Authorization failure message: "
        f"'{orjson.dumps(decoded).decode()}'\n"
    )
    (inputs / f"app{HOSTILE}.log").write_text(log)
    os.mkfifo(inputs / f"fifo{HOSTILE}")  # skipped with a warning that names it
    return inputs


def _scan(inputs: Path, fmt: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "diagnostics", "scan", "--no-decode", "--format", fmt, str(inputs)],
        capture_output=True,
        check=False,
        timeout=120,
    )


def _assert_inert(text: str) -> None:
    raw = sorted({f"U+{ord(c):04X}" for c in _RAW.findall(text)})
    assert raw == [], f"raw control or format characters in output: {raw}"
    assert _FORGED_LINE.search(text) is None, "a log value printed a line of its own"


def test_safe_class_covers_every_control_format_and_separator_character() -> None:
    """Every Cc, Cf, Zl and Zp character Python knows is shown escaped, never raw."""
    missing = [
        f"U+{c:04X}"
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) in ("Cc", "Cf", "Zl", "Zp") and not _UNSAFE.match(chr(c))
    ]
    assert missing == []


def test_line_escapes_newlines_and_block_keeps_each_line_under_its_indent() -> None:
    """A one-line field shows a newline as \\n; multi-line text stays indented under its label."""
    assert line("a\nb\r\tc\x1b\u202e") == "a\\nb\\r\\tc\\x1b\\u202e"
    assert line("x\U000e0041") == "x\\U000e0041"  # a tag character (invisible)
    assert block("one\n  Why       FORGED\r", "    ") == [
        "    one",
        "      Why       FORGED\\r",
    ]
    assert line("a" * 5000).endswith("(1000 more characters)")


@given(st.text())
def test_json_output_stays_faithful_with_unsafe_characters_escaped(value: str) -> None:
    """JSON output decodes to the same value, with no raw DEL, C1 or format character."""
    data = json_bytes(orjson.dumps({"v": value}))
    assert orjson.loads(data) == {"v": value}
    assert _RAW.search(data.decode()) is None


@pytest.mark.parametrize("fmt", ["text", "json", "policy", "policy-text", "markdown"])
def test_every_scan_format_shows_hostile_fields_inert(tmp_path: Path, fmt: str) -> None:
    """Hostile principals, resources, ids, regions and file names reach stdout/stderr escaped."""
    res = _scan(_hostile_inputs(tmp_path), fmt)
    assert res.returncode == 1, res.stderr
    out, err = res.stdout.decode(), res.stderr.decode()
    _assert_inert(out)
    _assert_inert(err)
    assert "is a FIFO" in err and "\\x1b]0;owned" in err  # the warning names the file, escaped
    if fmt == "json":
        objs = [orjson.loads(x) for x in res.stdout.splitlines()]
        # Two records (not the one with the forged code) and the two log lines.
        assert len(objs) == 4
        assert {o["kind"] for o in objs} == {"cloudtrail", "plain", "decoded"}
        # Faithful: the exact principal the record holds, control characters and all.
        principals = {o["principal_arn"] for o in objs}
        assert f"arn:aws:iam::{ACCOUNT}:user/a{HOSTILE}" in principals
    elif fmt == "text":
        assert out.count("── AccessDenied") == 2
        assert "  Matched   Deny statement Sid\\x9b1m\\u202e" in out
        assert "FORGED" in out  # shown, as part of an escaped value
    elif fmt == "policy":
        entries = orjson.loads(res.stdout)  # one JSON document, values exact
        assert any(HOSTILE in str(e["applies_to"]) for e in entries)
    elif fmt == "policy-text":
        assert "# identity policy for" in out and "\\u202e" in out
    else:
        assert "<details>" in out and "\\\\u202e" in out  # escaped, then kept from markup


def test_cloudtrail_error_code_with_other_characters_is_not_a_failure(tmp_path: Path) -> None:
    """A record whose errorCode has characters outside [A-Za-z0-9._:-] is not reported."""
    path = tmp_path / "trail.json"
    records = [
        cloudtrail_record(errorCode=f"AccessDenied{c}", eventID=str(i))
        for i, c in enumerate(" \x1b\n\u202e/")
    ]
    records.append(cloudtrail_record(errorCode="Client.UnauthorizedOperation", eventID="ok"))
    path.write_bytes(orjson.dumps({"Records": records}))
    found = list(extract_path(path, InputStats()))
    assert [f.error_code for f in found] == ["Client.UnauthorizedOperation"]


def _alerts(path: Path) -> list[Alert]:
    pipe = Pipeline(RuleSet.load([bundled_rules_dir()]))
    failures = list(extract_path(path / "trail.json", InputStats()))
    failures += extract_text((path / f"app{HOSTILE}.log").read_text(), f"app{HOSTILE}.log")
    kept = alerts_for((pipe.diagnose_one(f, DecodeResult()), f"sample{HOSTILE}") for f in failures)
    assert kept
    return kept


def test_watch_stdout_text_sink_shows_hostile_fields_inert(tmp_path: Path) -> None:
    """The journal's text summary escapes every hostile field and prints no forged line."""
    alerts = _alerts(_hostile_inputs(tmp_path))
    buf = io.BytesIO()
    StdoutSink(format="text", stream=buf, color=False).send(alerts)
    out = buf.getvalue().decode()
    _assert_inert(out)
    assert "\\u202e" in out


def test_watch_stdout_json_sink_escapes_c1_and_bidi(tmp_path: Path) -> None:
    """The journal's JSON lines keep hostile values exact but never carry C1 or bidi raw."""
    alerts = _alerts(_hostile_inputs(tmp_path))
    buf = io.BytesIO()
    StdoutSink(format="json", stream=buf).send(alerts)
    out = buf.getvalue()
    _assert_inert(out.decode())
    principals = {
        d["principal_arn"] for x in out.splitlines() for d in orjson.loads(x)["diagnoses"]
    }
    assert f"arn:aws:iam::{ACCOUNT}:user/a{HOSTILE}" in principals  # faithful


def test_explain_shows_a_hostile_decoded_message_inert(tmp_path: Path) -> None:
    """`authz-diag explain` on a decoded message with escapes and newlines in every value."""
    message = {
        "allowed": False,
        "explicitDeny": True,
        "matchedStatements": {
            "items": [
                {
                    "statementId": f"Sid{HOSTILE}",
                    "effect": "DENY",
                    "actions": {"items": [{"value": "s3:GetObject"}]},
                    "resources": {"items": [{"value": f"arn:aws:s3:::b/k{HOSTILE}"}]},
                    "conditions": {
                        "items": [
                            {"key": "aws:SourceIp", "values": {"items": [{"value": HOSTILE}]}}
                        ]
                    },
                }
            ]
        },
        "failures": {"items": []},
        "context": {
            "principal": {"id": f"AIDA{HOSTILE}", "arn": f"arn:aws:iam::{ACCOUNT}:user/a{HOSTILE}"},
            "action": "s3:GetObject",
            "resource": f"arn:aws:s3:::b/k{HOSTILE}",
            "conditions": {"items": []},
        },
    }
    path = tmp_path / f"decoded{HOSTILE}.json"
    path.write_bytes(orjson.dumps({"DecodedMessage": orjson.dumps(message).decode()}))
    res = subprocess.run(
        [sys.executable, "-m", "diagnostics", "explain", str(path)],
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    out = res.stdout.decode()
    _assert_inert(out)
    _assert_inert(res.stderr.decode())
    assert "  Matched   Deny statement Sid\\x1b]0;owned" in out
