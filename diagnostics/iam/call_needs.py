"""Everything one API call is authorized on: each required resource, each dependent action.

IAM authorizes a call once per resource it touches (the Service Authorization
Reference marks those resource types required, and the IAM dataset carries
the mark), and some calls make AWS check further actions on the caller's
behalf whenever the request uses a feature: an instance profile passes a
role (``iam:PassRole`` with ``iam:PassedToService``), tags on create check
``ec2:CreateTags`` (with ``ec2:CreateAction``), an encrypted EBS volume makes
EC2 create a KMS grant (``kms:CreateGrant`` with ``kms:GrantIsForAWSResource``
and ``kms:ViaService``).  A fix must allow all of it, and its check asks for
all of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: The name filled into a template for a resource the request does not name.
ANY_NAME = "authz-diag-any"


@dataclass(frozen=True, slots=True)
class Need:
    """One authorization the call needs: ``action`` on ``resource`` with ``conditions`` set."""

    action: str
    resource: str
    why: str
    conditions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _values(conditions: Mapping[str, tuple[str, ...]], key: str) -> tuple[str, ...]:
    want = key.lower()
    for k, v in conditions.items():
        if k.lower() == want:
            return v
    return ()


def _has_prefix(conditions: Mapping[str, tuple[str, ...]], prefix: str) -> bool:
    return any(k.lower().startswith(prefix.lower()) for k in conditions)


def stated_arns(
    service: str, conditions: Mapping[str, tuple[str, ...]], resource_type: str
) -> list[str]:
    """ARNs of ``resource_type`` the context states (``ec2:ParentVolume``, ``ec2:Subnet``)."""
    from diagnostics.iam.arn_templates import resource_type_for_arn

    out: list[str] = []
    for values in conditions.values():
        for value in values:
            if (
                value.startswith("arn:")
                and value not in out
                and resource_type_for_arn(service, value) == resource_type
            ):
                out.append(value)
    return out


def _partition(*arns: str | None) -> str:
    for arn in arns:
        if arn and arn.startswith("arn:") and arn.count(":") >= 5:
            return arn.split(":")[1]
    return "aws"


def required_resources(
    action: str,
    resource: str | None,
    account: str | None,
    region: str | None,
    conditions: Mapping[str, tuple[str, ...]],
) -> list[tuple[str, str]]:
    """(resource type, ARN) for every required resource type of ``action``.

    The request's own resource stays exact; another type takes the ARN the
    context states, else its template with the request's account and region
    and ``*`` for the name the input cannot know.  Empty for unknown actions.
    """
    from diagnostics.iam.arn_templates import arn_formats, fill_arn, resource_type_for_arn
    from diagnostics.iam.dataset import get_action, required_resource_types

    info = get_action(action)
    if info is None:
        return []
    exact = resource_type_for_arn(info.service, resource) if resource else None
    partition = _partition(resource)
    out: list[tuple[str, str]] = []
    for rt in required_resource_types(action):
        if rt.name == exact and resource:
            out.append((rt.name, resource))
            continue
        stated = stated_arns(info.service, conditions, rt.name)
        if stated:
            out.extend((rt.name, arn) for arn in stated)
            continue
        for fmt in arn_formats(info.service, rt.name)[:1]:
            out.append(
                (rt.name, fill_arn(fmt, partition=partition, region=region, account=account))
            )
    return out


def _sample(arn: str) -> str:
    """A concrete ARN inside the pattern ``arn`` (``instance/*`` -> ``instance/authz-diag-any``)."""
    return arn.replace("*", ANY_NAME)


def call_needs(
    action: str | None,
    resource: str | None,
    account: str | None,
    region: str | None,
    conditions: Mapping[str, tuple[str, ...]],
) -> list[Need]:
    """Every authorization besides ``action`` on ``resource`` the call needs, as far as known."""
    if not action or ":" not in action:
        return []
    needs = [
        Need(action, _sample(arn), f"the required {rtype} resource ({arn})")
        for rtype, arn in required_resources(action, resource, account, region, conditions)
        if arn != resource
    ]
    service, _, operation = action.partition(":")
    if service.lower() != "ec2":
        return needs
    acct = account or "*"
    where = region or "*"
    if _values(conditions, "ec2:InstanceProfile"):
        needs.append(
            Need(
                "iam:PassRole",
                f"arn:aws:iam::{acct}:role/{ANY_NAME}",
                "iam:PassRole of the instance profile's role to EC2",
                {"iam:PassedToService": ("ec2.amazonaws.com",)},
            )
        )
    if (
        _has_prefix(conditions, "aws:RequestTag/") or _values(conditions, "aws:TagKeys")
    ) and operation.lower().startswith(("create", "run")):
        tagged = resource or f"arn:aws:ec2:{where}:{acct}:volume/*"
        needs.append(
            Need(
                "ec2:CreateTags",
                _sample(tagged),
                f"ec2:CreateTags on create ({operation})",
                {"ec2:CreateAction": (operation,)},
            )
        )
    if "true" in (v.lower() for v in _values(conditions, "ec2:Encrypted")):
        needs.append(
            Need(
                "kms:CreateGrant",
                f"arn:aws:kms:{where}:{acct}:key/{ANY_NAME}",
                "kms:CreateGrant for the encrypted EBS volume",
                {
                    "kms:GrantIsForAWSResource": ("true",),
                    "kms:ViaService": (f"ec2.{where}.amazonaws.com",),
                },
            )
        )
    return needs
