"""The work of the `action.yml` GitHub Action: scan, job summary, SARIF file, step outputs.

Run by the action's composite step with the installed ``authz-diag``; its
inputs arrive as ``INPUT_*`` environment variables (set by ``action.yml``) and
it writes where GitHub says: ``$GITHUB_STEP_SUMMARY`` (Markdown, appended),
``$GITHUB_OUTPUT`` (``failures``, ``sarif-file``, ``exit-status``) and the
SARIF file under ``$GITHUB_WORKSPACE``, whose paths it is relative to.
Standard library only: it runs before anything but authz-diagnostics is
installed.  tests/test_gh_action.py runs it with the ``GITHUB_*`` variables set.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: Formats the step's own log may show (``none``: only the summary and the SARIF file).
LOG_FORMATS = ("text", "json", "policy", "policy-text", "none")


@dataclass(frozen=True, slots=True)
class Inputs:
    """The action's inputs, read from the environment."""

    targets: tuple[str, ...]
    log_format: str
    sarif_file: str
    decode: bool
    fail_on_failures: bool


class InputProblem(Exception):
    """An input the action cannot use; the message says what to set instead."""


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "false").strip().lower()
    if value not in ("true", "false", ""):
        raise InputProblem(f"{name.removeprefix('INPUT_').lower()} must be true or false")
    return value == "true"


def read_inputs(env: Mapping[str, str]) -> Inputs:
    # paths: one per line, or several on a line split like a shell would (quotes kept).
    try:
        paths = [p for raw in env.get("INPUT_PATHS", "").splitlines() for p in shlex.split(raw)]
    except ValueError as exc:  # an unclosed quote
        raise InputProblem(f"paths: {exc}; quote a path with spaces as a whole") from None
    log_file = env.get("INPUT_LOG_FILE", "").strip()
    targets = tuple(paths + ([log_file] if log_file else []))
    if not targets:
        raise InputProblem(
            "nothing to scan: set `paths` (files or directories) or `log-file` (the failed "
            "step's output saved with `2>&1 | tee FILE`)"
        )
    log_format = env.get("INPUT_FORMAT", "").strip() or "text"
    if log_format not in LOG_FORMATS:
        raise InputProblem(f"format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    sarif_file = env.get("INPUT_SARIF_FILE", "").strip() or "authz-diagnostics.sarif"
    if not sarif_file.isprintable():
        # It is written to $GITHUB_OUTPUT as one line: a newline would forge another output.
        raise InputProblem("sarif-file must be one printable line")
    return Inputs(
        targets=targets,
        log_format=log_format,
        sarif_file=sarif_file,
        decode=_flag(env, "INPUT_DECODE"),
        fail_on_failures=_flag(env, "INPUT_FAIL_ON_FAILURES"),
    )


def _scan(exe: str, fmt: str, inputs: Inputs, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    argv = [exe, "scan", "--format", fmt]
    if not inputs.decode:
        argv.append("--no-decode")
    # `--` so a path that starts with '-' is a path.
    return subprocess.run([*argv, "--", *inputs.targets], cwd=cwd, capture_output=True, check=False)


def _count(sarif: bytes) -> int:
    try:
        return sum(len(run.get("results", [])) for run in json.loads(sarif)["runs"])
    except (ValueError, KeyError, TypeError):
        return 0


def run(env: Mapping[str, str], exe: str) -> int:
    """Do the action's work; the exit status is the step's."""
    workspace = Path(env.get("GITHUB_WORKSPACE") or ".")
    try:
        inputs = read_inputs(env)
    except InputProblem as exc:
        print(f"::error title=authz-diagnostics::{exc}", flush=True)
        return 2
    sarif = _scan(exe, "sarif", inputs, workspace)
    sys.stderr.buffer.write(sarif.stderr)
    if sarif.returncode not in (0, 1):
        print(
            "::error title=authz-diagnostics::authz-diag scan failed "
            f"(exit status {sarif.returncode}); its message is above",
            flush=True,
        )
        return sarif.returncode
    sarif_path = workspace / inputs.sarif_file
    sarif_path.parent.mkdir(parents=True, exist_ok=True)
    sarif_path.write_bytes(sarif.stdout)
    failures = _count(sarif.stdout)

    summary = _scan(exe, "markdown", inputs, workspace)
    if env.get("GITHUB_STEP_SUMMARY"):
        with Path(env["GITHUB_STEP_SUMMARY"]).open("ab") as out:
            out.write(summary.stdout)
    if inputs.log_format != "none":
        shown = _scan(exe, inputs.log_format, inputs, workspace)
        sys.stdout.buffer.write(shown.stdout)
        sys.stdout.flush()
    if env.get("GITHUB_OUTPUT"):
        with Path(env["GITHUB_OUTPUT"]).open("a", encoding="utf-8") as out:
            out.write(f"failures={failures}\n")
            out.write(f"sarif-file={inputs.sarif_file}\n")
            out.write(f"exit-status={sarif.returncode}\n")
    print(f"authz-diagnostics: {failures} authorization failure(s); SARIF in {inputs.sarif_file}")
    return 1 if failures and inputs.fail_on_failures else 0


def main() -> int:
    exe = os.environ.get("AUTHZ_DIAG") or "authz-diag"
    return run(os.environ, exe)


if __name__ == "__main__":
    sys.exit(main())
