"""``--generalize``: widen instance-specific ARNs in fixes to their resource type's wildcard.

Off by default: a least-privilege fix names the exact resource that failed.
A team that would rather grant "any log group in this account and region"
once than meet the next denial asks for it, and every widened ARN is named
in the finding's explanation so nobody widens a policy without seeing it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from diagnostics.iam import arn_formats, fill_arn, parse_arn, resource_type_for_arn
from diagnostics.iam.arn_templates import placeholders
from diagnostics.model import Diagnosis, Finding, FixEdit, JSONObject

# `${Name}` in the dataset's ARN templates; literal delimiters around one class: linear.
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
#: Placeholders the ARN itself supplies; the others are resource names.
_CONTEXT = frozenset({"partition", "region", "account"})


def _names(template: str, arn: str) -> dict[str, str] | None:
    """The resource-name placeholders of ``template`` as ``arn`` fills them.

    Inner names stop at the first delimiter they can (a bucket ends at the
    first ``/``); the last takes the rest (an object key keeps its slashes).
    """
    names = placeholders(template)
    pattern, pos = [], 0
    for i, m in enumerate(_PLACEHOLDER.finditer(template)):
        pattern.append(re.escape(template[pos : m.start()]))
        shape = ".+" if i == len(names) - 1 and m.end() == len(template) else "[^:]+?"
        pattern.append(f"(?P<g{i}>{shape})")
        pos = m.end()
    pattern.append(re.escape(template[pos:]))
    # Built from a template: literals and bounded classes only, matched once (linear).
    found = re.fullmatch("".join(pattern), arn, re.DOTALL)
    if found is None:
        return None
    return {
        name: found.group(f"g{i}") for i, name in enumerate(names) if name.lower() not in _CONTEXT
    }


def widen_arn(arn: str, home_account: str | None = None) -> str:
    """The ARN with its last, instance-specific name widened to ``*``.

    Everything that contains the resource stays: an S3 object widens to
    ``bucket/*`` (never every bucket), a DynamoDB index to its table's
    indexes, a role or user to its own IAM path.  Never widened: an ARN whose
    wildcard would name no account and no container (``arn:aws:s3:::*``
    is every bucket in every account), and IAM principals in an account other
    than ``home_account`` (a cross-account grant stays exactly the role named).
    """
    parts = parse_arn(arn)
    if parts is None or "*" in parts.resource:
        return arn
    if parts.service == "iam" and home_account and parts.account != home_account:
        return arn
    rtype = resource_type_for_arn(parts.service, arn)
    formats = arn_formats(parts.service, rtype) if rtype else ()
    if not formats:
        return arn
    names = _names(formats[0], arn)
    if not names:
        return arn
    last = list(names)[-1]
    value = names[last]
    if last.lower().endswith("withpath") and "/" in value:
        names[last] = value.rsplit("/", 1)[0] + "/*"  # the role's own path
    else:
        del names[last]
    if not parts.account and not names:
        return arn
    return fill_arn(
        formats[0],
        partition=parts.partition,
        region=parts.region or None,
        account=parts.account or None,
        **{k.lower(): v for k, v in names.items()},
    )


def _widen_statement(
    statement: JSONObject, widened: dict[str, str], home_account: str | None
) -> JSONObject:
    if statement.get("Effect") != "Allow" or "Resource" not in statement:
        return statement
    raw: Any = statement["Resource"]
    resources = [raw] if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for arn in resources:
        wide = widen_arn(arn, home_account)
        if wide != arn:
            widened[arn] = wide
        if wide not in out:
            out.append(wide)
    return {**statement, "Resource": out[0] if len(out) == 1 else out}


def _account(arn: str | None) -> str | None:
    parts = parse_arn(arn) if arn else None
    return parts.account or None if parts else None


def _resources(statement: JSONObject | None) -> list[Any]:
    raw: Any = (statement or {}).get("Resource", [])
    return [raw] if isinstance(raw, str) else list(raw)


def _widen_edit(edit: FixEdit | None, widened: dict[str, str], home: str | None) -> FixEdit | None:
    """The edit with only the resources it adds widened: the user's own stay as written."""
    if edit is None or edit.after is None or edit.after.get("Effect") != "Allow":
        return edit
    kept = set(map(str, _resources(edit.before)))
    out: list[Any] = []
    for arn in _resources(edit.after):
        wide = arn if not isinstance(arn, str) or arn in kept else widen_arn(arn, home)
        if wide != arn:
            widened[arn] = wide
        if wide not in out:
            out.append(wide)
    if out == _resources(edit.after):
        return edit
    after = {**edit.after, "Resource": out[0] if len(out) == 1 else out}
    return dataclasses.replace(edit, after=after)


def _widen_finding(finding: Finding) -> Finding:
    widened: dict[str, str] = {}
    fixes = tuple(
        dataclasses.replace(
            fix,
            statements=tuple(
                _widen_statement(s, widened, _account(fix.applies_to)) for s in fix.statements
            ),
            edit=_widen_edit(fix.edit, widened, _account(fix.applies_to)),
        )
        for fix in finding.fixes
    )
    if not widened:
        return finding
    note = "; ".join(f"{old} -> {new}" for old, new in sorted(widened.items()))
    explanation = f"{finding.explanation}\n--generalize widened: {note}."
    return dataclasses.replace(finding, fixes=fixes, explanation=explanation)


def generalize(diagnosis: Diagnosis) -> Diagnosis:
    """The diagnosis with every Allow statement's instance ARNs widened."""
    findings = tuple(_widen_finding(f) for f in diagnosis.findings)
    return dataclasses.replace(diagnosis, findings=findings)
