"""``--format markdown``: a CI job summary or PR comment.

A table first (who, action, resource, why), then one collapsible section per
failure with its fixes in fenced ``json`` blocks, as GitHub's
``$GITHUB_STEP_SUMMARY``, GitLab and PR comments render them.  Every value
comes from a log, so it is made terminal-safe and kept from becoming markup:
no pipe can end a table cell, no backtick can close a code span, no ``<``
can open an HTML tag.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from diagnostics.model import Diagnosis
from diagnostics.render.safe import line
from diagnostics.render.text import TARGET_WORDS, why

# Characters Markdown (CommonMark and GitHub's tables) gives a meaning to.
# One character class: linear.
_MARKUP = re.compile(r"([\\`*_\[\]|~<>&])")


def cell(value: object) -> str:
    """A value that renders as itself inside a table cell or a sentence."""
    return _MARKUP.sub(r"\\\1", line(value, limit=300))


def _where(d: Diagnosis) -> str:
    src = d.failure.source
    where = src.path + (f":{src.line}" if src.line is not None else "")
    if d.occurrences > 1:
        where += f" (seen {d.occurrences} times)"
    return where


def _fence(body: str) -> str:
    """A fenced block that no backtick run inside ``body`` can close."""
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}json\n{body}\n{ticks}"


def _section(i: int, d: Diagnosis) -> list[str]:
    f = d.failure
    action = f.action or f.operation or f.error_code or "access denied"
    lines = [
        "<details>",
        f"<summary>#{i} {cell(action)} on {cell(f.resource or '(resource not stated)')}</summary>",
        "",
        f"- **Where:** {cell(_where(d))}",
        f"- **Who:** {cell(f.principal_arn or f.principal_text or '(not stated)')}",
        f"- **Why:** {cell(why(d))}",
    ]
    if d.decode_error:
        lines.append(f"- **Decode:** {cell(d.decode_error)}")
    if d.authorization_error:
        lines.append(f"- **Access Troubleshooter:** {cell(d.authorization_error)}")
    for finding in d.findings:
        lines += ["", f"**{cell(finding.title)}** (`{cell(finding.rule)}`, {finding.severity})"]
        lines += ["", cell(finding.explanation)]
        for fix in finding.fixes:
            target = TARGET_WORDS.get(fix.target, fix.target)
            who = f" {cell(fix.applies_to)}" if fix.applies_to else ""
            lines += ["", f"Add to {target}{who}:", ""]
            body = json.dumps(list(fix.statements), indent=2, ensure_ascii=True)
            lines.append(_fence("\n".join(line(x, limit=100_000) for x in body.split("\n"))))
            for risk in fix.risk:
                lines.append(
                    f"> **Risk ({cell(risk.get('severity'))}):** {cell(risk.get('message'))}"
                )
    if not d.findings:
        lines += ["", "No rule matched; the fields above are all the message says."]
    lines += ["", "</details>", ""]
    return lines


def render(diagnoses: Sequence[Diagnosis]) -> str:
    """The whole summary for one scan (an empty scan says so in one line)."""
    if not diagnoses:
        return "### authz-diag\n\nNo AWS authorization failure found.\n"
    lines = [
        f"### authz-diag: {len(diagnoses)} AWS authorization failure(s)",
        "",
        "| # | Who | Action | Resource | Why |",
        "|---|-----|--------|----------|-----|",
    ]
    for i, d in enumerate(diagnoses, 1):
        f = d.failure
        lines.append(
            f"| {i} | {cell(f.principal_arn or f.principal_text or '(not stated)')} "
            f"| {cell(f.action or f.operation or '(not stated)')} "
            f"| {cell(f.resource or '(not stated)')} | {cell(why(d))} |"
        )
    lines.append("")
    for i, d in enumerate(diagnoses, 1):
        lines += _section(i, d)
    return "\n".join(lines)
