"""The real `watch` daemon alerts a resolved denial in Slack, stdout JSON and a text file with
the exact attribution ("denied by SCP p-... at ou-... (statement ...)")."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_faults_loop import AWS_ENV, TimedDaemon
from test_watch_daemon import write_config

from diagnostics.testing.slack_receiver import SlackReceiver
from diagnostics.testing.toolbox_double import ToolboxDouble
from diagnostics.testing.toolbox_samples import ACCOUNT, SCP_DOCUMENTS, scp_deny_details

ID = "w4t8c2h9a1l3e5r7t0s6"
PHRASE = "denied by SCP p-9z8y7x6w at ou-ab12-cdef3456 (statement DenyOutsideRegions)"
DENY = (
    f"User: arn:aws:sts::{ACCOUNT}:assumed-role/AppDeployer/ci is not authorized to perform: "
    "s3:PutObject on resource: arn:aws:s3:::example-artifacts/build/app-0.zip with an explicit "
    "deny in a service control policy. Go to https://us-east-1.console.aws.amazon.com/iam/home"
    f"?region=us-east-1#/authorization-details/{ID} for complete details, or call the "
    f"GetRequestAuthorizationDetails API with the following authorization id: {ID}\n"
)


@pytest.mark.slow
def test_watch_alerts_say_which_scp_statement_and_ou(tmp_path: Path) -> None:
    """Slack, stdout and the text file all name the SCP, its statement and its OU."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    text_file = tmp_path / "alerts.txt"
    with ToolboxDouble() as toolbox, SlackReceiver() as rx:
        toolbox.add_details(ID, scp_deny_details(), SCP_DOCUMENTS)
        cfg = write_config(
            tmp_path, f'[[source]]\ntype = "file"\npaths = ["{logdir}/*.log"]\nstart_at = "end"\n'
        )
        cfg.write_text(
            cfg.read_text().replace(
                "[decode]\nenabled = false\n",
                "[decode]\nenabled = true\n"
                f'region = "us-east-1"\ntoolbox_endpoint_url = "{toolbox.endpoint_url}"\n'
                'max_attempts = 1\nbatch_deadline = "10s"\n',
            )
            + '[[sink]]\ntype = "slack"\nname = "slack"\nwebhook_url_env = "HOOK"\n'
            + f'[[sink]]\ntype = "file"\nname = "text"\nformat = "text"\npath = "{text_file}"\n'
        )
        d = TimedDaemon(tmp_path, cfg, env={**AWS_ENV, "HOOK": rx.url})
        try:
            d.wait_ready()
            (logdir / "app.log").write_text(DENY)
            d.wait_for(lambda: len(d.diagnoses()) >= 1, 30, "one diagnosis")
            assert rx.wait_for(1, timeout=30)
            d.wait_for(lambda: text_file.exists() and PHRASE in text_file.read_text(), 30, "text")
        finally:
            assert d.stop() == 0
        [obj] = d.diagnoses()
        slack = rx.accepted[0].json
    assert obj["findings"][0]["rule"] == "troubleshooter-explicit-deny"
    assert PHRASE in obj["findings"][0]["title"]
    assert obj["findings"][0]["fixes"] == []
    sections = [
        b["text"]["text"] for b in slack["blocks"] if "text" in b and b["type"] == "section"
    ]
    assert any(PHRASE in s and s.startswith("*Denied by:*") for s in sections)
    assert f"  denied    s3:PutObject {PHRASE}" in text_file.read_text()
