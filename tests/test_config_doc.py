"""docs/config.md and docs/config-schema.json are generated from the config dataclasses."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from diagnostics.config import config_keys
from diagnostics.config.reader import is_section
from diagnostics.config.schema import example_value
from diagnostics.service.config import WatchConfig, parse_config
from diagnostics.service.config_doc import config_markdown, schema_text, watch_schema

ROOT = Path(__file__).resolve().parents[1]
BASE: dict[str, Any] = {"source": [{"type": "stdin"}], "sink": [{"type": "stdout"}]}


def test_the_committed_docs_are_what_the_code_generates() -> None:
    """A key added or changed in code without regenerating the docs fails here."""
    hint = "run: python -m diagnostics.service.config_doc docs"
    assert (ROOT / "docs" / "config.md").read_text() == config_markdown(), hint
    assert (ROOT / "docs" / "config-schema.json").read_text() == schema_text(), hint


def test_the_shipped_example_config_matches_the_schema() -> None:
    """systemd/config.example.toml is valid under the published JSON schema."""
    data = tomllib.loads((ROOT / "systemd" / "config.example.toml").read_text())
    jsonschema.Draft202012Validator(watch_schema()).validate(data)


def test_the_schema_refuses_a_misspelt_key() -> None:
    """An editor using the schema flags the typo the daemon would refuse."""
    with pytest.raises(jsonschema.ValidationError, match="enable"):
        jsonschema.Draft202012Validator(watch_schema()).validate({**BASE, "decode": {"enable": 1}})


@pytest.mark.parametrize(
    "section", [n for n, s in config_keys(WatchConfig).items() if is_section(s.type)]
)
def test_every_documented_example_is_accepted(section: str, tmp_path: Path) -> None:
    """Each key's example value, as the docs show it, loads and passes the schema."""
    cls = config_keys(WatchConfig)[section].type
    table = {name: example_value(spec) for name, spec in config_keys(cls).items()}
    if section == "policies":
        del table["refresh"]  # path or refresh, not both
    raw = {**BASE, section: table}
    jsonschema.Draft202012Validator(watch_schema()).validate(raw)
    parse_config(raw, tmp_path / "w.toml")
