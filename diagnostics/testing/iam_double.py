"""A loopback HTTP double of IAM's SimulateCustomPolicy, decided by our evaluator.

moto does not implement SimulateCustomPolicy, so ``--verify`` is tested
against this double.  It speaks the IAM Query protocol (form-encoded POST,
XML in the ``https://iam.amazonaws.com/doc/2010-05-08/`` namespace), so a
real boto3 IAM client pointed at ``endpoint_url`` runs signing, retries and
error parsing.  Response shapes follow the IAM API reference,
SimulateCustomPolicy and "Common Errors".

    with IamDouble() as iam:
        client = boto3.client("iam", endpoint_url=iam.endpoint_url, ...)
        iam.deny_all = True   # every call answers AccessDenied
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from diagnostics.model import RequestContext
from diagnostics.policy.evaluate import evaluate, statements_of
from diagnostics.testing.loopback import LoopbackServer

NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
_DECISIONS = {"allow": "allowed", "implicit_deny": "implicitDeny", "explicit_deny": "explicitDeny"}


@dataclass(frozen=True, slots=True)
class SimulateCall:
    """One SimulateCustomPolicy request as the double parsed it."""

    policies: tuple[str, ...]
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    context_types: Mapping[str, str] = field(default_factory=dict)
    signed: bool = False


def _members(params: Mapping[str, str], prefix: str) -> list[str]:
    out = []
    n = 1
    while f"{prefix}.member.{n}" in params:
        out.append(params[f"{prefix}.member.{n}"])
        n += 1
    return out


def parse_call(params: Mapping[str, str], authorization: str) -> SimulateCall:
    """Turn the Query-protocol form fields into a ``SimulateCall``."""
    context: dict[str, tuple[str, ...]] = {}
    types: dict[str, str] = {}
    n = 1
    while f"ContextEntries.member.{n}.ContextKeyName" in params:
        base = f"ContextEntries.member.{n}"
        name = params[f"{base}.ContextKeyName"]
        context[name] = tuple(_members(params, f"{base}.ContextKeyValues"))
        types[name] = params.get(f"{base}.ContextKeyType", "")
        n += 1
    return SimulateCall(
        policies=tuple(_members(params, "PolicyInputList")),
        actions=tuple(_members(params, "ActionNames")),
        resources=tuple(_members(params, "ResourceArns")),
        context=context,
        context_types=types,
        signed=authorization.startswith("AWS4-HMAC-SHA256"),
    )


class IamDouble(LoopbackServer):
    """A threaded loopback server answering SimulateCustomPolicy."""

    NAME = "iam-double"

    def __init__(self, *, principal_arn: str | None = None) -> None:
        super().__init__()
        self.principal_arn = principal_arn
        self.deny_all = False
        self._calls: list[SimulateCall] = []
        self._lock = threading.Lock()

    def calls(self) -> list[SimulateCall]:
        with self._lock:
            return list(self._calls)

    def handle(self, params: Mapping[str, str], authorization: str) -> tuple[int, str]:
        action = params.get("Action", "")
        if action != "SimulateCustomPolicy":
            return _error(400, "InvalidAction", f"The action {action} is not valid for this double")
        call = parse_call(params, authorization)
        with self._lock:
            self._calls.append(call)
        if not call.signed:
            return _error(403, "MissingAuthenticationToken", "Request is missing a signature")
        if self.deny_all:
            return _error(
                403,
                "AccessDenied",
                "User: arn:aws:iam::111122223333:user/verifier is not authorized to perform: "
                "iam:SimulateCustomPolicy",
            )
        statements: list[Mapping[str, Any]] = []
        for text in call.policies:
            try:
                document = json.loads(text)
            except ValueError:
                return _error(400, "MalformedPolicyDocument", "The policy is not valid JSON")
            statements.extend(statements_of(document))
        members = []
        for action_name in call.actions:
            for resource in call.resources or ("*",):
                ctx = RequestContext(
                    action=action_name,
                    resource=None if resource == "*" else resource,
                    principal_arn=self.principal_arn,
                    account_id=None,
                    conditions=dict(call.context),
                )
                decision = _DECISIONS[evaluate(statements, ctx)]
                members.append(
                    "<member>"
                    f"<EvalActionName>{escape(action_name)}</EvalActionName>"
                    f"<EvalResourceName>{escape(resource)}</EvalResourceName>"
                    f"<EvalDecision>{decision}</EvalDecision>"
                    "<MatchedStatements/><MissingContextValues/>"
                    "</member>"
                )
        inner = (
            f"<EvaluationResults>{''.join(members)}</EvaluationResults>"
            "<IsTruncated>false</IsTruncated>"
        )
        return 200, (
            f'<SimulateCustomPolicyResponse xmlns="{NAMESPACE}">'
            f"<SimulateCustomPolicyResult>{inner}</SimulateCustomPolicyResult>"
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            "</SimulateCustomPolicyResponse>"
        )


def _error(status: int, code: str, message: str) -> tuple[int, str]:
    return status, (
        f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
