"""The human format: one block per failure, ending with the statement to paste."""

from __future__ import annotations

import textwrap

import orjson

from diagnostics.diagnose.fold import span
from diagnostics.model import (
    KIND_WORDS,
    POLICY_WORDS,
    TARGET_WORDS,
    Diagnosis,
    Finding,
    Fix,
    Verification,
    VerificationStatus,
)
from diagnostics.request.context import matched_statements
from diagnostics.text.article import with_article
from diagnostics.text.safe import block, line


def why(d: Diagnosis) -> str:
    """The one-line reason, in AWS's own terms (Access Troubleshooter's when resolved)."""
    if d.authorization_details is not None:
        # Imported here: most diagnoses have no details, and the module costs start-up time.
        from diagnostics.troubleshooter.attribution import denial_summary

        summary = denial_summary(d.authorization_details)
        if summary:
            return summary
    f = d.failure
    words = POLICY_WORDS.get(f.policy_type, f.policy_type) if f.policy_type else ""
    if f.explicit_deny:
        where = f"{words} policy" if words else "policy"
        named = f" ({f.policy_arn})" if f.policy_arn else ""
        return f"explicit deny in {with_article(where)}{named}"
    if f.explicit_deny is False:
        kind = f"{words} " if words else ""
        named = f" ({f.policy_arn})" if f.policy_arn else ""
        return f"implicit deny: no {kind}policy allows it{named}"
    return "not stated in the message"


def _field(label: str, value: object) -> str:
    # One line whatever the value holds: a newline in a log value cannot
    # start a line of its own that reads like ``Why`` or ``Note``.
    return f"  {label:<10}{line(value)}"


def _fix_lines(fix: Fix) -> list[str]:
    target = TARGET_WORDS.get(fix.target, fix.target)
    where = f" {line(fix.applies_to)}" if fix.applies_to else ""
    lines = [f"    Fix: add to {line(target)}{where}"]
    for risk in fix.risk:
        lines.append(f"      ! risk [{line(risk.severity)}] {line(risk.id)}: {line(risk.message)}")
    # orjson's two-space indent prints what json.dumps(indent=2, ensure_ascii=False)
    # does, at a fraction of the cost (the stdlib's indented encoder is pure Python).
    body = orjson.dumps(list(fix.statements), option=orjson.OPT_INDENT_2).decode()
    lines += block(body, "      ")
    return lines


def _wrap(para: str, width: int = 96, indent: str = "    ") -> list[str]:
    """``textwrap.wrap`` (no hyphen or long-word breaks) for single-spaced text.

    Explanations are single-spaced (the engine joins their words), and for
    those a greedy fill gives exactly textwrap's lines in a tenth of the
    time; anything else (tabs, runs of spaces, other whitespace) goes to
    textwrap itself.
    """
    if "  " in para or para.strip() != para or not para.isprintable():
        return textwrap.wrap(
            para,
            width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_on_hyphens=False,
            break_long_words=False,
        )
    if not para:
        return []
    room = width - len(indent)
    lines: list[str] = []
    words = para.split(" ")
    current, used = [words[0]], len(words[0])
    for word in words[1:]:
        if used + 1 + len(word) <= room:
            current.append(word)
            used += 1 + len(word)
        else:
            lines.append(indent + " ".join(current))
            current, used = [word], len(word)
    lines.append(indent + " ".join(current))
    return lines


def _for_fix(entry: Verification, fix: Fix) -> bool:
    """Is a verification entry about this fix (per evaluation: one its statements cover)?"""
    if entry.evaluation is None:
        return True
    from diagnostics.troubleshooter.details import Evaluation
    from diagnostics.troubleshooter.layers import fix_aims_at

    return fix_aims_at(fix, Evaluation(entry.evaluation.action, entry.evaluation.resource, None))


#: The mark before each status's line (``incomplete`` has its own line).
_MARKS: dict[VerificationStatus, str] = {
    "allows": "✓",
    "allows_if_conditions_hold": "~",
    "allows_with_other_fixes": "~",
}


