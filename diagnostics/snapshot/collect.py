"""Collect a snapshot with read-only credentials, through the lookup core (boto3).

Every call goes through ``diagnostics.lookup.clients.AwsClients`` (rate
limit, per-account roles from the decode role template) and every failure
through ``diagnostics.lookup.errors.classify``.  A call the credentials may
not make is not fatal: it becomes a statement to add to the collecting role,
and collection goes on with what it can read.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from diagnostics.lookup import errors as e
from diagnostics.model import JSONObject

#: Keys of GetAccountAuthorizationDetails' answer that a snapshot keeps.
GAAD_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


@dataclass(slots=True)
class Collected:
    """The snapshot's JSON and every permission that was missing (IAM actions)."""

    snapshot: JSONObject = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    #: Calls that failed for another reason: one sentence each (no document in them).
    errors: list[str] = field(default_factory=list)

    def statement(self) -> JSONObject | None:
        """The statement to add to the collecting role, or None when nothing was missing."""
        if not self.missing:
            return None
        actions = sorted(dict.fromkeys(self.missing))
        return {
            "Sid": "AuthzDiagSnapshotRead",
            "Effect": "Allow",
            "Action": actions,
            "Resource": "*",
        }


#: Client factory: service name -> a boto3 client of the lookup core.
Clients = Callable[[str], Any]


def _call(done: Collected, action: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:  # classified below; anything else is a bug and re-raised
        error = e.classify(exc)
        if error.kind == e.OTHER and error.code == type(exc).__name__ and not error.status:
            raise
        if error.kind in {e.ACCESS_DENIED, e.NOT_ALLOWED} or error.code in {
            "AccessDeniedForDependencyException",
            "AWSOrganizationsNotInUseException",
        }:
            if error.code == "AWSOrganizationsNotInUseException":
                done.errors.append("the account is in no organization: no SCPs or RCPs")
            else:
                done.missing.append(action)
            return None
        if error.kind == e.NOT_FOUND or error.code.startswith("NoSuch") or "NotFound" in error.code:
            return None  # no policy on that resource
        done.errors.append(f"{action} failed: {error.kind} ({error.code})")
        return None


def _pages(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    out: list[Any] = []
    for page in client.get_paginator(operation).paginate(**params):
        out.extend(page.get(key, []))
    return out


def _gaad(clients: Clients, done: Collected) -> None:
    iam = clients("iam")

    def read() -> JSONObject:
        merged: JSONObject = {k: [] for k in GAAD_KEYS}
        for page in iam.get_paginator("get_account_authorization_details").paginate():
            for key in GAAD_KEYS:
                merged[key].extend(page.get(key, []))
        return merged

    got = _call(done, "iam:GetAccountAuthorizationDetails", read)
    if got is not None:
        done.snapshot.update(got)


def _chain(org: Any, account: str, done: Collected) -> list[JSONObject]:
    chain: list[JSONObject] = [{"Id": account, "Type": "ACCOUNT"}]
    child = account
    for _ in range(8):  # an organization is at most five OUs deep under the root
        parents = _call(
            done, "organizations:ListParents", functools.partial(org.list_parents, ChildId=child)
        )
        if not parents or not parents.get("Parents"):
            break
        parent = parents["Parents"][0]
        chain.insert(0, {"Id": parent["Id"], "Type": parent["Type"]})
        if parent["Type"] == "ROOT":
            break
        child = parent["Id"]
    return chain


def _organization(clients: Clients, account: str, done: Collected) -> None:
    org = clients("organizations")
    described = _call(done, "organizations:DescribeOrganization", org.describe_organization)
    if described is None:
        return
    policies: list[JSONObject] = []
    for kind in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
        listed = _call(
            done,
            "organizations:ListPolicies",
            functools.partial(_pages, org, "list_policies", "Policies", Filter=kind),
        )
        for summary in listed or []:
            pid = summary["Id"]
            body = _call(
                done,
                "organizations:DescribePolicy",
                functools.partial(org.describe_policy, PolicyId=pid),
            )
            targets = _call(
                done,
                "organizations:ListTargetsForPolicy",
                functools.partial(_pages, org, "list_targets_for_policy", "Targets", PolicyId=pid),
            )
            policies.append(
                {
                    "Id": pid,
                    "Arn": summary.get("Arn"),
                    "Name": summary.get("Name"),
                    "Type": kind,
                    "Content": (body or {}).get("Policy", {}).get("Content"),
                    "Targets": [t["TargetId"] for t in targets or []],
                }
            )
    done.snapshot["Organization"] = {
        "Id": described.get("Organization", {}).get("Id"),
        "Accounts": {account: _chain(org, account, done)},
        "Policies": policies,
    }


def _bucket(clients: Clients, arn: str, done: Collected) -> Any:
    bucket = arn.split(":::", 1)[-1].split("/", 1)[0]
    got = _call(done, "s3:GetBucketPolicy", lambda: clients("s3").get_bucket_policy(Bucket=bucket))
    return got.get("Policy") if got else None


def _key(clients: Clients, arn: str, done: Collected) -> Any:
    got = _call(
        done,
        "kms:GetKeyPolicy",
        lambda: clients("kms").get_key_policy(KeyId=arn, PolicyName="default"),
    )
    return got.get("Policy") if got else None


def _queue(clients: Clients, arn: str, done: Collected) -> Any:
    parts = arn.split(":")
    sqs = clients("sqs")
    url = _call(
        done,
        "sqs:GetQueueUrl",
        lambda: sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4]),
    )
    if not url:
        return None
    got = _call(
        done,
        "sqs:GetQueueAttributes",
        lambda: sqs.get_queue_attributes(QueueUrl=url["QueueUrl"], AttributeNames=["Policy"]),
    )
    return (got or {}).get("Attributes", {}).get("Policy")


