"""Valid IAM Access Troubleshooter answers built from a short spec.

The builders produce what ``GetRequestAuthorizationDetails`` returns (shape
``GetRequestAuthorizationDetailsOutput`` of botocore's ``iam-toolbox`` model:
``requestContext``, ``evaluations[].checks[]``, ``policies[]``) and
``check_shape`` validates any answer against that model (required members,
enums, lengths, types), so the double never serves something the real API
could not.

    answer = details(
        context={"aws:PrincipalArn": ROLE, "aws:RequestedRegion": "eu-west-1"},
        evaluations=[
            evaluation("s3:PutObject", BUCKET_ARN, "EXPLICIT_DENY", [
                check("SERVICE_CONTROL_POLICY", "EXPLICIT_DENY", target_arn=OU_ARN,
                      policies=[matched(SCP_URI, ("DenyOutsideRegions", "DENY"))]),
                check("PRINCIPAL", "ALLOW", policies=[matched(ROLE_POLICY_URI)]),
            ]),
        ],
        policies=[policy(SCP_URI, "SERVICE_CONTROL_POLICY", attached_to=[OU_ARN])],
    )
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

JSON = dict[str, Any]


def matched(uri: str, *statements: tuple[str | None, str]) -> JSON:
    """A ``MatchedPolicy``: the policy's URI and its matched ``(sid, ALLOW|DENY)`` statements."""
    out: JSON = {"uri": uri}
    if statements:
        out["matchedStatements"] = [
            {"evaluatedEffect": effect} if sid is None else {"sid": sid, "evaluatedEffect": effect}
            for sid, effect in statements
        ]
    return out


def check(
    check_type: str,
    effect: str,
    *,
    target_arn: str | None = None,
    policies: Sequence[JSON] = (),
    relevant: Sequence[str] = (),
) -> JSON:
    """A ``Check``: one requirement (SCP at a target, PRINCIPAL, RESOURCE ...) and its effect."""
    out: JSON = {"checkType": check_type, "evaluatedEffect": effect}
    if target_arn is not None:
        out["targetArn"] = target_arn
    if relevant:
        out["relevantPolicyTypes"] = list(relevant)
    if policies:
        out["matchedPolicies"] = list(policies)
    return out


def evaluation(
    action: str,
    resource: str,
    effect: str,
    checks: Sequence[JSON],
    *,
    context: Mapping[str, Any] | None = None,
) -> JSON:
    """An ``Evaluation``: one action/resource pair, its own context keys and its checks."""
    out: JSON = {
        "action": action,
        "resource": resource,
        "evaluatedEffect": effect,
        "checks": list(checks),
    }
    if context:
        out["context"] = dict(context)
    return out


def policy(
    uri: str,
    policy_type: str,
    *,
    attached_to: Iterable[str] = (),
    inline: bool = False,
    source: Mapping[str, str] | None = None,
) -> JSON:
    """A ``PolicyInfo``: a policy that was evaluated and where it is attached."""
    out: JSON = {"type": policy_type, "inline": inline, "uri": uri}
    attached = [{"arn": arn} for arn in attached_to]
    if attached:
        out["attachedTo"] = attached
    if source:
        out["policySource"] = dict(source)
    return out


def details(
    *,
    context: Mapping[str, Any],
    evaluations: Sequence[JSON],
    policies: Sequence[JSON],
) -> JSON:
    """A whole ``GetRequestAuthorizationDetails`` answer (one page), checked against the model."""
    out: JSON = {
        "requestContext": dict(context),
        "evaluations": list(evaluations),
        "policies": list(policies),
    }
    check_shape(out, "GetRequestAuthorizationDetailsOutput")
    return out


# -- a ready-made answer: an SCP explicit deny ------------------------------------

ACCOUNT = "123456789012"
ORG = "o-a1b2c3d4e5"
OU_ARN = f"arn:aws:organizations::111111111111:ou/{ORG}/ou-ab12-cdef3456"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/AppDeployer"
SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/AppDeployer/ci-run-4821"
SCP_URI = f"arn:aws:organizations::111111111111:policy/{ORG}/service_control_policy/p-9z8y7x6w"
ROLE_POLICY_URI = f"arn:aws:iam::{ACCOUNT}:policy/AppDeployerAccess"
SCP_DOCUMENT: JSON = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyOutsideRegions",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}},
        }
    ],
}
ROLE_DOCUMENT: JSON = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Artifacts", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


