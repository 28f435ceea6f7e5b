"""Journal text alerts say what is known (decode errors included) and tell senders apart."""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
from pathlib import Path

from test_alerts_golden import Keep
from test_watch_daemon import Daemon, line, watch_argv, write_config

from diagnostics.alerts import AlertManager, AlertSettings
from diagnostics.model import Diagnosis, Failure, SourceRef
from diagnostics.sinks import StdoutSink
from diagnostics.sinks.text import DECODE_ERROR_CHARS, DECODE_ERROR_LINES
from diagnostics.testing.alert_examples import (
    assume_role_no_reason,
    run_instances_implicit_deny,
    run_instances_not_decoded,
    s3_explicit_deny_scp,
)


def text_of(*diagnoses: Diagnosis) -> str:
    keep = Keep()
    now = [1_714_564_800.0]
    m = AlertManager(AlertSettings(), None, [keep], clock=lambda: now[0])
    for d in diagnoses:
        m.add(d)
    now[0] += 60
    m.tick()
    buf = io.BytesIO()
    StdoutSink(stream=buf).send(keep.alerts)
    return buf.getvalue().decode()


def test_decode_error_is_shown_even_when_rules_found_something() -> None:
    """A blob that was not decoded says so, and why, next to the rules' findings."""
    text = text_of(run_instances_not_decoded())
    assert "  decode    not decoded: no AWS credentials were found" in text
    assert "  why       ec2:RunInstances needs every resource it touches" in text


def test_decode_error_is_bounded_in_the_journal() -> None:
    """A long, many-line decode error is cut to a few bounded lines that point at the JSON."""
    long_line = "x" * (DECODE_ERROR_CHARS * 3)
    error = "\n".join([long_line] * (DECODE_ERROR_LINES + 5))
    d = dataclasses.replace(run_instances_not_decoded(), decode_error=error)
    text = text_of(d)
    decode = [x for x in text.splitlines() if "x" * 20 in x]
    assert len(decode) == DECODE_ERROR_LINES
    # Each line is the 12-column label or indent, then at most the bound.
    assert all(len(x[12:]) <= DECODE_ERROR_CHARS + len("not decoded: ") for x in decode)
    assert "(5 more lines in the JSON alert)" in text


def test_headers_leave_out_what_is_not_known() -> None:
    """No ``unknown`` placeholders: an undecided AssumeRole header ends after the count."""
    text = text_of(assume_role_no_reason(), run_instances_not_decoded())
    assert "unknown" not in text
    heads = [x for x in text.splitlines() if x.startswith("authz-diag alert")]
    assert "authz-diag alert [NEW] sts:AssumeRole denied once" in heads
    assert "  account   123456789012\n" in text  # region left out, not "region unknown"
    # The not-decoded blob names no principal, resource or account: no such lines.
    block = text.split("ec2:RunInstances denied once")[1].split("\n\n")[0]
    assert "\n  principal " not in block
    assert "\n  resource " not in block
    assert "\n  account " not in block


def test_headers_say_the_decision_and_policy_in_words() -> None:
    """A known decision and policy read as one phrase (``explicit deny in a ... policy``)."""
    text = text_of(run_instances_implicit_deny(), s3_explicit_deny_scp())
    assert "s3:PutObject denied once (explicit deny in a service control policy)" in text
    assert "ec2:RunInstances denied once (no identity-based policy allows it)" in text
    assert "  account   123456789012   region us-east-1" in text


def test_principal_as_written_is_shown_when_not_an_arn() -> None:
    """A redacted or bare principal is shown as the log wrote it, marked as such."""
    f = Failure(
        kind="plain",
        source=SourceRef("/var/log/app.log", 3, 100),
        principal_text="***redacted***",
        action="s3:GetObject",
    )
    text = text_of(Diagnosis(failure=f))
    assert "  principal ***redacted*** (as the log wrote it)" in text


def test_send_connections_are_numbered_and_name_the_sender(tmp_path: Path) -> None:
    """Two `authz-diag send` runs give alerts labelled with their own connection and pid."""
    sock = tmp_path / "run" / "in.sock"
    d = Daemon(tmp_path, write_config(tmp_path, f'[[source]]\ntype = "socket"\npath = "{sock}"\n'))
    pids = []
    try:
        d.wait_ready()
        for i in (1, 2):
            proc = subprocess.Popen(
                [*watch_argv(), "send", "--socket", str(sock)],
                stdin=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            _, err = proc.communicate(b"a line before\n" + line(i).encode(), timeout=30)
            assert proc.returncode == 0, err
            pids.append(proc.pid)
            d.wait_resources(i)
    finally:
        assert d.stop() == 0, d.stderr()[-3000:]
    with d._lock:
        sources = [a["sources"] for a in d.alerts if a.get("status") == "new"]
    uid = os.getuid()
    assert sources == [
        [f"socket:{sock}#1[pid={pids[0]},uid={uid}]:2"],
        [f"socket:{sock}#2[pid={pids[1]},uid={uid}]:2"],
    ]


def test_headline_without_an_action_names_the_operation() -> None:
    """A bare AccessDenied names the API operation, or "a request", never "unknown"."""
    bare = Failure(
        kind="plain", source=SourceRef("/var/log/app.log", 9, 300), operation="PutObject",
        error_code="AccessDenied",
    )  # fmt: skip
    text = text_of(Diagnosis(failure=bare))
    assert "authz-diag alert [NEW] PutObject denied once\n" in text
    nothing = Failure(kind="plain", source=SourceRef("/var/log/app.log", 10, 400))
    assert "authz-diag alert [NEW] a request denied once\n" in text_of(Diagnosis(failure=nothing))
