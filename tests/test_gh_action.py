"""The GitHub Action's script writes the job summary, the SARIF file and the step outputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tools" / "gh_action.py"
SCHEMA = json.loads((REPO / "tests" / "sarif" / "sarif-schema-2.1.0.json").read_text())


def _exe() -> str:
    exe = shutil.which("authz-diag", path=str(Path(sys.executable).parent))
    assert exe, "authz-diag is not installed beside this Python"
    return exe


def _action(
    workspace: Path, tmp_path: Path, **inputs: str
) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    """Run the script as the composite step does, with the GITHUB_* files in ``tmp_path``."""
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step's summary\n")
    output = tmp_path / "github_output"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
        "AUTHZ_DIAG": _exe(),
        "AWS_EC2_METADATA_DISABLED": "true",
        **{f"INPUT_{k.upper()}": v for k, v in inputs.items()},
    }
    proc = subprocess.run(
        [sys.executable, str(SCRIPT)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return proc, summary, output


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_a_failed_steps_log_gives_a_summary_and_a_sarif_file(tmp_path: Path) -> None:
    """With `log-file`, the summary gets the Markdown table, the SARIF file validates with
    paths relative to the workspace, and the outputs give the count and the file."""
    workspace = tmp_path / "ws"
    (workspace / "logs").mkdir(parents=True)
    shutil.copy(REPO / "examples" / "terraform-apply.log", workspace / "logs" / "apply.log")
    proc, summary, output = _action(
        workspace, tmp_path, log_file="logs/apply.log", sarif_file="out/authz.sarif"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = summary.read_text()
    assert text.startswith("earlier step's summary\n")  # appended, not replaced
    assert "`ec2:RunInstances`" in text and "`s3:PutObject`" in text
    log = json.loads((workspace / "out" / "authz.sarif").read_text())
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    results = log["runs"][0]["results"]
    assert len(results) == 2
    location = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "logs/apply.log", "uriBaseId": "SCANROOT"}
    assert _outputs(output) == {
        "failures": "2",
        "sarif-file": "out/authz.sarif",
        "exit-status": "1",
    }
    assert "── UnauthorizedOperation" in proc.stdout  # the text format in the step's log


def test_paths_and_fail_on_failures(tmp_path: Path) -> None:
    """`paths` scans a directory, and `fail-on-failures` fails the step when it finds some."""
    workspace = tmp_path / "ws"
    shutil.copytree(REPO / "examples", workspace / "examples")
    proc, _, output = _action(
        workspace, tmp_path, paths="examples/", format="none", fail_on_failures="true"
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert int(_outputs(output)["failures"]) > 10
    assert "──" not in proc.stdout


def test_nothing_to_scan_is_an_annotated_error(tmp_path: Path) -> None:
    """Without `paths` or `log-file` the step fails with an error annotation saying what to set."""
    proc, _, _ = _action(tmp_path, tmp_path)
    assert proc.returncode == 2
    assert proc.stdout.startswith("::error title=authz-diagnostics::nothing to scan: set `paths`")


def test_action_yml_runs_the_script_with_inputs_from_the_environment() -> None:
    """action.yml is a composite action that installs the checkout, runs this script with
    every input as an INPUT_* variable (none pasted into a shell line), and uploads SARIF
    only when asked."""
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    install = next(s for s in steps if s.get("name") == "install authz-diagnostics")
    assert '"${PACKAGE:-$GITHUB_ACTION_PATH}"' in install["run"]
    scan = next(s for s in steps if s.get("id") == "scan")
    assert "tools/gh_action.py" in scan["run"]
    for step in steps:
        assert "${{" not in step.get("run", ""), step
    named = {k.removeprefix("INPUT_").lower().replace("_", "-") for k in scan["env"]}
    assert named == set(action["inputs"]) - {"python-version", "upload-sarif", "package"}
    [upload] = [s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/")]
    assert "inputs.upload-sarif == 'true'" in upload["if"]
    assert upload["with"]["sarif_file"] == "${{ steps.scan.outputs.sarif-file }}"
