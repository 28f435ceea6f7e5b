"""Keep every suggested Resource a value IAM accepts: an ARN or ``*``.

Some services print a description instead of an ARN (IAM: ``on resource:
policy path /``, ``user path /division_abc/``).  Pasted into a policy that
text is invalid, so fixes map it to the ARN pattern it describes, or to
``*`` with a sentence saying why.
"""

from __future__ import annotations

from typing import Any

from diagnostics.iam.arns import iam_path_arn, parse_arn


def policy_resource(value: str, account: str | None, partition: str) -> tuple[str, str | None]:
    """``value`` as a valid Resource entry, and a sentence when it had to change."""
    if value == "*" or parse_arn(value) is not None:
        return value, None
    mapped = iam_path_arn(value, account, partition)
    if mapped is not None:
        return mapped, (
            f'AWS described the resource as "{value}", not an ARN; the fix names the ARN '
            f"pattern it stands for, {mapped}."
        )
    return "*", (
        f'AWS described the resource as "{value}", which is not an ARN and cannot go in a '
        'policy; the fix uses "*" there: narrow it to the ARNs the caller really needs.'
    )


def fix_resources(
    statement: dict[str, Any], account: str | None, partition: str
) -> tuple[dict[str, Any], list[str]]:
    """The statement with every Resource/NotResource entry valid, and the notes."""
    notes: list[str] = []
    out = dict(statement)
    for key in ("Resource", "NotResource"):
        raw = out.get(key)
        if raw is None:
            continue
        values = [raw] if isinstance(raw, str) else list(raw)
        fixed: list[str] = []
        for v in values:
            if not isinstance(v, str):
                fixed.append(v)
                continue
            new, note = policy_resource(v, account, partition)
            if note and note not in notes:
                notes.append(note)
            if new not in fixed:
                fixed.append(new)
        if "*" in fixed and key == "Resource":
            fixed = ["*"]
        out[key] = fixed[0] if isinstance(raw, str) or len(fixed) == 1 else fixed
    return out, notes
