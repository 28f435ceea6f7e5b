"""Merge every finding's fixes into ready-to-apply policy documents.

``scan --format policy`` calls ``merge_fixes`` then ``render_policies``: one
identity policy per principal (a role session's fix lands on its role), one
trust policy per role, one resource policy per resource, and SCP, RCP,
boundary, session and VPC endpoint fixes as their own labelled documents.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from diagnostics.iam.arns import parse_arn, principal_for_policy
from diagnostics.model import Diagnosis, JSONObject, Risk
from diagnostics.policy.arn_match import UnresolvedVariable, action_matches, arn_matches
from diagnostics.policy.risk import policy_risks
from diagnostics.text.article import with_article
from diagnostics.text.safe import json_bytes, line

VERSION = "2012-10-17"
_LIST_FIELDS = ("Action", "NotAction", "Resource", "NotResource")
_KEY_ORDER = ("Sid", "Effect", "Principal", "NotPrincipal", *_LIST_FIELDS, "Condition")

# Character limits, whitespace not counted.  Source: IAM User Guide, "IAM and
# AWS STS quotas" (reference_iam-quotas.html) for identity, trust and session
# policies; AWS Organizations quotas page for SCPs and RCPs; each service's
# quotas page for resource policies (S3 bucket policy 20 KB, KMS key policy
# 32 KB, Lambda function policy 20 KB, Secrets Manager 20,480 characters,
# VPC endpoint policy 20,480 characters).
MANAGED_POLICY_LIMIT = 6_144
ROLE_INLINE_LIMIT = 10_240
USER_INLINE_LIMIT = 2_048
GROUP_INLINE_LIMIT = 5_120
TRUST_POLICY_LIMIT = 2_048  # default; a quota increase raises it to 4,096
SCP_LIMIT = 5_120
RCP_LIMIT = 5_120
SESSION_POLICY_LIMIT = 2_048
VPC_ENDPOINT_LIMIT = 20_480
RESOURCE_LIMITS = {"s3": 20_480, "kms": 32_768, "lambda": 20_480, "secretsmanager": 20_480}


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """One ready-to-apply policy: what it is, where it goes, and any warnings."""

    #: identity, trust, resource, scp, rcp, permissions_boundary, session, vpc_endpoint
    kind: str
    applies_to: str | None
    document: JSONObject
    warnings: tuple[str, ...] = ()
    #: Privilege-escalation paths the merged statements open (``Fix.risk``'s
    #: shape); computed on the whole document, so paths that need actions
    #: from two different failures' fixes show too.
    risk: tuple[Risk, ...] = ()

    def to_json(self) -> JSONObject:
        return {
            "kind": self.kind,
            "applies_to": self.applies_to,
            "document": self.document,
            "warnings": list(self.warnings),
            "risk": [r.to_json() for r in self.risk],
        }


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _normalise(statement: Mapping[str, Any]) -> JSONObject:
    """A copy with list fields as sorted unique lists and no Sid (we assign our own)."""
    out: JSONObject = {}
    for key, value in statement.items():
        if key == "Sid":
            continue
        if key in _LIST_FIELDS:
            items = [str(v) for v in _as_list(value)]
            if key in ("Action", "NotAction"):
                seen: dict[str, str] = {}
                for item in items:
                    seen.setdefault(item.lower(), item)
                items = list(seen.values())
            out[key] = sorted(set(items), key=lambda s: (s.lower(), s))
        elif key == "Effect":
            out[key] = str(value).capitalize()
        elif key in ("Principal", "NotPrincipal") and isinstance(value, Mapping):
            out[key] = {k: sorted({str(v) for v in _as_list(v)}) for k, v in value.items()}
        else:
            out[key] = orjson.loads(orjson.dumps(value))
    return out


def _canon(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _prune(statement: JSONObject) -> JSONObject:
    """Drop entries another entry of the same list already covers (s3:GetObject under s3:Get*)."""
    for key in ("Action", "NotAction"):
        if key in statement:
            items = statement[key]
            statement[key] = [
                a for a in items if not any(p != a and action_matches(p, a) for p in items)
            ]
    for key in ("Resource", "NotResource"):
        if key in statement:
            items = statement[key]
            if "*" in items:
                statement[key] = ["*"]
                continue
            kept = []
            for r in items:
                try:
                    covered = any(p != r and arn_matches(p, r) for p in items)
                except UnresolvedVariable:
                    covered = False
                if not covered:
                    kept.append(r)
            statement[key] = kept
    return statement


def _combine(statements: list[JSONObject], field: str) -> list[JSONObject]:
    """Union ``field`` across statements that agree on everything else."""
    merged: dict[bytes, JSONObject] = {}
    for statement in statements:
        if field not in statement:
            merged[_canon(statement)] = statement
            continue
        rest = {k: v for k, v in statement.items() if k != field}
        key = b"%s|" % field.encode() + _canon(rest)
        if key in merged:
            union = {*merged[key][field], *statement[field]}
            merged[key][field] = sorted(union, key=lambda s: (s.lower(), s))
        else:
            merged[key] = dict(statement)
    return [_prune(s) for s in merged.values()]


def merge_statements(statements: Iterable[Mapping[str, Any]]) -> list[JSONObject]:
    """Deduplicate and combine statements; Sids are assigned afterwards."""
    current = [_prune(_normalise(s)) for s in statements]
    previous: list[bytes] = []
    while True:
        current = _combine(_combine(current, "Action"), "Resource")
        signature = [_canon(s) for s in current]
        if signature == previous:
            return current
        previous = signature


def _camel(text: str) -> str:
    text = text.replace("*", "All").replace("?", "Any")
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", text) if p)


def _sid_for(statement: Mapping[str, Any]) -> str:
    effect = str(statement.get("Effect", "Allow")).capitalize()
    negated = "Action" not in statement and "NotAction" in statement
    actions = [str(a) for a in _as_list(statement.get("Action", statement.get("NotAction")))]
    services: dict[str, list[str]] = {}
    for action in actions:
        svc, _, name = action.partition(":")
        services.setdefault(svc, []).append(name or svc)
    if len(actions) == 1:
        body = _camel(actions[0].replace(":", " "))
    elif len(services) == 1:
        (svc, names) = next(iter(services.items()))
        body = _camel(svc) + ("".join(_camel(n) for n in names) if len(names) <= 3 else "Actions")
    else:
        body = "".join(_camel(s) for s in list(services)[:3]) + "Actions"
    sid = effect + ("AllExcept" if negated else "") + body
    if len(sid) > 64:
        digest = hashlib.sha256(_canon(dict(statement))).hexdigest()[:8]
        sid = sid[:56] + digest
    return sid


def _with_sids(statements: list[JSONObject]) -> list[JSONObject]:
    used: set[str] = set()
    out: list[JSONObject] = []
    for statement in statements:
        base = _sid_for(statement)
        sid, n = base, 2
        while sid in used:
            sid, n = f"{base}{n}", n + 1
        used.add(sid)
        full = {"Sid": sid, **statement}
        ordered = {k: full[k] for k in _KEY_ORDER if k in full}
        ordered.update({k: v for k, v in full.items() if k not in ordered})
        for key in (*_LIST_FIELDS, "Principal", "NotPrincipal"):
            value = ordered.get(key)
            if isinstance(value, list) and len(value) == 1:
                ordered[key] = value[0]
            elif isinstance(value, dict):
                ordered[key] = {k: v[0] if len(v) == 1 else v for k, v in value.items()}
        out.append(ordered)
    return out


def policy_size(document: Mapping[str, Any]) -> int:
    """Characters IAM counts for a policy: the JSON without insignificant whitespace."""
    return len(orjson.dumps(document).decode())


def _limits(kind: str, applies_to: str | None) -> list[tuple[int, str]]:
    parsed = parse_arn(applies_to) if applies_to else None
    resource = parsed.resource if parsed else ""
    if kind == "identity":
        limits = [(MANAGED_POLICY_LIMIT, "customer managed policy")]
        if resource.startswith("role/"):
            limits.append((ROLE_INLINE_LIMIT, "inline role policy (all inline policies together)"))
        elif resource.startswith("user/"):
            limits.append((USER_INLINE_LIMIT, "inline user policy (all inline policies together)"))
        elif resource.startswith("group/"):
            limits.append((GROUP_INLINE_LIMIT, "inline group policy"))
        return limits
    table = {
        "trust": [(TRUST_POLICY_LIMIT, "role trust policy (default quota)")],
        "scp": [(SCP_LIMIT, "service control policy")],
        "rcp": [(RCP_LIMIT, "resource control policy")],
        "permissions_boundary": [(MANAGED_POLICY_LIMIT, "managed policy used as a boundary")],
        "session": [(SESSION_POLICY_LIMIT, "session policy")],
        "vpc_endpoint": [(VPC_ENDPOINT_LIMIT, "VPC endpoint policy")],
        # A permission set's inline policy becomes the inline policy of its role.
        "permission_set": [
            (ROLE_INLINE_LIMIT, "permission set inline policy (an inline role policy)")
        ],
    }
    if kind == "resource" and parsed and parsed.service in RESOURCE_LIMITS:
        return [(RESOURCE_LIMITS[parsed.service], f"{parsed.service} resource policy")]
    return table.get(kind, [])


def limits_for(kind: str, applies_to: str | None) -> list[tuple[int, str]]:
    """(characters, what) of every size quota a policy of ``kind`` on ``applies_to`` has."""
    return _limits(kind, applies_to)


def _warnings(kind: str, applies_to: str | None, document: Mapping[str, Any]) -> tuple[str, ...]:
    size = policy_size(document)
    out = []
    for limit, what in _limits(kind, applies_to):
        if size > limit:
            out.append(
                f"this document is {size:,} characters, over the {limit:,}-character limit "
                f"for {with_article(what)}; split it into several policies or use wildcards"
            )
    return tuple(out)


def merge_fixes(diagnoses: Iterable[Diagnosis]) -> list[PolicyDocument]:
    """Every fix of every finding, merged into one document per (kind, target).

    Documents come out in order of first appearance; statements inside are
    deduplicated and combined, with stable Sids derived from their content.
    """
    groups: dict[tuple[str, str | None], list[Mapping[str, Any]]] = {}
    for diagnosis in diagnoses:
        for finding in diagnosis.findings:
            for fix in finding.fixes:
                applies_to = fix.applies_to
                if applies_to and fix.target in ("identity", "trust", "permissions_boundary"):
                    applies_to = principal_for_policy(applies_to)
                groups.setdefault((fix.target, applies_to), []).extend(fix.statements)
    documents = []
    for (kind, applies_to), statements in groups.items():
        merged = merge_statements(statements)
        if not merged:
            continue
        statements_out = _with_sids(merged)
        document = {"Version": VERSION, "Statement": statements_out}
        warnings = _warnings(kind, applies_to, document)
        risk = policy_risks(kind, applies_to, statements_out)
        documents.append(PolicyDocument(kind, applies_to, document, warnings, risk))
    return documents


_HEADERS = {
    "identity": "identity policy for {target}: attach to this {entity} as an inline or "
    "customer managed policy",
    "trust": "trust policy of {target}: add these statements to the role's trust policy "
    "(aws iam update-assume-role-policy)",
    "resource": "resource policy of {target}: add these statements to the resource's own "
    "policy (bucket, key, queue, topic, function or secret policy)",
    "scp": "service control policy (AWS Organizations) for {target}: change it in the "
    "management account",
    # RCPs of your own may hold only Deny statements (AWS Organizations User
    # Guide, RCP syntax): the one Allow is the AWS managed RCPFullAWSAccess.
    "rcp": "resource control policy (AWS Organizations) for {target}: RCPs of your own may hold "
    "only Deny statements, so this Allow is the AWS managed RCPFullAWSAccess; in the management "
    "account, attach it again where it is missing on the path from the root to the account "
    "(aws organizations attach-policy --policy-id p-RCPFullAWSAccess --target-id ID)",
    "permissions_boundary": "permissions boundary of {target}: the boundary policy must "
    "also allow these actions",
    "session": "session policy for {target}: pass it when the session is created "
    "(AssumeRole/GetFederationToken Policy parameter)",
    "vpc_endpoint": "VPC endpoint policy of {target}: add these statements to the "
    "endpoint's policy",
    # IAM refuses changes to the AWSReservedSSO_ roles a permission set provisions
    # (IAM Identity Center User Guide); the set's inline policy is where they go.
    "permission_set": "inline policy of permission set {target} (IAM Identity Center), not "
    "the AWSReservedSSO_{target}_* role, which IAM refuses to change: merge these statements "
    "into the set's inline policy (aws sso-admin get-inline-policy-for-permission-set), apply it "
    "with aws sso-admin put-inline-policy-to-permission-set --instance-arn INSTANCE_ARN "
    "--permission-set-arn PERMISSION_SET_ARN --inline-policy file://policy.json, then aws "
    "sso-admin provision-permission-set --instance-arn INSTANCE_ARN --permission-set-arn "
    "PERMISSION_SET_ARN --target-type ALL_PROVISIONED_ACCOUNTS",
}


def _entity(applies_to: str | None) -> str:
    parsed = parse_arn(applies_to) if applies_to else None
    if parsed and parsed.service == "iam":
        return parsed.resource.split("/", 1)[0]
    return "principal"


def risk_notes(risk: Iterable[Risk]) -> list[str]:
    """``risk [high] iam-attach-user-policy: ...``: one note per escalation path."""
    return [f"risk [{r.severity}] {r.id}: {r.message}" for r in risk]


def header(doc: PolicyDocument) -> str:
    """What the document is and how to apply it, in one sentence."""
    template = _HEADERS.get(doc.kind, doc.kind + " policy for {target}")
    return template.format(
        target=doc.applies_to or "(unknown target)", entity=_entity(doc.applies_to)
    )


def render_policies(documents: Iterable[PolicyDocument]) -> str:
    """Text for ``scan --format policy-text``: a ``#`` header per document, then its JSON."""
    blocks = []
    for doc in documents:
        # The target is a log value: one escaped line, so it cannot end the
        # comment and start a line of JSON or a fake warning.
        lines = [f"# {line(header(doc))}"]
        lines.extend(f"# warning: {line(w)}" for w in doc.warnings)
        lines.extend(f"# {line(note)}" for note in risk_notes(doc.risk))
        body = json_bytes(orjson.dumps(doc.document, option=orjson.OPT_INDENT_2))
        lines.append(body.decode())
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")