def scp_deny_details(*, evaluations: int = 1) -> JSON:
    """An ``s3:PutObject`` denied in eu-west-1 by an SCP at an OU; ``evaluations`` copies
    (distinct objects) make pagination visible."""
    context = {
        "aws:PrincipalArn": SESSION_ARN,
        "aws:PrincipalAccount": ACCOUNT,
        "aws:PrincipalOrgID": ORG,
        "aws:RequestedRegion": "eu-west-1",
    }
    evals = [
        evaluation(
            "s3:PutObject",
            f"arn:aws:s3:::example-artifacts/build/app-{n}.zip",
            "EXPLICIT_DENY",
            [
                check(
                    "SERVICE_CONTROL_POLICY",
                    "EXPLICIT_DENY",
                    target_arn=OU_ARN,
                    policies=[matched(SCP_URI, ("DenyOutsideRegions", "DENY"))],
                ),
                check(
                    "PRINCIPAL",
                    "ALLOW",
                    policies=[matched(ROLE_POLICY_URI, ("Artifacts", "ALLOW"))],
                ),
            ],
        )
        for n in range(evaluations)
    ]
    return details(
        context=context,
        evaluations=evals,
        policies=[
            policy(SCP_URI, "SERVICE_CONTROL_POLICY", attached_to=[OU_ARN]),
            policy(ROLE_POLICY_URI, "IDENTITY_BASED_POLICY", attached_to=[ROLE_ARN]),
        ],
    )


SCP_DOCUMENTS: Mapping[str, JSON] = {SCP_URI: SCP_DOCUMENT, ROLE_POLICY_URI: ROLE_DOCUMENT}


# -- checking against botocore's model ------------------------------------------


@functools.cache
def _shapes() -> Mapping[str, Any]:
    """The iam-toolbox model's shapes (empty when this botocore does not ship it)."""
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    try:
        data = botocore.session.get_session().get_service_data("iam-toolbox")
    except UnknownServiceError:
        return {}
    shapes: Mapping[str, Any] = data["shapes"]
    return shapes


class ShapeError(ValueError):
    """A built answer does not fit botocore's iam-toolbox model."""


def check_shape(value: Any, shape_name: str, where: str = "$") -> None:
    """Raise ``ShapeError`` when ``value`` does not fit the model's ``shape_name``."""
    shapes = _shapes()
    if not shapes:
        return  # an older botocore: nothing to check against
    shape = shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        if shape.get("document"):
            return  # any JSON
        if not isinstance(value, Mapping):
            raise ShapeError(f"{where}: {shape_name} must be an object")
        members = shape.get("members", {})
        for key in shape.get("required", []):
            if key not in value:
                raise ShapeError(f"{where}: {shape_name} needs {key!r}")
        for key, item in value.items():
            if key not in members:
                raise ShapeError(f"{where}: {shape_name} has no member {key!r}")
            check_shape(item, members[key]["shape"], f"{where}.{key}")
    elif kind == "list":
        if not isinstance(value, list):
            raise ShapeError(f"{where}: {shape_name} must be a list")
        for i, item in enumerate(value):
            check_shape(item, shape["member"]["shape"], f"{where}[{i}]")
    elif kind == "map":
        if not isinstance(value, Mapping):
            raise ShapeError(f"{where}: {shape_name} must be an object")
        for key, item in value.items():
            check_shape(item, shape["value"]["shape"], f"{where}[{key!r}]")
    elif kind == "string":
        if not isinstance(value, str):
            raise ShapeError(f"{where}: {shape_name} must be a string")
        if "enum" in shape and value not in shape["enum"]:
            raise ShapeError(f"{where}: {value!r} is not one of {shape['enum']}")
        if not shape.get("min", 0) <= len(value) <= shape.get("max", 1 << 30):
            raise ShapeError(f"{where}: {shape_name} length out of range")
    elif kind == "boolean" and not isinstance(value, bool):
        raise ShapeError(f"{where}: {shape_name} must be true or false")