def _topic(clients: Clients, arn: str, done: Collected) -> Any:
    got = _call(
        done, "sns:GetTopicAttributes", lambda: clients("sns").get_topic_attributes(TopicArn=arn)
    )
    return (got or {}).get("Attributes", {}).get("Policy")


def _function(clients: Clients, arn: str, done: Collected) -> Any:
    got = _call(done, "lambda:GetPolicy", lambda: clients("lambda").get_policy(FunctionName=arn))
    return got.get("Policy") if got else None


def _repository(clients: Clients, arn: str, done: Collected) -> Any:
    name = arn.split(":repository/", 1)[-1]
    got = _call(
        done,
        "ecr:GetRepositoryPolicy",
        lambda: clients("ecr").get_repository_policy(repositoryName=name),
    )
    return got.get("policyText") if got else None


def _secret(clients: Clients, arn: str, done: Collected) -> Any:
    got = _call(
        done,
        "secretsmanager:GetResourcePolicy",
        lambda: clients("secretsmanager").get_resource_policy(SecretId=arn),
    )
    return got.get("ResourcePolicy") if got else None


#: ARN service -> how its resource policy is read.
READERS: dict[str, Callable[[Clients, str, Collected], Any]] = {
    "s3": _bucket,
    "kms": _key,
    "sqs": _queue,
    "sns": _topic,
    "lambda": _function,
    "ecr": _repository,
    "secretsmanager": _secret,
}


def _resource_of(arn: str) -> str:
    """The ARN whose policy applies: an S3 object's bucket."""
    if arn.startswith("arn:aws:s3:::"):
        return arn.split("/", 1)[0]
    return arn


def collect(clients: Clients, account: str, resources: Iterable[str] = ()) -> Collected:
    """A snapshot of ``account``: IAM, its organization where allowed, resources' policies."""
    done = Collected()
    _gaad(clients, done)
    _organization(clients, account, done)
    held: list[JSONObject] = []
    for arn in dict.fromkeys(resources):
        service = arn.split(":")[2] if arn.count(":") >= 5 else ""
        reader = READERS.get(service)
        if reader is None:
            continue
        policy = reader(clients, arn, done)
        if policy:
            owner = arn.split(":")[4] or account
            held.append({"Resource": _resource_of(arn), "Account": owner, "Policy": policy})
    if held:
        done.snapshot["ResourcePolicies"] = held
    done.snapshot["AuthzDiag"] = {
        "Format": 1,
        "Account": account,
        "CollectedAt": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Unreadable": [f"missing permission {a}" for a in dict.fromkeys(done.missing)],
    }
    return done
