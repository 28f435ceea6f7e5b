"""``--format markdown`` prints every explanation whole, never "(N more characters)"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from diagnostics.model import Diagnosis, Failure, Finding, SourceRef
from diagnostics.render import markdown

REPO = Path(__file__).resolve().parents[1]
AUTHZ_DIAG = str(Path(sys.executable).parent / "authz-diag")


def test_a_long_explanation_is_printed_whole() -> None:
    """A 3,000-character explanation (a long playbook) reaches the summary to its last word."""
    words = " ".join(f"word{i}" for i in range(400)) + " THE-END"
    assert len(words) > 3000
    failure = Failure(kind="plain", source=SourceRef("app.log", 1), action="s3:GetObject")
    d = Diagnosis(failure, findings=(Finding("r", "t", "low", words),))
    out = markdown.render([d])
    assert "THE-END" in out and "more characters" not in out


def test_the_examples_markdown_cuts_no_explanation() -> None:
    """Every finding of the bundled examples is shown in full in the Markdown summary."""
    proc = subprocess.run(
        [AUTHZ_DIAG, "scan", "--no-decode", "--format", "markdown", "examples/"],
        capture_output=True,
        timeout=120,
        cwd=REPO,
        check=False,
        env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"},
    )
    assert proc.returncode == 1, proc.stderr
    assert b"more characters" not in proc.stdout
