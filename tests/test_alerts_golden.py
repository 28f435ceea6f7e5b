"""Golden renderings of the example alerts: the journal text and the Slack payload.

Regenerate after an intended change by running this file with
``AUTHZ_DIAG_UPDATE_GOLDEN=1`` set, then review the diff; docs/alerts.md shows
the same samples.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest

from diagnostics.alerts import Alert, AlertManager, AlertSettings
from diagnostics.sinks import StdoutSink, build_payload
from diagnostics.testing.alert_examples import (
    assume_role_no_reason,
    run_instances_implicit_deny,
    run_instances_not_decoded,
    s3_explicit_deny_scp,
)
from diagnostics.testing.slack_receiver import check_payload

GOLDEN = Path(__file__).parent / "golden" / "alerts"
START = 1_714_564_800.0  # 2024-05-01T12:00:00Z


class Keep:
    name, detail = "keep", "full"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alerts: Sequence[Alert]) -> None:
        self.alerts.extend(alerts)

    def close(self, timeout: float) -> None:
        pass

    def reopen(self) -> None:
        pass


def example_alerts() -> list[Alert]:
    """RunInstances seen 3 times (different blobs), the SCP deny, an undecided AssumeRole, a
    blob that was not decoded."""
    now = [START]
    keep = Keep()
    m = AlertManager(AlertSettings(), None, [keep], clock=lambda: now[0])
    for i, blob in enumerate(["blobA", "blobB", "blobC"]):
        m.add(
            run_instances_implicit_deny(blob=blob, line=42 + i * 10),
            sample=f"Error: creating EC2 Instance: UnauthorizedOperation ... {blob}",
        )
        now[0] += 7
    m.add(s3_explicit_deny_scp(), sample="upload failed: AccessDenied when calling PutObject")
    m.add(assume_role_no_reason(), sample="Error: User: ... is not authorized to perform: ...")
    m.add(run_instances_not_decoded(), sample="Encoded authorization failure message: Xy0-...")
    now[0] = START + 60
    m.tick()
    return keep.alerts


def check(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("AUTHZ_DIAG_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
    assert path.exists(), f"missing golden file {path}; run with AUTHZ_DIAG_UPDATE_GOLDEN=1"
    assert actual == path.read_text()


def test_text_summary_matches_golden() -> None:
    """The journal text for the example groups is exactly the reviewed rendering."""
    buf = io.BytesIO()
    StdoutSink(stream=buf).send(example_alerts())
    check("text_summary.txt", buf.getvalue().decode())


@pytest.mark.parametrize(
    ("action", "name"),
    [("ec2:RunInstances", "run_instances"), ("s3:PutObject", "s3_explicit_deny")],
)
def test_slack_payload_matches_golden(action: str, name: str) -> None:
    """The Slack summary payload for each example is the reviewed one and within limits."""
    (alert,) = [
        a
        for a in example_alerts()
        if a.diagnosis.failure.action == action and a.diagnosis.decode_error is None
    ]
    payload = build_payload(alert, "summary")
    assert check_payload(payload) == []
    check(f"slack_{name}.json", orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
