"""Block Kit messages for an alert, inside Slack's limits.

Limits (Slack's Block Kit reference): section text 3,000 characters, a field
2,000, a header 150, 50 blocks per message; a message stays readable, and
under what Slack accepts, at about 12,000 characters of blocks in total.
"""

from __future__ import annotations

from typing import Any

import orjson

from diagnostics.alerts.alert import Alert, iso_time
from diagnostics.alerts.sink import Detail
from diagnostics.alerts.storms import storm_text
from diagnostics.model import Diagnosis
from diagnostics.request.context import region_of
from diagnostics.sinks.render import clean, summarize_decoded
from diagnostics.sinks.text import policy_words
from diagnostics.troubleshooter.attribution import denial_summary

SECTION_MAX = 3000
FIELD_MAX = 2000
HEADER_MAX = 150
MAX_BLOCKS = 50
TOTAL_MAX = 12000
FALLBACK_MAX = 3000
MAX_FIXES = 5
MAX_FINDINGS = 3

Block = dict[str, Any]

_DECISION = {
    "explicit_deny": "explicit deny",
    "implicit_deny": "implicit deny",
    "unknown": "decision unknown",
}


def esc(value: object) -> str:
    """A log-originated value made inert: controls shown, ``& < >`` escaped (no mentions).

    Only for text that then goes inside a code span or block: outside one,
    Slack would still apply ``*bold*``, ``_italic_``, ``~strike~``, link bare
    URLs and (with ``link_names``) ping ``@here``.
    """
    return clean(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def esc_block(text: str) -> str:
    """Like ``esc`` but keeps line breaks, for multi-line explanations and JSON."""
    return "\n".join(esc(line) for line in text.splitlines())


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    keep = limit - 40
    return f"{text[:keep]}\n… +{len(text) - keep} more characters"


def _code(text: str, limit: int = SECTION_MAX) -> str:
    # A fence inside the value would end the code block early.
    body = esc_block(text).replace("```", "``\u200b`")
    body = cut(body, limit - 8)
    return f"```{body}```"


def _inline(value: str | None) -> str:
    """A log value as an inline code span: Slack formats nothing inside it."""
    if not value:
        return "_unknown_"
    # A backtick would close the span early; a URL's "://" is broken so that
    # no client links it even where code spans are not honoured (previews).
    return "`" + esc(value).replace("`", "'").replace("://", "[:]//") + "`"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_MAX)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(text, SECTION_MAX)}]}


def _fields(alert: Alert) -> Block:
    f = alert.diagnosis.failure
    pairs = [
        ("Principal", f.principal_arn),
        ("Action", f.action),
        ("Resource", f.resource),
        ("Account", f.account_id or alert.key.account),
        ("Region", f.region or region_of(f.resource)),
        ("Policy type", policy_words(f.policy_type) if f.policy_type else None),
    ]
    if alert.key.principal and alert.key.principal != f.principal_arn:
        pairs.insert(1, ("Role", alert.key.principal))
    if f.policy_arn:
        pairs.append(("Policy", f.policy_arn))
    fields = [
        {"type": "mrkdwn", "text": cut(f"*{label}*\n{_inline(value)}", FIELD_MAX)}
        for label, value in pairs
    ]
    return {"type": "section", "fields": fields[:10]}


def _fix_blocks(d: Diagnosis) -> list[Block]:
    fixes = [fix for finding in d.findings for fix in finding.fixes]
    if not fixes:
        return [_section("*Fix:* no statement to add; see the explanation above.")]
    out: list[Block] = []
    for fix in fixes[:MAX_FIXES]:
        where = policy_words(fix.target)
        target = f"{where} of {_inline(fix.applies_to)}" if fix.applies_to else where
        doc = {"Version": "2012-10-17", "Statement": list(fix.statements)}
        body = orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()
        risks = "".join(
            f"\n:warning: *{esc(r.severity)} risk* {_inline(r.id)}: {_code(r.message, 600)}"
            for r in fix.risk
        )
        out.append(
            _section(f"*Fix:* add to the {target}:{risks}\n{_code(body, SECTION_MAX - 1000)}")
        )
    if len(fixes) > MAX_FIXES:
        out.append(_context(f"+{len(fixes) - MAX_FIXES} more fixes"))
    return out


