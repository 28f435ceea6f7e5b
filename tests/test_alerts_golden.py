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
from diagnostics.alerts.examples import run_instances_implicit_deny, s3_explicit_deny_scp
from diagnostics.sinks import StdoutSink, build_payload
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
    """Two groups: RunInstances seen 3 times (different blobs), the SCP deny once."""
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


@pytest.mark.parametrize(("index", "name"), [(0, "run_instances"), (1, "s3_explicit_deny")])
def test_slack_payload_matches_golden(index: int, name: str) -> None:
    """The Slack summary payload for each example is the reviewed one and within limits."""
    payload = build_payload(example_alerts()[index], "summary")
    assert check_payload(payload) == []
    check(f"slack_{name}.json", orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
