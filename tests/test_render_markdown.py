"""``--format markdown``: a job summary table and a collapsible section per failure."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import cmarkgfm

from diagnostics.model import Diagnosis, Failure, Finding, Fix, SourceRef
from diagnostics.render import markdown

REPO = Path(__file__).resolve().parents[1]
AUTHZ_DIAG = str(Path(sys.executable).parent / "authz-diag")


def test_markdown_of_the_examples_has_a_table_row_and_a_section_per_failure() -> None:
    """Each failure is a table row and a <details> section whose fix is valid JSON."""
    proc = subprocess.run(
        [AUTHZ_DIAG, "scan", "--no-decode", "--format", "markdown", "examples/"],
        capture_output=True,
        timeout=120,
        cwd=REPO,
        check=False,
        env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"},
    )
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout.decode()
    count = int(re.search(r"### authz-diag: (\d+) AWS authorization failure", out).group(1))
    rows = [line for line in out.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) == count == out.count("<details>") == out.count("</details>")
    blocks = re.findall(r"```json\n(.*?)\n```", out, re.S)
    assert blocks
    for block in blocks:
        assert isinstance(json.loads(block), list)
    # Nothing on stderr: `2>&1 >> "$GITHUB_STEP_SUMMARY"` stays pure Markdown.
    assert proc.stderr == b""


def _hostile() -> Diagnosis:
    evil = "arn:aws:s3:::b|x`y<script>alert(1)</script>\n| 9 | forged | row |"
    failure = Failure(
        kind="plain",
        source=SourceRef("app.log", 3),
        principal_arn="arn:aws:iam::111122223333:user/**bold**_it_",
        action="s3:GetObject",
        resource=evil,
        explicit_deny=False,
        policy_type="identity",
    )
    fix = Fix("identity", "arn:aws:iam::111122223333:user/x", ({"Resource": "a```b"},))
    finding = Finding("r", "t", "low", "explanation with ```` fences", (fix,))
    return Diagnosis(failure, findings=(finding,))


def test_log_values_cannot_become_markup_or_break_the_table() -> None:
    """Pipes, backticks, HTML, emphasis and newlines from a log show as written, never rendered."""
    out = markdown.render([_hostile()])
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert len(rows) == 2  # the header and one row: no forged row
    # Values are code spans (longer fence than the backtick inside; pipes
    # escaped for the table), and entity-escaped in the raw-HTML summary.
    assert "``arn:aws:s3:::b\\|x`y<script>alert(1)</script>\\n\\| 9" in out
    assert "`arn:aws:iam::111122223333:user/**bold**_it_`" in out
    assert "<code>arn:aws:s3:::b|x`y&lt;script&gt;alert(1)&lt;/script&gt;" in out
    page = cmarkgfm.github_flavored_markdown_to_html(out, options=cmarkgfm.Options.CMARK_OPT_UNSAFE)
    assert "<script>" not in page and "<strong>bold" not in page and "<em>" not in page
    assert page.count("<tr>") == 2
    # The fence around `a```b` is longer than any run inside it.
    assert re.search(r"````json\n.*a```b.*\n````", out, re.S)


def test_no_failure_says_so() -> None:
    """An empty scan still writes a one-line summary."""
    assert "No AWS authorization failure found." in markdown.render([])


def test_repeats_and_decode_errors_show_in_the_section() -> None:
    """A folded repeat shows its count; a decode error is shown, not dropped."""
    d = dataclasses.replace(_hostile(), occurrences=37, decode_error="no credentials; configure")
    out = markdown.render([d])
    assert "seen 37 times" in out
    assert "**Decode:** no credentials; configure" in out
