"""The ``watch`` config file: the issue-4 names, strict keys, errors that say what to fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from diagnostics.errors import ConfigError
from diagnostics.service.config import load_config, parse_duration

ROOT = Path(__file__).resolve().parents[1]

ISSUE_EXAMPLE = """
state_dir = "{state}"

[decode]
enabled = true
region = "us-east-1"
role_arn_template = "arn:aws:iam::{{account}}:role/AuthzDiagnosticsDecoder"
max_per_second = 5
concurrency = 4

[alerts]
group_wait = "30s"
group_interval = "5m"
repeat_interval = "4h"

[[source]]
type = "file"
paths = ["/var/log/app/*.log"]
start_at = "end"

[[source]]
type = "cloudtrail_dir"
path = "/var/log/cloudtrail"

[[sink]]
type = "stdout"
format = "text"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watch.toml"
    path.write_text(text)
    return path


def test_issue_example_loads(tmp_path: Path) -> None:
    """The config shown in issue 4 loads with every value it names."""
    cfg = load_config(write(tmp_path, ISSUE_EXAMPLE.format(state=tmp_path / "st")))
    assert cfg.state_dir == tmp_path / "st"
    assert cfg.decode.region == "us-east-1"
    assert cfg.decode.max_per_second == 5
    assert cfg.alerts.group_wait == 30 and cfg.alerts.group_interval == 300
    assert cfg.alerts.repeat_interval == 4 * 3600
    assert [s.type for s in cfg.sources] == ["file", "cloudtrail_dir"]
    assert cfg.sources[0].options["paths"] == ("/var/log/app/*.log",)
    assert cfg.sources[0].options["start_at"] == "end"
    assert cfg.drain_timeout == 10.0
    assert cfg.sinks[0]["type"] == "stdout"


def test_state_dir_defaults_to_systemd_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without state_dir the daemon uses $STATE_DIRECTORY, as systemd's StateDirectory= sets it."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "sd"))
    text = ISSUE_EXAMPLE.format(state="x").replace('state_dir = "x"\n', "")
    assert load_config(write(tmp_path, text)).state_dir == tmp_path / "sd"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('bogus = 1\n[[source]]\ntype="stdin"\n[[sink]]\ntype="stdout"\n', "unknown key 'bogus'"),
        (
            '[decode]\nenable = true\n[[source]]\ntype="stdin"\n[[sink]]\ntype="stdout"\n',
            "[decode]: unknown key 'enable'",
        ),
        (
            '[[source]]\ntype="file"\npaths=["/x/*.log"]\nstartat="end"\n[[sink]]\ntype="stdout"\n',
            "[[source]] #1: unknown key 'startat'",
        ),
        ('[[source]]\ntype="kafka"\n[[sink]]\ntype="stdout"\n', "not a source type"),
        ('[[source]]\ntype="file"\n[[sink]]\ntype="stdout"\n', "key 'paths' is required"),
        (
            '[[source]]\ntype="file"\npaths=["logs/*.log"]\n[[sink]]\ntype="stdout"\n',
            "key 'paths' entry 'logs/*.log' must be an absolute path",
        ),
        (
            '[[source]]\ntype="file"\npaths=["/l/*"]\nstart_at="middle"\n[[sink]]\ntype="stdout"\n',
            "'start_at' must be",
        ),
        (
            '[alerts]\ngroup_wait="soon"\n[[source]]\ntype="stdin"\n[[sink]]\ntype="stdout"\n',
            "not a duration",
        ),
        ('[[sink]]\ntype="stdout"\n', "no [[source]] table"),
        ('[[source]]\ntype="stdin"\n', "no [[sink]] table"),
        (
            '[[source]]\ntype="socket"\nmode="0666"\n[[sink]]\ntype="stdout"\n',
            "every local user",
        ),
        (
            '[decode]\nrole_arn_template="arn:aws:iam::1:role/x"\n'
            '[[source]]\ntype="stdin"\n[[sink]]\ntype="stdout"\n',
            "{account}",
        ),
        (
            '[decode]\nconcurrency="4"\n[[source]]\ntype="stdin"\n[[sink]]\ntype="stdout"\n',
            "'concurrency' must be an integer",
        ),
        ("[[source]\n", "invalid TOML"),
    ],
)
def test_bad_config_names_file_key_and_problem(tmp_path: Path, text: str, expected: str) -> None:
    """Each invalid config is rejected with the file name and a message naming the problem."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_missing_file_says_check_the_path(tmp_path: Path) -> None:
    """A config path that does not exist is reported with a hint about --config."""
    with pytest.raises(ConfigError, match="check the --config path"):
        load_config(tmp_path / "nope.toml")


def test_durations() -> None:
    """Durations accept the units the issue uses and reject nonsense."""
    assert parse_duration("0s", where="x") == 0
    assert parse_duration("250ms", where="x") == 0.25
    assert parse_duration("5m", where="x") == 300
    assert parse_duration(2, where="x") == 2
    with pytest.raises(ConfigError):
        parse_duration("-1s", where="x")
    with pytest.raises(ConfigError):
        parse_duration(True, where="x")


def test_config_accepts_compound_durations(tmp_path: Path) -> None:
    """`group_wait = "1h30m"` in a watch config is 5400 seconds, as docs/alerts.md says."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'state_dir = "{tmp_path}"\n[alerts]\ngroup_wait = "1h30m"\n'
        '[[source]]\ntype = "stdin"\n[[sink]]\ntype = "stdout"\n'
    )
    assert load_config(cfg).alerts.group_wait == 5400


