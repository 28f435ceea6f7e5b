"""``--format markdown``: a CI job summary or PR comment.

A table first (who, action, resource, why), then one collapsible section per
failure with its fixes in fenced ``json`` blocks, as GitHub's
``$GITHUB_STEP_SUMMARY``, GitLab and PR comments render them.  Every value
comes from a log, so it is made terminal-safe and kept from becoming markup
(``markdown_safe``): ARNs, actions and file names are code spans, sentences
are escaped with links and mentions broken, and the ``<summary>`` line (raw
HTML, where backslash escapes do not apply) holds only fixed words, numbers
and entity-escaped ``<code>`` elements.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from diagnostics.model import TARGET_WORDS, Diagnosis, Failure
from diagnostics.render.markdown_safe import code, html_code, prose
from diagnostics.render.text import why
from diagnostics.text.safe import line

#: Table cells are cut shorter than section fields: the table is the overview.
CELL_LIMIT = 300


def _where(d: Diagnosis) -> str:
    src = d.failure.source
    where = code(src.path) + (f":{src.line}" if src.line is not None else "")
    if src.event_id:
        where += f" (eventID {code(src.event_id)})"
    if d.occurrences > 1:
        where += f" (seen {d.occurrences} times)"
    return where


def _who(f: Failure, in_table: bool = False) -> str:
    if f.principal_arn:
        return code(f.principal_arn, limit=CELL_LIMIT, in_table=in_table)
    if f.principal_text:
        return code(f.principal_text, limit=CELL_LIMIT, in_table=in_table) + " (as written)"
    return "(not stated)"


def _resource(f: Failure, in_table: bool = False) -> str:
    if f.resource:
        return code(f.resource, limit=CELL_LIMIT, in_table=in_table)
    if f.resource_text:
        return code(f.resource_text, limit=CELL_LIMIT, in_table=in_table) + " (as written)"
    return "(not stated)"


def _summary(i: int, f: Failure) -> str:
    # Raw HTML: fixed words, a number and entity-escaped <code> elements only.
    action = f.action or f.operation or f.error_code
    what = html_code(action, limit=CELL_LIMIT) if action else "access denied"
    value = f.resource or f.resource_text
    where = html_code(value, limit=CELL_LIMIT) if value else "(resource not stated)"
    return f"<summary>#{i} {what} on {where}</summary>"


def _fence(body: str) -> str:
    """A fenced block that no backtick run inside ``body`` can close."""
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}json\n{body}\n{ticks}"


def _section(i: int, d: Diagnosis) -> list[str]:
    f = d.failure
    lines = [
        "<details>",
        _summary(i, f),
        "",
        f"- **Where:** {_where(d)}",
        f"- **Who:** {_who(f)}",
        f"- **Why:** {prose(why(d))}",
    ]
    if f.embedded:
        lines.append(
            "- **Note:** found inside a field the request's sender wrote (user-agent, "
            "request body), not the log's own message: it may be forged"
        )
    if d.decode_error:
        lines.append(f"- **Decode:** {prose(d.decode_error)}")
    if d.authorization_error:
        lines.append(f"- **Access Troubleshooter:** {prose(d.authorization_error)}")
    for finding in d.findings:
        lines += [
            "",
            f"**{prose(finding.title)}** ({code(finding.rule)}, {prose(finding.severity)})",
        ]
        lines += ["", prose(finding.explanation)]
        for fix in finding.fixes:
            target = TARGET_WORDS.get(fix.target, fix.target)
            who = f" {code(fix.applies_to)}" if fix.applies_to else ""
            lines += ["", f"Add to {prose(target)}{who}:", ""]
            body = json.dumps(list(fix.statements), indent=2, ensure_ascii=True)
            lines.append(_fence("\n".join(line(x, limit=100_000) for x in body.split("\n"))))
            for risk in fix.risk:
                lines.append(f"> **Risk ({prose(risk.severity)}):** {prose(risk.message)}")
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
        action = f.action or f.operation
        lines.append(
            f"| {i} | {_who(f, in_table=True)} "
            f"| {code(action, limit=CELL_LIMIT, in_table=True) if action else '(not stated)'} "
            f"| {_resource(f, in_table=True)} | {prose(why(d), limit=CELL_LIMIT)} |"
        )
    lines.append("")
    for i, d in enumerate(diagnoses, 1):
        lines += _section(i, d)
    return "\n".join(lines)