def _checks(d: Diagnosis, rule: str, fix: Fix) -> list[str]:
    out = []
    for entry in d.verification:
        if (
            entry.rule == rule
            and entry.applies_to == fix.applies_to
            and entry.target == fix.target
            and _for_fix(entry, fix)
        ):
            if entry.status == "incomplete":
                # Allows the denied pair, not the call: the next denial is certain.
                out.append(f"      ✗ incomplete ({line(entry.checker)}): {line(entry.message)}")
                continue
            mark = _MARKS.get(entry.status, "!")
            out.append(f"      {mark} {line(entry.checker)}: {line(entry.message)}")
    return out


def _finding_lines(d: Diagnosis, finding: Finding) -> list[str]:
    lines = [f"  [{line(finding.severity)}] {line(finding.rule)}: {line(finding.title)}"]
    # Each paragraph escaped first, then wrapped: the 4-space indent keeps it
    # under the finding, apart from the 2-space field lines.
    for para in block(finding.explanation, ""):
        lines += _wrap(para) or [""]
    for fix in finding.fixes:
        fix_lines = _fix_lines(fix)
        # `scan --iac`: where the user's Terraform or CloudFormation defines the target.
        defined = [
            f"      defined in {line(loc.label())}"
            for loc in d.defined_in
            if loc.applies_to == fix.applies_to
        ]
        lines += fix_lines[:1] + defined + fix_lines[1:]
        lines += _checks(d, finding.rule, fix)
    if not finding.fixes:
        # A re-check with no fix to hang it on: say the request stays denied.
        for entry in d.verification:
            if entry.rule == finding.rule and entry.applies_to is None:
                lines.append(f"    ! {line(entry.checker)}: {line(entry.message)}")
    return lines


def render(d: Diagnosis, index: int | None = None) -> str:
    """A block for one diagnosis, ending with a blank line."""
    f = d.failure
    where = f.source.path
    if f.source.line is not None:
        where += f":{f.source.line}"
    if f.source.event_id:
        where += f" (eventID {f.source.event_id})"
    head = f"── {line(f.error_code or 'Access denied', 128)}"
    if index is not None:
        head += f" #{index}"
    kind = KIND_WORDS[f.kind]
    if d.authorization_details is not None and d.decoded is None and f.kind == "decoded":
        kind = "IAM Access Troubleshooter details"
    lines = [head + " " + "─" * max(3, 60 - len(head)), f"{line(where)}  [{kind}]"]
    if d.occurrences > 1:
        # The span may name input paths: _field writes it as one escaped line.
        lines.append(_field("Repeats", span(f.source, d.last_source, d.occurrences)))
    who = f.principal_arn or (f"{f.principal_text} (as written)" if f.principal_text else None)
    who = who or "(not stated)"
    if f.account_id:
        who += f"  (account {f.account_id})"
    lines.append(_field("Who", who))
    action = f.action or (f"{f.operation} (API operation)" if f.operation else "(not stated)")
    lines.append(_field("Denied", action))
    resource = f.resource or (f"{f.resource_text} (as written)" if f.resource_text else None)
    lines.append(_field("Resource", resource or "(not stated)"))
    lines.append(_field("Why", why(d)))
    if f.truncated:
        lines.append(_field("Note", "the message was cut off; fields may be incomplete"))
    if f.embedded:
        lines.append(
            _field(
                "Note",
                "found inside a field the request's sender wrote (user-agent, request body), "
                "not the log's own message: it may be forged, and watch does not alert it",
            )
        )
    if d.decoded:
        for st in matched_statements(d.decoded):
            conds = ", ".join(f"{c.key}={'|'.join(c.values)}" for c in st.conditions)
            sid = st.statement_id or "(no Sid)"
            text = f"{st.effect} statement {sid}" + (f" with {conds}" if conds else "")
            lines.append(_field("Matched", text))
    if d.authorization_details is not None:
        from diagnostics.troubleshooter.attribution import check_lines

        for checks in check_lines(d.authorization_details):
            lines.append(_field("Checks", checks))
    if d.decode_error:
        lines.append(_field("Decode", d.decode_error))
    if f.authorization_id and d.authorization_details is None:
        # Found but not resolved: the ID and the reason, as the JSON has them.
        lines.append(_field("Auth ID", f.authorization_id))
        if d.authorization_error:
            lines.append(_field("Resolve", d.authorization_error))
    if not d.findings:
        lines.append("  No rule matched; the fields above are all the message says.")
    for finding in d.findings:
        lines.append("")
        lines += _finding_lines(d, finding)
    return "\n".join(lines) + "\n\n"
