"""Merging fixes into ready-to-apply policy documents (scan --format policy)."""

from __future__ import annotations

import json
import re
from typing import Any

from diagnostics.model import Diagnosis, Failure, Finding, Fix, RequestContext, SourceRef
from diagnostics.policy import evaluate, merge_fixes, render_policies, statements_of

ACCOUNT = "111122223333"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/ci-42"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Deploy"


def diagnosis(*fixes: Fix, action: str = "s3:GetObject", resource: str | None = None) -> Diagnosis:
    failure = Failure(
        kind="plain",
        source=SourceRef("-", 1),
        principal_arn=SESSION,
        action=action,
        resource=resource,
    )
    return Diagnosis(failure, findings=(Finding("r", "t", "medium", "e", fixes),))


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_session_fixes_land_on_the_role_and_combine_actions() -> None:
    """Fixes for a role session become one identity policy on the role with unioned actions."""
    docs = merge_fixes(
        [
            diagnosis(Fix("identity", SESSION, (allow("s3:GetObject", "arn:aws:s3:::b/*"),))),
            diagnosis(Fix("identity", ROLE, (allow("s3:PutObject", "arn:aws:s3:::b/*"),))),
            diagnosis(Fix("identity", ROLE, (allow("s3:GetObject", "arn:aws:s3:::b/*"),))),
        ]
    )
    assert len(docs) == 1
    (doc,) = docs
    assert doc.kind == "identity"
    assert doc.applies_to == ROLE
    assert doc.document == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowS3GetObjectPutObject",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": "arn:aws:s3:::b/*",
            }
        ],
    }
    assert doc.warnings == ()


def test_statements_with_same_actions_union_resources() -> None:
    """Statements with the same actions and conditions combine their resources."""
    cond = {"StringEquals": {"aws:ResourceTag/env": "dev"}}
    docs = merge_fixes(
        [
            diagnosis(
                Fix(
                    "identity",
                    ROLE,
                    (
                        allow(
                            "ec2:StartInstances",
                            "arn:aws:ec2:us-east-1:1:instance/i-2",
                            Condition=cond,
                        ),
                        allow(
                            "ec2:StartInstances",
                            "arn:aws:ec2:us-east-1:1:instance/i-1",
                            Condition=cond,
                        ),
                        allow("ec2:StartInstances", "arn:aws:ec2:us-east-1:1:instance/i-3"),
                    ),
                )
            )
        ]
    )
    statements = docs[0].document["Statement"]
    assert len(statements) == 2
    with_cond = next(s for s in statements if "Condition" in s)
    assert with_cond["Resource"] == [
        "arn:aws:ec2:us-east-1:1:instance/i-1",
        "arn:aws:ec2:us-east-1:1:instance/i-2",
    ]
    sids = [s["Sid"] for s in statements]
    assert sids == ["AllowEc2StartInstances", "AllowEc2StartInstances2"]
    assert all(re.fullmatch(r"[A-Za-z0-9]+", s) for s in sids)


def test_wildcards_absorb_covered_entries() -> None:
    """An action or resource already covered by a wildcard in the same statement is dropped."""
    docs = merge_fixes(
        [
            diagnosis(
                Fix(
                    "identity",
                    ROLE,
                    (
                        allow(
                            ["s3:Get*", "s3:GetObject"], ["arn:aws:s3:::b/*", "arn:aws:s3:::b/k"]
                        ),
                        allow("kms:Decrypt", ["*", "arn:aws:kms:us-east-1:1:key/k"]),
                    ),
                )
            )
        ]
    )
    statements = docs[0].document["Statement"]
    assert statements[0]["Action"] == "s3:Get*"
    assert statements[0]["Sid"] == "AllowS3GetAll"
    assert statements[0]["Resource"] == "arn:aws:s3:::b/*"
    assert statements[1]["Resource"] == "*"


