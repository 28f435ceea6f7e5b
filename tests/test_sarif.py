"""`scan --format sarif`: SARIF 2.1.0 that code scanning accepts, with nothing live from a log."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from diagnostics.cli import main
from diagnostics.model import Diagnosis, Failure, Finding, SourceRef
from diagnostics.render import sarif

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "tests" / "sarif" / "sarif-schema-2.1.0.json").read_text())

# Log-derived text that would be live in a SARIF viewer if copied raw: an embedded link
# (SARIF 2.1.0 §3.11.6), a placeholder (§3.11.5), a terminal escape and a bidi override.
HOSTILE_PRINCIPAL = "arn:aws:iam::123456789012:user/[click](https://evil.example/x){0}\x1b[31m"
HOSTILE_RESOURCE = "arn:aws:s3:::bucket/[see](https://evil.example/y)\u202e"


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """No structlog set-up onto capsys' stream (cli.main would configure it process-wide)."""
    monkeypatch.setattr(
        "diagnostics.support.logconfig.configure_cli_logging", lambda verbosity: None
    )


def _scan(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["scan", "--no-decode", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _sarif(capsys: pytest.CaptureFixture[str], *paths: str) -> dict[str, Any]:
    code, out, _ = _scan(capsys, "--format", "sarif", *paths)
    assert code == 1
    log: dict[str, Any] = json.loads(out)
    return log


def test_the_examples_validate_against_the_sarif_schema(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`scan --format sarif examples/` is valid SARIF 2.1.0 with one result per failure."""
    monkeypatch.chdir(REPO)
    log = _sarif(capsys, "examples/")
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    _, jsonl, _ = _scan(capsys, "--format", "json", "examples/")
    failures = [json.loads(x) for x in jsonl.splitlines()]
    [run] = log["runs"]
    assert len(run["results"]) == len(failures) > 10


def test_the_schema_check_can_fail() -> None:
    """The vendored schema rejects a result without a message, so the check above means it."""
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{}]}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SCHEMA).validate(bad)


def test_each_result_names_its_rule_file_line_and_fix(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A result's rule is the finding's rule (with its title and reference), its location the
    log's path relative to the scan root and line, its message what was denied and why, and
    its fixes the finding's statements."""
    monkeypatch.chdir(REPO)
    log = _sarif(capsys, "examples/terraform-apply.log")
    _, jsonl, _ = _scan(capsys, "--format", "json", "examples/terraform-apply.log")
    failures = [json.loads(x) for x in jsonl.splitlines()]
    [run] = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert run["originalUriBaseIds"]["SCANROOT"]["uri"] == REPO.as_uri() + "/"
    for result, failure in zip(run["results"], failures, strict=True):
        finding = failure["findings"][0]
        rule = rules[result["ruleIndex"]]
        assert result["ruleId"] == rule["id"] == finding["rule"]
        assert rule["shortDescription"]["text"] == finding["title"]
        assert rule["helpUri"].startswith("https://docs.aws.amazon.com/")
        [location] = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"] == {
            "uri": "examples/terraform-apply.log",
            "uriBaseId": "SCANROOT",
        }
        assert physical["region"]["startLine"] == failure["source"]["line"]
        message = result["message"]["text"]
        assert message.startswith(f"{failure['action']} on ")
        assert " was denied to " in message
        assert "implicit deny" in message
        assert result["properties"]["fixes"] == finding["fixes"]
    assert [r["level"] for r in run["results"]] == ["warning", "warning"]


def _diagnosis(path: str, *, finding: Finding | None) -> Diagnosis:
    failure = Failure(
        kind="plain",
        source=SourceRef(path, line=3),
        principal_arn=HOSTILE_PRINCIPAL,
        action="s3:PutObject",
        resource=HOSTILE_RESOURCE,
        explicit_deny=False,
        policy_type="identity",
    )
    return Diagnosis(failure, findings=(finding,) if finding else ())


def test_an_unmatched_failure_still_gets_a_result(tmp_path: Path) -> None:
    """A failure no rule matched is a result of the rule `no-rule-matched`, not left out."""
    log = json.loads(sarif.render([_diagnosis("a.log", finding=None)], root=tmp_path))
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    [result] = log["runs"][0]["results"]
    assert result["ruleId"] == "no-rule-matched"
    assert "No rule matched" in result["message"]["text"]


def test_log_values_are_never_live_in_sarif(tmp_path: Path) -> None:
    """Links, placeholders and control characters from a log stay inert text, and no URI
    holds a log value: the file's own name is percent-encoded."""
    finding = Finding(
        rule="identity-missing-allow",
        title="No identity policy allows it",
        severity="medium",
        explanation=f"Allow it on {HOSTILE_RESOURCE} for {HOSTILE_PRINCIPAL}.",
    )
    name = str(tmp_path / "run #1?x=[a](b).log")
    log = json.loads(sarif.render([_diagnosis(name, finding=finding)], root=tmp_path))
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    [result] = log["runs"][0]["results"]
    message = result["message"]["text"]
    assert "evil.example" in message
    # Every [ and ] is escaped (no embedded link), every brace doubled (no placeholder).
    assert not re.search(r"(?<!\\)[\[\]]", message), message
    assert "{{0}}" in message and not re.search(r"(?<!\{)\{\d\}", message)
    assert "\x1b" not in message and "\u202e" not in message
    assert "\\x1b" in message and "\\u202e" in message
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "run%20%231%3Fx%3D%5Ba%5D%28b%29.log"
    # The only URIs in the document are the tool's, the rules' references and the file.
    uris = set(_uris(log))
    assert not [u for u in uris if "evil.example" in u], uris


def test_a_file_outside_the_root_and_stdin_still_have_a_location(tmp_path: Path) -> None:
    """A path outside the scan root is an absolute file URI; stdin is the artifact `stdin`."""
    root = tmp_path / "repo"
    root.mkdir()
    outside = str(tmp_path / "other.log")
    log = json.loads(
        sarif.render([_diagnosis(outside, finding=None), _diagnosis("-", finding=None)], root=root)
    )
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    first, second = (r["locations"][0]["physicalLocation"] for r in log["runs"][0]["results"])
    assert first["artifactLocation"] == {"uri": Path(outside).as_uri()}
    assert second["artifactLocation"]["uri"] == "stdin"


def _uris(node: object) -> list[str]:
    """Every value of a key SARIF defines as a URI, anywhere in ``node``."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("uri", "helpUri", "informationUri", "downloadUri", "$schema"):
                found.append(str(value))
            elif key != "properties":  # a property bag holds data, never a URI
                found += _uris(value)
    elif isinstance(node, list):
        for item in node:
            found += _uris(item)
    return found


def _sarif_tools() -> str | None:
    """The `sarif` command of sarif-tools: beside this Python, on PATH, or $SARIF_TOOLS."""
    import os

    return (
        os.environ.get("SARIF_TOOLS")
        or shutil.which("sarif", path=str(Path(sys.executable).parent))
        or shutil.which("sarif")
    )


@pytest.mark.skipif(
    _sarif_tools() is None,
    reason="sarif-tools is not installed (pip install sarif-tools, or set SARIF_TOOLS)",
)
def test_sarif_tools_reads_every_result(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """sarif-tools' `summary` counts every result of the examples, by level and rule."""
    monkeypatch.chdir(REPO)
    log = _sarif(capsys, "examples/")
    path = tmp_path / "authz.sarif"
    path.write_text(json.dumps(log))
    proc = subprocess.run(
        [_sarif_tools() or "", "summary", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    counts = [int(x) for x in re.findall(r"^(?:error|warning|note): (\d+)$", proc.stdout, re.M)]
    assert sum(counts) == len(log["runs"][0]["results"]), proc.stdout