def test_duplicate_source_names_rejected(tmp_path: Path) -> None:
    """Two sources with one name would share checkpoints, so the config is refused."""
    text = (
        '[[source]]\ntype="file"\nname="a"\npaths=["/x/*"]\n'
        '[[source]]\ntype="file"\nname="a"\npaths=["/y/*"]\n[[sink]]\ntype="stdout"\n'
    )
    with pytest.raises(ConfigError, match="used twice"):
        load_config(write(tmp_path, text))


def run_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "diagnostics", "watch", "--config", str(path), "--check-config"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_config_accepts_the_shipped_example() -> None:
    """systemd/config.example.toml passes `authz-diag watch --check-config`."""
    proc = run_check(ROOT / "systemd" / "config.example.toml")
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout


def test_check_config_rejects_with_exit_2(tmp_path: Path) -> None:
    """--check-config on a broken file exits 2 and says which key is wrong."""
    path = write(tmp_path, '[[source]]\ntype="stdin"\ncolour="red"\n[[sink]]\ntype="stdout"\n')
    proc = run_check(path)
    assert proc.returncode == 2
    assert "unknown key 'colour'" in proc.stderr
    assert str(path) in proc.stderr


def test_check_config_rejects_a_state_dir_that_cannot_be_created(tmp_path: Path) -> None:
    """A state_dir under a regular file fails --check-config, not the daemon's first start."""
    (tmp_path / "afile").write_text("x")
    path = write(
        tmp_path,
        f'state_dir = "{tmp_path}/afile/state"\n'
        '[[source]]\ntype="stdin"\n[[sink]]\ntype="stdout"\n',
    )
    proc = run_check(path)
    assert proc.returncode == 2
    assert "state_dir" in proc.stderr and "StateDirectory" in proc.stderr


def test_check_config_rejects_a_file_sink_in_an_unwritable_place(tmp_path: Path) -> None:
    """A file sink whose directory cannot be written is caught by --check-config."""
    (tmp_path / "afile").write_text("x")
    path = write(
        tmp_path,
        f'state_dir = "{tmp_path}/state"\n[[source]]\ntype="stdin"\n'
        f'[[sink]]\ntype="file"\npath="{tmp_path}/afile/alerts.jsonl"\n',
    )
    proc = run_check(path)
    assert proc.returncode == 2
    assert "[[sink]] #1" in proc.stderr and "STATE_DIRECTORY" in proc.stderr
