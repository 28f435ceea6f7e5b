"""The one config reader: keys, types, defaults and errors come from each section's dataclass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from diagnostics.alerts.settings import AlertSettings
from diagnostics.decode.settings import DecodeSettings
from diagnostics.errors import ConfigError
from diagnostics.service.config import parse_config

BASE: dict[str, Any] = {"source": [{"type": "stdin"}], "sink": [{"type": "stdout"}]}


def _error(extra: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as err:
        parse_config({**BASE, **extra}, Path("w.toml"))
    return str(err.value)


def test_a_misspelt_key_suggests_the_right_one() -> None:
    """An unknown key names the nearest known key ("did you mean") and lists the rest."""
    text = _error({"decode": {"concurency": 2}})
    assert "w.toml [decode]: unknown key 'concurency'; did you mean 'concurrency'?" in text
    assert "max_attempts" in text
    assert "did you mean 'poll_interval'?" in _error({"pol_interval": "1s"})


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"decode": {"max_attempts": 0}},
            "w.toml [decode]: key 'max_attempts' must be at least 1, got 0; e.g. max_attempts = 3",
        ),
        (
            {"alerts": {"embedded": "yes"}},
            "w.toml [alerts]: key 'embedded' must be true or false, got 'yes'; "
            "e.g. embedded = true",
        ),
        (
            {"alerts": {"dedup_lease": "0s"}},
            "w.toml [alerts]: key 'dedup_lease' must be above 0s, got '0s'; "
            'e.g. dedup_lease = "60s"',
        ),
        (
            {"limits": {"max_line_bytes": 10}},
            "w.toml [limits]: key 'max_line_bytes' must be at least 1024, got 10; "
            "e.g. max_line_bytes = 1048576",
        ),
        (
            {"troubleshooter": {"not_found_window": True}},
            "w.toml [troubleshooter]: key 'not_found_window': True is not a duration",
        ),
        (
            {"alerts": {"accounts": ["123456789012", "12"]}},
            "w.toml [alerts]: key 'accounts' entry '12' must be a 12-digit AWS account id, "
            'written as a string; e.g. accounts = ["123456789012"]',
        ),
        (
            {"source": [{"type": "file", "paths": ["/l/*.log"], "start_at": "middle"}]},
            'w.toml [[source]] #1: key \'start_at\' must be one of "end", "beginning", '
            "got 'middle'; e.g. start_at = \"beginning\"",
        ),
        (
            {"source": [{"type": "file", "paths": ["/l/*.log"], "startat": "end"}]},
            "w.toml [[source]] #1: unknown key 'startat'; did you mean 'start_at'?",
        ),
        (
            {"poll_interval": "0s"},
            "w.toml: key 'poll_interval' must be above 0s, got '0s'; e.g. poll_interval = \"1s\"",
        ),
    ],
)
def test_every_section_words_its_errors_the_same_way(extra: dict[str, Any], expected: str) -> None:
    """Each bad value says file, section, key, what it must be, what it got and an example."""
    assert expected in _error(extra)


def test_values_set_in_code_meet_the_same_bounds_and_wording() -> None:
    """DecodeSettings built by `scan` flags is refused with the words a config file gets."""
    with pytest.raises(ConfigError, match=r"^key 'max_attempts' must be at least 1, got 0; e\.g\."):
        DecodeSettings(max_attempts=0)
    with pytest.raises(ConfigError, match=r"^key 'max_groups' must be at least 100, got 5"):
        AlertSettings(max_groups=5)


def test_scan_and_watch_make_the_same_number_of_attempts() -> None:
    """max_attempts has one default, 3, whether the decoder runs in scan or in watch."""
    watch = parse_config(BASE, Path("w.toml")).decode
    assert DecodeSettings().max_attempts == watch.max_attempts == 3


def test_the_watch_sections_are_what_the_components_run_with(tmp_path: Path) -> None:
    """[alerts] reaches the alert manager whole, and [alerts] accounts limits the decoder too."""
    from diagnostics.service.runtime import build_runtime
    from diagnostics.support.state import StateDB

    cfg = parse_config(
        {
            **BASE,
            "state_dir": str(tmp_path),
            "alerts": {"accounts": ["123456789012"], "max_groups": 500},
            "decode": {"enabled": False},
        },
        tmp_path / "w.toml",
    )
    assert cfg.decode.accounts == frozenset({"123456789012"})
    state = StateDB.in_dir(tmp_path)
    runtime = build_runtime(cfg, state)
    try:
        assert runtime.alerts.settings is cfg.alerts
    finally:
        runtime.close(1.0)
        state.close()


def test_sink_tables_are_worded_like_every_other_section() -> None:
    """A bad [[sink]] value gets the same "must be ..., got ...; e.g." message as [alerts]."""
    from diagnostics.sinks import build_sink

    table = {"type": "slack", "webhook_url_env": "HOOK", "spool_max": 0}
    with pytest.raises(ConfigError) as err:
        build_sink(table, state=None, env={"HOOK": "x"}, where="w.toml [[sink]] #1")
    assert str(err.value) == (
        "w.toml [[sink]] #1: key 'spool_max' must be at least 1, got 0; e.g. spool_max = 1000"
    )
    with pytest.raises(ConfigError, match="did you mean 'format'"):
        build_sink({"type": "file", "path": "/x", "fromat": "json"}, state=None, env={}, where="w")
