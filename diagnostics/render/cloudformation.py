"""``--format cloudformation``: each fix as the CloudFormation YAML a platform team would commit.

One template.  ``Resources`` holds what can be added on its own: an
``AWS::IAM::RolePolicy``/``UserPolicy``/``GroupPolicy`` per principal (the same
``PolicyName``/``PolicyDocument`` pair is an entry of the role's
``Policies``) and an ``AWS::S3::BucketPolicy`` per bucket (which replaces the
bucket's policy: a comment says to merge).  ``Metadata.AuthzDiagMergeInto``
holds the statements that belong inside a property of an existing resource:
the ``KeyPolicy`` of an ``AWS::KMS::Key``, the ``AssumeRolePolicyDocument``
of an ``AWS::IAM::Role``, the guardrails.  Every scalar is double-quoted
with everything outside printable ASCII escaped, so a log value cannot end
its string, start a key, a tag or a comment, or break a line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from diagnostics.iac.targets import target_of
from diagnostics.model import Diagnosis
from diagnostics.policy.merge import PolicyDocument, merge_fixes
from diagnostics.render.iac_shared import (
    POLICY_NAME,
    Names,
    ascii_escape,
    comment,
    document_comments,
    locations,
    short_name,
    unfixable_comments,
    where,
)

_TYPES = {"role": "AWS::IAM::RolePolicy", "user": "AWS::IAM::UserPolicy"}
_TYPES["group"] = "AWS::IAM::GroupPolicy"
_NAME_PROPERTY = {"role": "RoleName", "user": "UserName", "group": "GroupName"}

_MERGE_INTO = {
    "trust": "AssumeRolePolicyDocument of the AWS::IAM::Role",
    "resource": "resource policy of the resource (its PolicyDocument, or KeyPolicy of an "
    "AWS::KMS::Key): it replaces the whole policy, keep what it has",
    "scp": "Content of the AWS::Organizations::Policy (SERVICE_CONTROL_POLICY)",
    "rcp": "Content of the AWS::Organizations::Policy (RESOURCE_CONTROL_POLICY)",
    "permissions_boundary": "PolicyDocument of the AWS::IAM::ManagedPolicy used as the "
    "PermissionsBoundary",
    "session": "the session policy passed when the session is created",
    "vpc_endpoint": "PolicyDocument of the AWS::EC2::VPCEndpoint",
    "permission_set": "InlinePolicy of the AWS::SSO::PermissionSet (it replaces the whole "
    "inline policy: keep what it has)",
}


def yaml_string(value: object) -> str:
    """A double-quoted YAML scalar that reads back as exactly ``value``."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + ascii_escape(text) + '"'


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return yaml_string(value)


def _emit(value: object, pad: str) -> list[str]:
    """Block-style YAML of a JSON value, every key and string quoted."""
    lines: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            head = f"{pad}{yaml_string(key)}:"
            if isinstance(item, Mapping | list) and item:
                lines.append(head)
                lines += _emit(item, pad + "  ")
            else:
                lines.append(f"{head} {_inline(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, Mapping | list) and item:
                nested = _emit(item, pad + "  ")
                lines.append(f"{pad}- {nested[0][len(pad) + 2 :]}")
                lines += nested[1:]
            else:
                lines.append(f"{pad}- {_inline(item)}")
    else:
        lines.append(pad + _scalar(value))
    return lines


def _inline(value: object) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def _fields(pad: str, pairs: Sequence[tuple[str, object]]) -> list[str]:
    """Our own keys (plain words), with values emitted safely."""
    lines: list[str] = []
    for key, value in pairs:
        if isinstance(value, Mapping | list) and value:
            lines.append(f"{pad}{key}:")
            lines += _emit(value, pad + "  ")
        else:
            lines.append(f"{pad}{key}: {_inline(value)}")
    return lines


def _resource(doc: PolicyDocument, logical: str) -> list[str]:
    """A standalone resource for the document, or [] when it belongs inside another one."""
    target = target_of(doc.applies_to) if doc.applies_to else None
    if target is None:
        return []
    if doc.kind == "identity" and target.kind in _TYPES:
        lines = [f"  {logical}:", f"    Type: {_TYPES[target.kind]}", "    Properties:"]
        return lines + _fields(
            "      ",
            [
                (_NAME_PROPERTY[target.kind], target.name),
                ("PolicyName", POLICY_NAME),
                ("PolicyDocument", doc.document),
            ],
        )
    if doc.kind == "resource" and target.kind == "bucket":
        lines = [
            "  "
            + comment(
                "AWS::S3::BucketPolicy replaces the bucket's whole policy: add its current "
                "statements to this PolicyDocument before deploying"
            ),
            f"  {logical}:",
            "    Type: AWS::S3::BucketPolicy",
            "    Properties:",
        ]
        return lines + _fields(
            "      ", [("Bucket", target.name), ("PolicyDocument", doc.document)]
        )
    return []


def _merge_entry(doc: PolicyDocument) -> list[str]:
    into = _MERGE_INTO.get(doc.kind, f"the {doc.kind} policy")
    if doc.kind == "resource" and (doc.applies_to or "").startswith("arn:aws:kms:"):
        into = (
            "KeyPolicy of the AWS::KMS::Key (it replaces the whole key policy: keep the "
            "statements that let your administrators manage the key)"
        )
    statements = doc.document.get("Statement", [])
    fields = _fields(
        "      ",
        [
            ("Target", doc.kind),
            ("AppliesTo", doc.applies_to or short_name(doc)),
            ("MergeInto", into),
            ("Statement", statements if isinstance(statements, list) else [statements]),
        ],
    )
    return ["    - " + fields[0].lstrip(), *fields[1:]]


def render(diagnoses: Sequence[Diagnosis]) -> str:
    """The whole ``--format cloudformation`` output: one template."""
    known = locations(diagnoses)
    names = Names(camel=True)
    resources: list[str] = []
    merges: list[str] = []
    for doc in merge_fixes(diagnoses):
        found = where(doc, known)
        notes = document_comments(doc, found)
        logical = names.make(short_name(doc), doc.kind, "Fix")
        standalone = _resource(doc, logical)
        if standalone:
            resources += [*("  " + n for n in notes), *standalone]
        else:
            merges += [*("    " + n for n in notes), *_merge_entry(doc)]
    out = [
        comment("authz-diag: fixes to review before deploying; each names where it goes"),
        'AWSTemplateFormatVersion: "2010-09-09"',
        'Description: "Policy fixes suggested by authz-diag"',
    ]
    if merges:
        out += ["Metadata:", "  AuthzDiagMergeInto:", *merges]
    out += ["Resources:", *resources] if resources else ["Resources: {}"]
    left = unfixable_comments(diagnoses)
    if left:
        out += [comment("failures no policy statement can fix:"), *left]
    return "\n".join(out) + "\n"
