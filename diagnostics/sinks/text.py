"""The human-readable alert summary stdout writes for the journal."""

from __future__ import annotations

import orjson

from diagnostics.alerts.alert import Alert, iso_time
from diagnostics.alerts.storms import storm_text
from diagnostics.model import POLICY_NAMES, Diagnosis
from diagnostics.sinks.render import clean
from diagnostics.troubleshooter.attribution import denial_summary

_BOLD = "\x1b[1m"
_RED = "\x1b[1;31m"
_RESET = "\x1b[0m"

#: Most of a decode error the journal shows (lines, characters per line); the
#: JSON sinks keep it whole.  Decode errors are this project's own hints plus
#: STS's error text, never a decoded message.
DECODE_ERROR_LINES = 12
DECODE_ERROR_CHARS = 240


def policy_words(policy_type: str | None) -> str:
    return POLICY_NAMES.get(policy_type or "", clean(policy_type) if policy_type else "unknown")


def _a(words: str) -> str:
    return f"an {words}" if words[:1] in "aeiouAEIOU" else f"a {words}"


def why_words(decision: str, policy_type: str | None) -> str | None:
    """``explicit deny in a service control policy``: what is known of the denial, else None.

    Unknown parts are left out instead of printed as ``unknown``.
    """
    where = policy_words(policy_type) if policy_type else None
    if decision == "explicit_deny":
        return f"explicit deny in {_a(where)}" if where else "explicit deny"
    if decision == "implicit_deny":
        return f"no {where} allows it" if where else "no policy allows it"
    return f"by {_a(where)}" if where else None


def decode_summary(error: str) -> str:
    """Why the blob was not decoded, bounded (the hint's statement included)."""
    parts = error.strip().splitlines() or [""]
    kept = [
        p if len(p) <= DECODE_ERROR_CHARS else p[: DECODE_ERROR_CHARS - 3].rstrip() + "..."
        for p in parts[:DECODE_ERROR_LINES]
    ]
    if len(parts) > DECODE_ERROR_LINES:
        kept.append(f"... ({len(parts) - DECODE_ERROR_LINES} more lines in the JSON alert)")
    return "not decoded: " + "\n".join(kept)


def headline(alert: Alert) -> str:
    """``ec2:RunInstances denied 3 times``: what was denied, how often (log values cleaned).

    Without an IAM action the API operation stands in (``PutObject denied once``).
    """
    f = alert.diagnosis.failure
    times = "once" if alert.count == 1 else f"{alert.count} times"
    if alert.storm:
        # The representative's action is one of many: say what the alert is.
        return f"storm of {alert.storm.get('groups')} distinct denials, {times}"
    action = clean(f.action or f.operation or "") or "a request"
    return f"{action} denied {times}"


def _lines(label: str, text: str) -> list[str]:
    """``label`` then ``text``, its own line breaks kept, each line cleaned and indented."""
    # Only "\n" breaks a line (str.splitlines would also break on \r, \x1c,
    # U+2028 ...); everything else is escaped by ``clean``.
    parts = text.split("\n")
    pad = " " * 12
    out = [f"  {label:<10}{clean(parts[0])}"]
    out.extend(f"{pad}{clean(p)}" for p in parts[1:])
    return out


def _fix_lines(d: Diagnosis) -> list[str]:
    out: list[str] = []
    for finding in d.findings:
        for fix in finding.fixes:
            where = policy_words(fix.target)
            target = f"{where} of {fix.applies_to}" if fix.applies_to else where
            body = orjson.dumps(
                {"Version": "2012-10-17", "Statement": list(fix.statements)},
                option=orjson.OPT_INDENT_2,
            ).decode()
            out += _lines("fix", f"add to the {target}:\n{body}")
            for r in fix.risk:
                out += _lines("risk", f"[{r.severity}] {r.id}: {r.message}")
    return out


#: The line the file sink adds to a text block so it can read back what it wrote.
NOTIFICATION_LABEL = "  notification "


def _who_and_what(alert: Alert) -> list[str]:
    """The principal and resource lines: only what the failure says, never "unknown"."""
    f = alert.diagnosis.failure
    lines: list[str] = []
    principal = f.principal_arn or alert.key.principal
    if principal:
        if alert.key.principal and alert.key.principal != principal:
            principal += f" (role {alert.key.principal})"
        lines += _lines("principal", principal)
    elif f.principal_text:
        lines += _lines("principal", f"{f.principal_text} (as the log wrote it)")
    if f.resource:
        lines += _lines("resource", f.resource)
    elif f.resource_text:
        lines += _lines("resource", f"{f.resource_text} (as the log wrote it)")
    return lines


def render_text(alert: Alert, *, color: bool = False, with_id: bool = False) -> str:
    """One summary block per group, ending in a newline.

    ``with_id`` adds the notification id line; log text cannot forge it, since
    every line that carries log text starts with a label or 12 spaces.
    """
    d = alert.diagnosis
    f = d.failure
    status = alert.status.upper()
    tag = f"{_RED}{status}{_RESET}" if color else status
    why = why_words(alert.key.decision, f.policy_type)
    head = f"[{tag}] {headline(alert)}" + (f" ({why})" if why else "")
    if color:
        head = f"{_BOLD}{head}{_RESET}"
    lines = [f"authz-diag alert {head}"]
    if alert.storm:
        lines += _lines("storm", storm_text(alert.storm).removeprefix("storm: "))
    lines += _who_and_what(alert)
    account = f.account_id or alert.key.account
    if account:
        lines += _lines("account", account + (f"   region {f.region}" if f.region else ""))
    elif f.region:
        lines += _lines("region", f.region)
    if f.policy_arn:
        lines += _lines("policy", f.policy_arn)
    denied = denial_summary(d.authorization_details)
    if denied:
        lines += _lines("denied", denied)
    seen = f"{iso_time(alert.first_seen)} .. {iso_time(alert.last_seen)}"
    if alert.status != "new":
        seen += f" ({alert.new_count} since the last alert)"
    lines += _lines("seen", seen)
    if alert.sources:
        more = alert.sources_total - len(alert.sources)
        text = ", ".join(alert.sources[-5:])
        hidden = more + max(0, len(alert.sources) - 5)
        lines += _lines("sources", text + (f" (+{hidden} more)" if hidden else ""))
    if d.decode_error:
        lines += _lines("decode", decode_summary(d.decode_error))
    for finding in d.findings:
        lines += _lines("why", f"{finding.title}\n{finding.explanation}".strip())
    lines += _fix_lines(d)
    if not any(x.fixes for x in d.findings):
        lines.append("  fix       none to add (see why)")
    if alert.distinct_total > 1:
        lines.append(f"  +{alert.distinct_total - 1} more distinct failure(s) in this group")
    if with_id and alert.notification_id:
        lines.append(NOTIFICATION_LABEL + clean(alert.notification_id))
    return "\n".join(lines) + "\n"
