"""Forged denials: failures inside a client's field are marked embedded; an accounts allowlist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_watch_daemon import Daemon, file_source, write_config

from diagnostics.extract import extract_text
from diagnostics.extract.assembly.provenance import embedded_field

ACCOUNT = "123456789012"


def sentence(who: str, action: str = "iam:AttachUserPolicy", account: str = ACCOUNT) -> str:
    return (
        f"User: arn:aws:iam::{account}:user/{who} is not authorized to perform: {action} "
        f"on resource: arn:aws:iam::{account}:user/{who} because no identity-based policy "
        f"allows the {action} action"
    )


def nginx(ua: str) -> str:
    return f'203.0.113.9 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 512 "-" "{ua}"\n'


def json_line(**fields: object) -> str:
    return json.dumps({"level": "info", **fields}) + "\n"


FORGED_NGINX = nginx(sentence("forger1"))
FORGED_JSON = json_line(msg="request served", user_agent=sentence("forger2"))
REAL_JSON = json_line(
    message=sentence("real", "s3:GetObject"), request={"headers": {"user-agent": "curl/8"}}
)


def test_forged_denials_in_a_user_agent_are_embedded_and_labelled() -> None:
    """A denial in an nginx user-agent or a JSON user_agent is embedded; in message it is not."""
    found = extract_text(FORGED_NGINX + FORGED_JSON + REAL_JSON)
    by_who = {f.principal_arn.rsplit("/", 1)[1]: f for f in found if f.principal_arn}
    assert set(by_who) == {"forger1", "forger2", "real"}
    assert by_who["forger1"].embedded and by_who["forger2"].embedded
    assert not by_who["real"].embedded
    assert "user_agent" in by_who["forger2"].parse_notes[0]
    assert by_who["real"].parse_notes == ()


@pytest.mark.parametrize(
    ("line", "embedded"),
    [
        (json_line(http={"request": {"headers": {"User-Agent": sentence("x")}}}), True),
        (json_line(body=sentence("x")), True),
        (json_line(query="q=" + sentence("x")), True),
        (json_line(referer="https://a.example/?" + sentence("x")), True),
        # The same words in the message too: the message is the record's own.
        (json_line(message=sentence("x"), user_agent=sentence("x")), False),
        (json_line(error=sentence("x")), False),
        ("2024-05-01T12:00:00Z app ERROR " + sentence("x") + "\n", False),
        ('{"user_agent": "' + sentence("x") + '"', False),  # not JSON: cannot tell, alerted
    ],
)
def test_which_fields_count_as_embedded(line: str, embedded: bool) -> None:
    """Nested request keys are embedded at any depth; a message, error or plain line is not."""
    found = extract_text(line)
    assert found
    assert all(f.embedded is embedded for f in found)


def test_an_access_log_line_is_embedded_wherever_the_denial_sits() -> None:
    """Every field of a combined-format access line after its time is the client's."""
    assert embedded_field(nginx("curl/8").replace("GET /", "GET /?" + sentence("x")), "User")
    assert embedded_field("not an access line " + sentence("x"), "User") is None


def test_a_forged_copy_does_not_hide_the_real_denial() -> None:
    """A forged copy of a real denial, seen first, leaves the real one reported too."""
    real = f"2024-05-01T12:00:00Z app ERROR {sentence('same', 's3:GetObject')}\n"
    found = extract_text(nginx(sentence("same", "s3:GetObject")) + real)
    assert sorted(f.embedded for f in found) == [False, True]


def _config(tmp_path: Path, logdir: Path, alerts: str = "") -> Path:
    cfg = write_config(tmp_path, file_source(logdir, "beginning"))
    cfg.write_text(cfg.read_text().replace("[alerts]\n", f"[alerts]\n{alerts}"))
    return cfg


def _status(d: Daemon) -> str:
    notes = [n for n in d.notes if n.startswith("STATUS=")]
    return notes[-1] if notes else ""


@pytest.mark.slow
def test_watch_does_not_alert_forged_denials(tmp_path: Path) -> None:
    """The daemon alerts the denial in `message` only, and counts the two forged ones."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    (logdir / "app.log").write_text(FORGED_NGINX + FORGED_JSON + REAL_JSON)
    d = Daemon(tmp_path, _config(tmp_path, logdir))
    try:
        d.wait_for(lambda: len(d.alerts) >= 1, what="the real alert")
        # Every line is decided once STATUS counts it; stop() then delivers what is due,
        # so a forged alert would be in d.alerts below.
        d.wait_for(lambda: "suppressed=2" in _status(d), timeout=60, what="STATUS suppressed=2")
    finally:
        assert d.stop() == 0
    assert [a["diagnoses"][0]["principal_arn"] for a in d.alerts] == [
        f"arn:aws:iam::{ACCOUNT}:user/real"
    ]


@pytest.mark.slow
def test_watch_alerts_embedded_when_switched_on_and_honours_the_accounts_allowlist(
    tmp_path: Path,
) -> None:
    """With embedded = true forged denials alert; accounts = [...] keeps other accounts out."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    other = json_line(message=sentence("elsewhere", "s3:GetObject", account="999999999999"))
    (logdir / "app.log").write_text(FORGED_JSON + REAL_JSON + other)
    alerts = f'embedded = true\naccounts = ["{ACCOUNT}"]\n'
    d = Daemon(tmp_path, _config(tmp_path, logdir, alerts))
    try:
        d.wait_for(lambda: len(d.alerts) >= 2, what="the two alerts")
        # Every line is decided once STATUS counts it; stop() then delivers what is due,
        # so a forged alert would be in d.alerts below.
        d.wait_for(lambda: "suppressed=1" in _status(d), timeout=60, what="STATUS suppressed=1")
    finally:
        assert d.stop() == 0
    got = sorted(a["diagnoses"][0]["principal_arn"] for a in d.alerts)
    assert got == [f"arn:aws:iam::{ACCOUNT}:user/forger2", f"arn:aws:iam::{ACCOUNT}:user/real"]
    embedded = {a["diagnoses"][0]["principal_arn"]: a["diagnoses"][0]["embedded"] for a in d.alerts}
    assert embedded[f"arn:aws:iam::{ACCOUNT}:user/forger2"] is True


def test_accounts_must_be_account_ids(tmp_path: Path) -> None:
    """accounts = ["prod"] is a config error naming the file, the key and the form expected."""
    from diagnostics.errors import ConfigError
    from diagnostics.service.config import parse_config

    base = {"source": [{"type": "stdin"}], "sink": [{"type": "stdout"}]}
    with pytest.raises(ConfigError, match=r"w\.toml \[alerts\]: key 'accounts'.*12-digit"):
        parse_config({**base, "alerts": {"accounts": ["prod"]}}, tmp_path / "w.toml")
