"""``--format policy`` with a snapshot: every edited policy as its whole new document.

An entry has the four keys of ``--format policy`` (diagnostics/policy/output.py):
``target``, ``applies_to`` (the policy ARN, or ``inline NAME on ENTITY``),
``document`` (the snapshot's document with every edit in place, ready for
``create-policy-version`` or ``put-role-policy``) and ``notes``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from diagnostics.iam.arns import parse_arn
from diagnostics.model import Diagnosis, FixEdit, JSONObject
from diagnostics.snapshot.edits import edited_document, find_policy
from diagnostics.snapshot.model import Snapshot


def _command(edit: FixEdit) -> str:
    if edit.policy_name and edit.entity:
        parsed = parse_arn(edit.entity)
        kind, _, name = (parsed.resource if parsed else "role/x").partition("/")
        name = name.rsplit("/", 1)[-1]
        return (
            f"aws iam put-{kind}-policy --{kind}-name {name} --policy-name {edit.policy_name} "
            "--policy-document file://DOCUMENT.json"
        )
    if edit.layer in {"scp", "rcp"}:
        policy_id = (edit.policy_arn or "").rsplit("/", 1)[-1]
        return (
            f"aws organizations update-policy --policy-id {policy_id} "
            "--content file://DOCUMENT.json (management account)"
        )
    if edit.layer == "resource":
        return (
            "put the document back as the resource's policy (put-bucket-policy, put-key-policy ...)"
        )
    return (
        f"aws iam create-policy-version --policy-arn {edit.policy_arn} "
        "--policy-document file://DOCUMENT.json --set-as-default"
    )


def edit_entries(
    diagnoses: Sequence[Diagnosis], snap: Snapshot
) -> tuple[list[JSONObject], list[Diagnosis]]:
    """(one entry per edited policy, the diagnoses without the fixes those edits replace).

    A diagnosis whose every fix became an edit is left out: it is fixed.
    """
    grouped: dict[str, tuple[JSONObject, list[FixEdit]]] = {}
    rest: list[Diagnosis] = []
    for d in diagnoses:
        findings = []
        for finding in d.findings:
            kept = []
            for fix in finding.fixes:
                edit = fix.edit
                policy = find_policy(snap, edit) if edit and edit.after is not None else None
                if edit is None or policy is None or policy.document is None:
                    kept.append(fix)
                    continue
                key = policy.label
                if key not in grouped:
                    grouped[key] = (dict(policy.document), [])
                grouped[key][1].append(edit)
            findings.append(dataclasses.replace(finding, fixes=tuple(kept)))
        if any(f.fixes for f in d.findings) and not any(f.fixes for f in findings):
            continue  # every fix became an edit: nothing is left unfixed
        rest.append(dataclasses.replace(d, findings=tuple(findings)))
    entries: list[JSONObject] = []
    for label, (original, edits) in grouped.items():
        document = original
        notes = []
        done: set[int] = set()
        for edit in edits:
            if edit.index in done:
                notes.append(
                    f"statement {edit.sid or edit.index} is edited by more than one fix; "
                    "the last is kept"
                )
            done.add(edit.index)
            document = edited_document(document, edit)
            notes.append(f"edits statement {edit.sid or f'#{edit.index + 1}'} of {label}")
        notes.append("apply with: " + _command(edits[0]))
        entries.append(
            {"target": edits[0].layer, "applies_to": label, "document": document, "notes": notes}
        )
    return entries, rest
