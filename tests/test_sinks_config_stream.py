"""[[sink]] validation, the stdout sink and the file sink."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import orjson
import pytest

from diagnostics.alerts import AlertManager, AlertSettings
from diagnostics.errors import ConfigError
from diagnostics.sinks import SINK_TYPES, FileSink, SlackSink, StdoutSink, build_sink
from diagnostics.testing.alert_examples import hostile_log_values, run_instances_implicit_deny

WHERE = "/etc/authz-diag.toml: sink[2]"
URL = "https://hooks.slack.com/services/T000/B000/secretpart"


class TTY(io.BytesIO):
    def isatty(self) -> bool:
        return True


def send_one(sink: object, d: object = None) -> None:
    m = AlertManager(AlertSettings(group_wait=0), None, [sink])  # type: ignore[list-item]
    m.add(d or run_instances_implicit_deny(), sample="line with \x1b[31mred\x1b[0m")  # type: ignore[arg-type]
    m.tick()


def test_sink_types() -> None:
    """The three documented sink types are offered."""
    assert set(SINK_TYPES) == {"stdout", "file", "slack"}


def test_unknown_key_names_where_key_and_allowed_keys() -> None:
    """An unknown key is rejected with the file, the sink index, the key and the allowed keys."""
    with pytest.raises(ConfigError) as err:
        build_sink({"type": "stdout", "fromat": "json"}, state=None, env={}, where=WHERE)
    msg = str(err.value)
    assert WHERE in msg and "'fromat'" in msg and "format" in msg


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ({"type": "email"}, "not a sink type"),
        ({"type": "stdout", "format": "yaml"}, 'key \'format\' must be one of "text", "json"'),
        ({"type": "stdout", "detail": "everything"}, "detail"),
        ({"type": "file"}, "key 'path' is required"),
        ({"type": "slack"}, "exactly one of webhook_url_file"),
        ({"type": "slack", "webhook_url_env": "HOOK", "webhook_url_file": "/x"}, "exactly one"),
        ({"type": "slack", "webhook_url_env": "MISSING"}, "MISSING is not set"),
        ({"type": "slack", "webhook_url_env": "HOOK", "max_per_second": 0}, "max_per_second"),
        ({"type": "slack", "webhook_url_env": "HOOK", "spool_max": "big"}, "spool_max"),
        (
            {"type": "slack", "webhook_url_file": "${CREDENTIALS_DIRECTORY}/slack-webhook"},
            "LoadCredential",
        ),
        ({"type": "slack", "webhook_url_env": "BAD"}, "not an https:// URL"),
    ],
)
def test_bad_sink_tables_are_config_errors(table: dict[str, object], needle: str) -> None:
    """Each invalid [[sink]] table is a ConfigError naming where and what to fix."""
    env = {"HOOK": URL, "BAD": "ftp://hooks.example/secretpart"}
    with pytest.raises(ConfigError) as err:
        build_sink(table, state=None, env=env, where=WHERE)
    assert needle in str(err.value)
    assert WHERE in str(err.value)
    assert "secretpart" not in str(err.value)


def test_slack_url_from_credentials_directory(tmp_path: Path) -> None:
    """webhook_url_file expands ${CREDENTIALS_DIRECTORY} and the URL stays out of repr."""
    (tmp_path / "slack-webhook").write_text(URL + "\n")
    sink = build_sink(
        {"type": "slack", "webhook_url_file": "${CREDENTIALS_DIRECTORY}/slack-webhook"},
        state=None,
        env={"CREDENTIALS_DIRECTORY": str(tmp_path)},
        where=WHERE,
    )
    try:
        assert isinstance(sink, SlackSink)
        assert sink.detail == "summary"
        assert "secretpart" not in repr(sink)
    finally:
        sink.close(0)


def test_unreadable_webhook_file_error_hides_nothing_secret(tmp_path: Path) -> None:
    """A missing credential file is a ConfigError that names the path."""
    with pytest.raises(ConfigError, match="cannot read webhook_url_file"):
        build_sink(
            {"type": "slack", "webhook_url_file": str(tmp_path / "nope")},
            state=None,
            env={},
            where=WHERE,
        )


def test_stdout_and_file_default_to_full_detail(tmp_path: Path) -> None:
    """stdout and file sinks keep the decoded message unless told otherwise."""
    out = build_sink({"type": "stdout"}, state=None, env={}, where=WHERE)
    f = build_sink({"type": "file", "path": str(tmp_path / "a.jsonl")}, state=None, env={},
                   where=WHERE)  # fmt: skip
    assert (out.detail, f.detail) == ("full", "full")


def test_stdout_text_has_no_ansi_when_not_a_tty() -> None:
    """Piped stdout gets plain text; escape sequences from the log are shown escaped."""
    buf = io.BytesIO()
    send_one(StdoutSink(stream=buf), hostile_log_values())
    text = buf.getvalue().decode()
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b[2J" in text
    assert "authz-diag alert [NEW] s3:PutObject denied once" in text


def test_stdout_text_colours_only_on_a_tty() -> None:
    """On a terminal the status is coloured, but log-originated escapes still are not."""
    buf = TTY()
    send_one(StdoutSink(stream=buf), hostile_log_values())
    text = buf.getvalue().decode()
    assert "\x1b[1;31mNEW" in text
    assert "\x1b[2J" not in text


def test_stdout_json_lines_carry_group_and_diagnoses() -> None:
    """stdout json writes one object per group with its diagnoses in the scan contract."""
    buf = io.BytesIO()
    send_one(StdoutSink(stream=buf, format="json"))
    [line] = buf.getvalue().splitlines()
    obj = orjson.loads(line)
    assert obj["status"] == "new" and obj["count"] == 1
    assert obj["labels"]["principal"] == "arn:aws:iam::123456789012:role/ci-deployer"
    assert obj["diagnoses"][0]["action"] == "ec2:RunInstances"
    assert obj["diagnoses"][0]["decoded"]["context"]["action"] == "ec2:RunInstances"
    assert obj["samples"] == ["line with \x1b[31mred\x1b[0m"]


def test_summary_detail_drops_decoded_and_blob() -> None:
    """detail=summary replaces the decoded message with a statement summary and drops the blob."""
    buf = io.BytesIO()
    send_one(StdoutSink(stream=buf, format="json", detail="summary"))
    d = orjson.loads(buf.getvalue())["diagnoses"][0]
    assert d["decoded"] is None and d["encoded_message"] is None
    assert d["decoded_summary"] == {
        "allowed": False,
        "explicit_deny": False,
        "matched_statements_total": 0,
        "matched_statements": [],
    }


def test_file_sink_reopens_after_logrotate(tmp_path: Path) -> None:
    """After a rename and reopen(), alerts go to a fresh file at the configured path."""
    path = tmp_path / "alerts.jsonl"
    sink = FileSink("file", path)
    send_one(sink)
    path.rename(tmp_path / "alerts.jsonl.1")
    sink.reopen()
    # Another denial: the same notification id would be skipped as already written
    # (the sink never writes one twice), whatever file it now points at.
    other = run_instances_implicit_deny()
    other = dataclasses.replace(
        other,
        failure=dataclasses.replace(other.failure, resource="arn:aws:ec2:us-east-1:1:instance/i-2"),
    )
    send_one(sink, other)
    sink.close(0)
    assert len((tmp_path / "alerts.jsonl.1").read_bytes().splitlines()) == 1
    assert len(path.read_bytes().splitlines()) == 1


def test_file_sink_unwritable_is_sink_error(tmp_path: Path) -> None:
    """A file sink whose directory is missing fails with a SinkError that says what to check."""
    from diagnostics.errors import SinkError

    sink = FileSink("file", tmp_path / "missing" / "a.jsonl")
    with pytest.raises(SinkError, match="directory exists"):
        sink.send([])


def test_a_partial_write_is_finished_not_dropped() -> None:
    """A signal can cut a large pipe write short; the sink writes the rest instead of losing it."""
    import io

    from diagnostics.sinks.stream import write_all

    class Choppy(io.BytesIO):
        def write(self, b: object) -> int:  # type: ignore[override]
            chunk = bytes(b)[:7]  # like BufferedWriter.write interrupted by SIGTERM
            return super().write(chunk)

    out = Choppy()
    write_all(out, b"x" * 100 + b"\n")
    assert out.getvalue() == b"x" * 100 + b"\n"
