"""``--format terraform``: each fix as the Terraform a platform team would commit.

Per merged policy document, a ``data "aws_iam_policy_document"`` block with
one ``statement`` per statement, and the resource that applies it where one
can add to the target without replacing what it has: ``aws_iam_role_policy``,
``aws_iam_user_policy`` or ``aws_iam_group_policy`` (a new inline policy), or
``aws_s3_bucket_policy`` (which replaces the bucket's policy: a comment says
to merge).  A KMS key policy, a trust policy and the guardrails (SCP, RCP,
boundary, session, VPC endpoint) get the document and a comment naming the
argument to merge it into.  Every string comes from a log: it is written
with HCL's escapes, ``${`` and ``%{`` doubled so no template runs, and
everything outside printable ASCII as ``\\u`` escapes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from diagnostics.iac.targets import target_of
from diagnostics.model import Diagnosis, IacLocation
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

#: aws_iam_policy_document arguments for the policy grammar's list fields.
_LISTS = (
    ("Action", "actions"),
    ("NotAction", "not_actions"),
    ("Resource", "resources"),
    ("NotResource", "not_resources"),
)
#: What an --iac location must look like to be referenced rather than named
#: (linear: anchored, two classes split by a literal dot).
_ADDRESS = re.compile(r"^(aws_[a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_-]*)$")

_MERGE_INTO = {
    "trust": "merge it into the assume_role_policy of the aws_iam_role for {name} "
    "(source_policy_documents keeps what it has)",
    "resource": "merge it into the resource policy of {name} (its policy argument or "
    "aws_*_policy resource); that policy replaces the whole document, so keep what it has",
    "scp": "merge it into the content of the aws_organizations_policy on the path to {name}",
    "rcp": "merge it into the content of the aws_organizations_policy (RCP) on the path to {name}",
    "permissions_boundary": "merge it into the managed policy (aws_iam_policy) that is "
    "{name}'s permissions_boundary",
    "session": "pass its json as the session policy when {name}'s session is created",
    "vpc_endpoint": "merge it into the policy of the aws_vpc_endpoint {name}",
}


def hcl_string(value: object) -> str:
    """``value`` as a quoted HCL string that reads back as exactly ``value``, and nothing runs."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    # Doubling the introducer is HCL's escape for a literal "${" / "%{".
    text = text.replace("${", "$${").replace("%{", "%%{")
    return '"' + ascii_escape(text) + '"'


def _condition_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _string_list(values: object) -> list[str]:
    items = values if isinstance(values, list | tuple) else [values]
    return [_condition_value(v) for v in items]


def _list_argument(pad: str, name: str, values: Sequence[str]) -> list[str]:
    if len(values) == 1:
        return [f"{pad}{name} = [{hcl_string(values[0])}]"]
    return [f"{pad}{name} = [", *(f"{pad}  {hcl_string(v)}," for v in values), f"{pad}]"]


def _principal_blocks(pad: str, block: str, principal: object) -> list[str]:
    if principal == "*":
        kinds: Mapping[str, object] = {"*": ["*"]}
    elif isinstance(principal, Mapping):
        kinds = principal
    else:
        kinds = {"AWS": principal}
    lines: list[str] = []
    for kind, ids in kinds.items():
        lines.append(f"{pad}{block} {{")
        lines.append(f"{pad}  type = {hcl_string(kind)}")
        lines += _list_argument(pad + "  ", "identifiers", _string_list(ids))
        lines.append(f"{pad}}}")
    return lines


def _statement(statement: Mapping[str, Any]) -> list[str]:
    pad = "    "
    lines = ["  statement {"]
    if "Sid" in statement:
        lines.append(f"{pad}sid = {hcl_string(statement['Sid'])}")
    lines.append(f"{pad}effect = {hcl_string(statement.get('Effect', 'Allow'))}")
    for key, argument in _LISTS:
        if key in statement:
            lines += _list_argument(pad, argument, _string_list(statement[key]))
    if "Principal" in statement:
        lines += _principal_blocks(pad, "principals", statement["Principal"])
    if "NotPrincipal" in statement:
        lines += _principal_blocks(pad, "not_principals", statement["NotPrincipal"])
    conditions = statement.get("Condition")
    if isinstance(conditions, Mapping):
        for test, keys in conditions.items():
            for variable, values in keys.items() if isinstance(keys, Mapping) else ():
                lines.append(f"{pad}condition {{")
                lines.append(f"{pad}  test = {hcl_string(test)}")
                lines.append(f"{pad}  variable = {hcl_string(variable)}")
                lines += _list_argument(pad + "  ", "values", _string_list(values))
                lines.append(f"{pad}}}")
    lines.append("  }")
    return lines


def _reference(found: Sequence[IacLocation], rtype: str, attribute: str) -> str | None:
    """``aws_iam_role.ci_deployer.name`` when --iac found the target as that Terraform resource."""
    for loc in found:
        m = _ADDRESS.match(loc.resource)
        if m and m.group(1) == rtype:
            return f"{loc.resource}.{attribute}"
    return None


def _apply(doc: PolicyDocument, data: str, label: str, found: Sequence[IacLocation]) -> list[str]:
    """The resource that applies the document, or a comment saying where it goes."""
    name = short_name(doc)
    policy = f"data.aws_iam_policy_document.{data}.json"
    target = target_of(doc.applies_to) if doc.applies_to else None
    if doc.kind == "identity" and target is not None and target.kind != "bucket":
        rtype = f"aws_iam_{target.kind}"
        ref = _reference(found, rtype, "name") or hcl_string(target.name)
        return [
            f'resource "{rtype}_policy" "{label}" {{',
            f"  name = {hcl_string(POLICY_NAME)}",
            f"  {target.kind} = {ref}",
            f"  policy = {policy}",
            "}",
        ]
    if doc.kind == "resource" and target is not None and target.kind == "bucket":
        ref = _reference(found, "aws_s3_bucket", "id") or hcl_string(target.name)
        return [
            comment(
                "aws_s3_bucket_policy replaces the bucket's whole policy: put its current "
                "statements in source_policy_documents above before applying"
            ),
            f'resource "aws_s3_bucket_policy" "{label}" {{',
            f"  bucket = {ref}",
            f"  policy = {policy}",
            "}",
        ]
    if doc.kind == "permission_set":
        return [
            comment(
                "aws_ssoadmin_permission_set_inline_policy replaces the permission set's "
                "inline policy: merge these statements into it"
            ),
            f'data "aws_ssoadmin_instances" "{label}" {{}}',
            "",
            f'data "aws_ssoadmin_permission_set" "{label}" {{',
            f"  instance_arn = tolist(data.aws_ssoadmin_instances.{label}.arns)[0]",
            f"  name = {hcl_string(name)}",
            "}",
            "",
            f'resource "aws_ssoadmin_permission_set_inline_policy" "{label}" {{',
            f"  instance_arn = tolist(data.aws_ssoadmin_instances.{label}.arns)[0]",
            f"  permission_set_arn = data.aws_ssoadmin_permission_set.{label}.arn",
            f"  inline_policy = {policy}",
            "}",
        ]
    if doc.kind == "resource" and (doc.applies_to or "").startswith("arn:aws:kms:"):
        into = (
            "merge it into the policy of the aws_kms_key {name} (or its aws_kms_key_policy); "
            "a key policy replaces the whole policy: keep the statements that let your "
            "administrators manage the key"
        )
    else:
        into = _MERGE_INTO.get(doc.kind, "merge it into the " + doc.kind + " policy of {name}")
    return [comment(into.format(name=doc.applies_to or name))]


def render(diagnoses: Sequence[Diagnosis]) -> str:
    """The whole ``--format terraform`` output for a scan's diagnoses."""
    known = locations(diagnoses)
    names = Names(camel=False)
    blocks: list[str] = []
    for doc in merge_fixes(diagnoses):
        found = where(doc, known)
        label = names.make(short_name(doc), doc.kind)
        statements = doc.document.get("Statement", [])
        lines = document_comments(doc, found)
        lines.append(f'data "aws_iam_policy_document" "{label}" {{')
        for statement in statements if isinstance(statements, list) else [statements]:
            lines += _statement(statement)
        lines.append("}")
        lines.append("")
        lines += _apply(doc, label, label, found)
        blocks.append("\n".join(lines))
    left = unfixable_comments(diagnoses)
    if left:
        blocks.append("\n".join([comment("failures no policy statement can fix:"), *left]))
    return "\n\n".join(blocks) + ("\n" if blocks else "")