def test_each_kind_and_target_gets_its_own_document() -> None:
    """Identity, trust, resource and SCP fixes come out as separate labelled documents."""
    trust = {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "sts:AssumeRole"}
    target_role = f"arn:aws:iam::{ACCOUNT}:role/Target"
    docs = merge_fixes(
        [
            diagnosis(
                Fix("identity", SESSION, (allow("sts:AssumeRole", target_role),)),
                Fix("trust", target_role, (trust,)),
            ),
            diagnosis(
                Fix("resource", "arn:aws:s3:::b", (allow("s3:ListBucket", "arn:aws:s3:::b"),))
            ),
            diagnosis(Fix("scp", None, ({"Effect": "Allow", "Action": "s3:*", "Resource": "*"},))),
            diagnosis(Fix("trust", target_role, (trust,))),
        ]
    )
    assert [(d.kind, d.applies_to) for d in docs] == [
        ("identity", ROLE),
        ("trust", target_role),
        ("resource", "arn:aws:s3:::b"),
        ("scp", None),
    ]
    assert docs[1].document["Statement"] == [
        {
            "Sid": "AllowStsAssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": ROLE},
            "Action": "sts:AssumeRole",
        }
    ]
    text = render_policies(docs)
    assert f"# identity policy for {ROLE}: attach to this role" in text
    assert f"# trust policy of {target_role}" in text
    assert "# resource policy of arn:aws:s3:::b" in text
    assert "# service control policy (AWS Organizations) for (unknown target)" in text
    # Every JSON block parses as a policy document.
    blocks = [b for b in re.split(r"^#.*$", text, flags=re.M) if b.strip()]
    assert [json.loads(b)["Version"] for b in blocks] == ["2012-10-17"] * 4
    assert render_policies([]) == ""


def test_oversized_documents_warn() -> None:
    """A document over IAM's size limit carries a warning naming the limit."""
    user = f"arn:aws:iam::{ACCOUNT}:user/alice"
    resources = tuple(allow("s3:GetObject", f"arn:aws:s3:::bucket-{i:04d}/*") for i in range(80))
    bulky = tuple(allow(f"s3:Get{i}", f"arn:aws:s3:::other-{i:04d}/x") for i in range(40))
    docs = merge_fixes([diagnosis(Fix("identity", user, resources + bulky))])
    (doc,) = docs
    assert any("2,048-character limit for an inline user policy" in w for w in doc.warnings)
    assert "# warning:" in render_policies(docs)
    small = merge_fixes([diagnosis(Fix("identity", user, resources[:1]))])
    assert small[0].warnings == ()


def test_merged_policy_still_allows_every_original_request() -> None:
    """After merging, the identity policy allows each request its fixes were written for."""
    requests = [
        ("s3:GetObject", "arn:aws:s3:::b/k1"),
        ("s3:PutObject", "arn:aws:s3:::b/k2"),
        ("s3:ListBucket", "arn:aws:s3:::b"),
        ("ec2:RunInstances", "arn:aws:ec2:us-east-1:111122223333:instance/*"),
    ]
    diagnoses = [
        diagnosis(Fix("identity", SESSION, (allow(a, r),)), action=a, resource=r)
        for a, r in requests
    ]
    (doc,) = merge_fixes(diagnoses)
    for action, resource in requests:
        ctx = RequestContext(
            action=action, resource=resource, principal_arn=SESSION, account_id=ACCOUNT
        )
        assert evaluate(statements_of(doc.document), ctx) == "allow"
    other = RequestContext(
        action="s3:DeleteObject",
        resource="arn:aws:s3:::b/k1",
        principal_arn=SESSION,
        account_id=ACCOUNT,
    )
    assert evaluate(statements_of(doc.document), other) == "implicit_deny"


def test_merge_is_deterministic_and_leaves_inputs_alone() -> None:
    """The same input gives byte-identical output, and the fixes' statements are not mutated."""
    statement = allow(["s3:PutObject", "s3:GetObject"], "arn:aws:s3:::b/*", Sid="Mine")
    before = json.dumps(statement, sort_keys=True)
    first = render_policies(merge_fixes([diagnosis(Fix("identity", ROLE, (statement,)))]))
    second = render_policies(merge_fixes([diagnosis(Fix("identity", ROLE, (statement,)))]))
    assert first == second
    assert json.dumps(statement, sort_keys=True) == before
    assert merge_fixes([diagnosis()]) == []
