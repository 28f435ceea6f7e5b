"""Group keys: what makes two diagnoses "the same problem".

Every encoded blob differs even for the same denial, so the key is built from
the decoded facts only (account, principal, action, resource, decision) and
never from the raw text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson

from diagnostics.iam.arns import principal_for_policy
from diagnostics.model import Diagnosis, JSONObject
from diagnostics.request.context import account_of


def principal_for_group(arn: str | None) -> str | None:
    """The principal a policy change applies to: an assumed-role session's role."""
    return principal_for_policy(arn) if arn else arn


def decision_of(diagnosis: Diagnosis) -> str:
    explicit = diagnosis.failure.explicit_deny
    if explicit is True:
        return "explicit_deny"
    if explicit is False:
        return "implicit_deny"
    return "unknown"


@dataclass(frozen=True, slots=True)
class GroupKey:
    """The labels a group is identified by; ``id`` is stable across processes."""

    account: str | None
    principal: str | None
    action: str | None  # lower-cased: SNS writes SNS:Publish, SQS sqs:sendmessage
    resource: str | None
    decision: str  # explicit_deny | implicit_deny | unknown
    policy_type: str | None

    @property
    def id(self) -> str:
        raw = orjson.dumps(
            [
                self.account,
                self.principal,
                self.action,
                self.resource,
                self.decision,
                self.policy_type,
            ]
        )
        return hashlib.sha256(raw).hexdigest()[:32]

    def labels(self) -> dict[str, str | None]:
        return {
            "account": self.account,
            "principal": self.principal,
            "action": self.action,
            "resource": self.resource,
            "decision": self.decision,
            "policy_type": self.policy_type,
        }

    def to_json(self) -> JSONObject:
        return {"id": self.id, **self.labels()}

    @classmethod
    def from_json(cls, obj: JSONObject) -> GroupKey:
        return cls(
            account=obj.get("account"),
            principal=obj.get("principal"),
            action=obj.get("action"),
            resource=obj.get("resource"),
            decision=str(obj.get("decision", "unknown")),
            policy_type=obj.get("policy_type"),
        )


def group_key(diagnosis: Diagnosis) -> GroupKey:
    """The group a diagnosis belongs to."""
    f = diagnosis.failure
    principal = principal_for_group(f.principal_arn)
    return GroupKey(
        account=f.account_id or account_of(f.principal_arn) or account_of(f.resource),
        principal=principal,
        action=f.action.lower() if f.action else None,
        # The resource as written when it is no clean ARN: still what tells groups apart.
        resource=f.resource or f.resource_text,
        decision=decision_of(diagnosis),
        policy_type=f.policy_type,
    )


def variant_id(diagnosis: Diagnosis) -> str:
    """Identity of a *distinct* failure inside a group.

    Two diagnoses in one group are the same variant when they would tell the
    reader the same thing: same policy, region, rules and fixes.  A later
    occurrence that decodes into a new fix, or names another policy, is new
    information and re-notifies at the next ``group_interval``; a mere repeat
    only bumps the count.  Blobs, times, and request conditions (which change
    on every call) are left out on purpose.
    """
    f = diagnosis.failure
    raw = orjson.dumps(
        [
            f.policy_arn,
            f.region,
            f.truncated,
            diagnosis.decoded is not None,
            [[x.rule, [fix.to_json() for fix in x.fixes]] for x in diagnosis.findings],
            # Resolved Access Troubleshooter details are news, like a decoded blob
            # (a deferred ID that resolves later re-notifies); appended only when
            # present so the variants of every other diagnosis keep their ids.
            *([True] if diagnosis.authorization_details is not None else []),
        ],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(raw).hexdigest()[:16]