def _detail_blocks(d: Diagnosis, detail: Detail, alert: Alert) -> list[Block]:
    if d.decoded is None:
        return []
    if detail == "full":
        raw = orjson.dumps(d.decoded, option=orjson.OPT_INDENT_2).decode()
        blocks = [_section(f"*Decoded message:*\n{_code(raw, SECTION_MAX - 30)}")]
        if alert.samples:
            blocks.append(_section(f"*Samples:*\n{_code(chr(10).join(alert.samples))}"))
        return blocks
    summary = summarize_decoded(d.decoded)
    lines = [
        f"• {_inline(st['effect'])} {_inline(st['statement_id'])} "
        f"on {', '.join(_inline(a) for a in st['actions']) or '_any action_'}"
        for st in summary["matched_statements"]
    ]
    total = summary["matched_statements_total"]
    if not lines:
        return [_context("Decoded: no policy statement matched the request.")]
    if total > len(lines):
        lines.append(f"+{total - len(lines)} more")
    return [_section("*Matched statements:*\n" + "\n".join(lines))]


def _fallback(alert: Alert) -> str:
    """The notification text: every log value in a code span, like the blocks."""
    f = alert.diagnosis.failure
    times = "once" if alert.count == 1 else f"{alert.count} times"
    text = (
        f"[{alert.status}] {_inline(f.action) if f.action else 'an unknown action'} denied "
        f"{times}: {_inline(f.principal_arn or 'unknown principal')} on "
        f"{_inline(f.resource or 'unknown resource')}"
    )
    return cut(text, FALLBACK_MAX)


def _size(blocks: list[Block]) -> int:
    return len(orjson.dumps(blocks))


def build_payload(alert: Alert, detail: Detail = "summary", channel: str | None = None) -> Block:
    """The webhook body for ``alert``: header, fields, why, fix, context; within limits."""
    d = alert.diagnosis
    times = "once" if alert.count == 1 else f"{alert.count}×"
    action = esc(d.failure.action or "unknown action")
    if alert.storm:
        action = f"storm of {alert.storm.get('groups')} distinct denials"
    header = cut(f"Denied: {action} ({times})", HEADER_MAX)
    if len(header) > HEADER_MAX:  # cut() needs room for its note; headers just truncate
        header = header[: HEADER_MAX - 1] + "…"
    required: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": False}},
        _context(
            f"*{alert.status.upper()}* · {_DECISION.get(alert.key.decision, 'unknown')} · "
            f"first {iso_time(alert.first_seen)} · last {iso_time(alert.last_seen)}"
        ),
        _fields(alert),
    ]
    denied = denial_summary(d.authorization_details)
    if denied:
        # Access Troubleshooter names the exact policy, statement and target.
        required.append(_section(f"*Denied by:* {esc(denied)}"))
    optional: list[Block] = []
    if alert.storm:
        required.insert(1, _section(f"*Storm:* {_code(storm_text(alert.storm), 500)}"))
    for finding in d.findings[:MAX_FINDINGS]:
        # The explanation quotes log values: a code block keeps their markup inert.
        optional.append(
            _section(f"*{esc(finding.title)}*\n{_code(finding.explanation, SECTION_MAX - 200)}")
        )
    if not d.findings and d.decode_error:
        optional.append(_section(f"*Not decoded:*\n{_code(d.decode_error)}"))
    optional += _fix_blocks(d)
    optional += _detail_blocks(d, detail, alert)
    if alert.sources:
        hidden = alert.sources_total - min(len(alert.sources), 5)
        srcs = ", ".join(_inline(s) for s in alert.sources[-5:])
        optional.append(_context(f"Sources: {srcs}" + (f" +{hidden} more" if hidden else "")))
    if alert.distinct_total > 1:
        optional.append(_context(f"+{alert.distinct_total - 1} more distinct failures"))

    blocks = list(required)
    left_out = 0
    for i, block in enumerate(optional):
        room = MAX_BLOCKS - 1  # keep one slot for the "+N more" note
        if len(blocks) >= room or _size([*blocks, block]) > TOTAL_MAX - 200:
            left_out = len(optional) - i
            break
        blocks.append(block)
    if left_out:
        blocks.append(_context(f"+{left_out} more sections cut to fit Slack's limits"))
    # No previews of links a log writer chose, whatever Slack decides is a link.
    payload: Block = {
        "text": _fallback(alert),
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }
    if channel:
        payload["channel"] = channel
    return payload
