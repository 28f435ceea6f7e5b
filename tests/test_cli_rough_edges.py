"""The rough edges a new user hit in the CLI: usage, messages, and silent successes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from diagnostics.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_global_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """cli.main and watch would configure structlog (process-wide, cached) onto capsys' stream."""
    monkeypatch.setattr(
        "diagnostics.support.logconfig.configure_cli_logging", lambda verbosity: None
    )
    monkeypatch.setattr("diagnostics.commands.watch.configure_logging", lambda level: None)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_rules_usage_does_not_call_the_optional_dir_required(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`authz-diag rules` asks for the action only; DIR is optional (bundled rules)."""
    code, _, err = _run(capsys, "rules")
    assert code == 2
    assert "required: action" in err
    assert "DIR" not in err.splitlines()[-1]


def test_rules_test_accepts_dirs_after_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`rules test --only DIR` works like `rules lint DIR --only`."""
    rule = _worked_example()
    (tmp_path / "r.toml").write_text(rule)
    code, out, err = _run(capsys, "rules", "test", "--only", str(tmp_path))
    assert code == 0, out + err
    assert "2/2 cases passed" in err


def test_an_unknown_option_prints_the_subcommands_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`scan --frobnicate` shows scan's usage, not the top-level one."""
    code, _, err = _run(capsys, "scan", "--frobnicate")
    assert code == 2
    assert err.startswith("usage: authz-diag scan")
    assert "unrecognized arguments: --frobnicate" in err


def test_scan_takes_paths_after_options(capsys: pytest.CaptureFixture[str]) -> None:
    """`scan a --no-decode b` scans both inputs."""
    code, out, _ = _run(
        capsys,
        "scan",
        str(REPO / "examples/aws-cli.txt"),
        "--no-decode",
        "--format",
        "json",
        str(REPO / "examples/app.jsonl"),
    )
    assert code == 1
    paths = {Path(p).name for p in re.findall(r'"path":"([^"]+)"', out)}
    assert paths == {"aws-cli.txt", "app.jsonl"}


@pytest.mark.parametrize("command", ["decode", "explain"])
def test_format_has_help_text_on_decode_and_explain(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """`--format` says what it is on every command."""
    code, out, _ = _run(capsys, command, "--help")
    assert code == 0
    assert re.search(r"--format \{text,json\}\s+output format", out)


def test_decode_names_the_missing_profile_and_config_file_and_no_off_switch(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """AWS_PROFILE=nope: the message names 'nope' and AWS_CONFIG_FILE, and no --no-decode."""
    config = tmp_path / "config"
    config.write_text("[default]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_PROFILE", "nope")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, out, _ = _run(capsys, "decode", "A" * 40)
    assert code == 1
    assert f"the profile 'nope' is not in {config}" in out
    assert "None" not in out
    assert "--no-decode" not in out


def test_lint_of_a_missing_dir_says_so_plainly(capsys: pytest.CaptureFixture[str]) -> None:
    """`rules lint /nonexistent` names the path, not 'rule -: field -:'."""
    code, out, _ = _run(capsys, "rules", "lint", "/nonexistent")
    assert code == 1
    assert out.strip() == "/nonexistent: not a directory — pass a directory of *.toml rules"


def _worked_example() -> str:
    text = (REPO / "docs" / "rules.md").read_text()
    match = re.search(r"## A worked example\n\n```toml\n(.*?)```", text, re.S)
    assert match, "docs/rules.md keeps its worked example"
    return match.group(1)


def test_the_worked_rule_example_in_the_docs_lints_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The example in docs/rules.md passes `rules lint --only` as printed."""
    (tmp_path / "example.toml").write_text(_worked_example())
    code, out, err = _run(capsys, "rules", "lint", str(tmp_path), "--only")
    assert code == 0, out + err


def test_check_config_rejects_a_state_dir_that_cannot_be_created(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`--check-config` fails for state_dir = "/proc/x" (root passes permission bits there)."""
    log = tmp_path / "a.log"
    log.write_text("")
    config = tmp_path / "c.toml"
    config.write_text(
        'state_dir = "/proc/x"\n[[source]]\ntype = "file"\n'
        f'paths = ["{log}"]\n[[sink]]\ntype = "stdout"\n'
    )
    code, _, err = _run(capsys, "watch", "--config", str(config), "--check-config")
    assert code == 2
    assert "state_dir" in err and "/proc/x" in err


def test_an_empty_directory_is_a_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Scanning an empty directory warns that there was nothing to scan."""
    code, _, err = _run(capsys, "scan", "--no-decode", str(tmp_path))
    assert code == 0
    assert f"{tmp_path}: no files to scan" in err


def test_root_probe_does_not_leave_files(tmp_path: Path) -> None:
    """The writability probe of --check-config leaves nothing behind."""
    from diagnostics.service.runtime import _writable_dir

    assert _writable_dir(tmp_path / "new" / "state")
    assert list(tmp_path.iterdir()) == []
