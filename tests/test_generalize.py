"""Tests for ``--generalize``: opt-in widening of fix ARNs, always named."""

from __future__ import annotations

from diagnostics.diagnose.generalize import generalize, widen_arn
from diagnostics.model import Diagnosis, Failure, Finding, Fix, SourceRef


def test_instance_arn_widens_to_its_type_in_the_same_account_and_region() -> None:
    """An instance id becomes instance/* without leaving the account or region."""
    assert (
        widen_arn("arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0")
        == "arn:aws:ec2:us-east-1:111122223333:instance/*"
    )
    assert (
        widen_arn("arn:aws:dynamodb:eu-west-1:111122223333:table/Orders")
        == "arn:aws:dynamodb:eu-west-1:111122223333:table/*"
    )


def test_wildcards_and_non_arns_are_left_alone() -> None:
    """A resource that is already a wildcard, or not an ARN, is not touched."""
    assert widen_arn("arn:aws:ec2:us-east-1:1:instance/*") == "arn:aws:ec2:us-east-1:1:instance/*"
    assert widen_arn("*") == "*"
    assert widen_arn("policy path /") == "policy path /"


def test_generalize_names_every_widened_arn_in_the_explanation() -> None:
    """The user sees exactly which ARN was widened to what."""
    arn = "arn:aws:dynamodb:us-east-1:111122223333:table/Orders"
    stmt = {"Sid": "A", "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": arn}
    deny = {"Sid": "D", "Effect": "Deny", "Action": "dynamodb:GetItem", "Resource": arn}
    finding = Finding("r", "t", "medium", "Add it.", (Fix("identity", "x", (stmt, deny)),))
    diag = Diagnosis(Failure(kind="plain", source=SourceRef("-")), findings=(finding,))
    [out] = generalize(diag).findings
    widened, untouched = out.fixes[0].statements
    assert widened["Resource"] == "arn:aws:dynamodb:us-east-1:111122223333:table/*"
    assert untouched["Resource"] == arn  # Deny statements are never widened
    assert f"{arn} -> arn:aws:dynamodb:us-east-1:111122223333:table/*" in out.explanation


def test_an_s3_object_widens_to_its_bucket_never_to_every_bucket() -> None:
    """bucket/key becomes bucket/*; a bucket ARN stays (arn:aws:s3:::* is every bucket)."""
    assert widen_arn("arn:aws:s3:::acme-artifacts/releases/app-1.4.2.tgz") == (
        "arn:aws:s3:::acme-artifacts/*"
    )
    assert widen_arn("arn:aws:s3:::acme-artifacts") == "arn:aws:s3:::acme-artifacts"


def test_a_role_widens_to_its_own_path_and_never_across_accounts() -> None:
    """role/team/app becomes role/team/*; a role in another account is left exact."""
    home = "111122223333"
    assert widen_arn("arn:aws:iam::111122223333:role/team/app", home) == (
        "arn:aws:iam::111122223333:role/team/*"
    )
    other = "arn:aws:iam::444455556666:role/DataReader"
    assert widen_arn(other, home) == other


def test_a_dynamodb_index_stays_inside_its_table() -> None:
    """table/T/index/I becomes table/T/index/*, not every table's indexes."""
    assert widen_arn("arn:aws:dynamodb:us-east-1:111122223333:table/Orders/index/byDate") == (
        "arn:aws:dynamodb:us-east-1:111122223333:table/Orders/index/*"
    )


def test_generalize_keeps_a_cross_account_assume_role_exact() -> None:
    """The caller's sts:AssumeRole on another account's role is not widened to role/*."""
    role = "arn:aws:iam::444455556666:role/DataReader"
    stmt = {"Sid": "A", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role}
    fix = Fix("identity", "arn:aws:iam::111122223333:user/alice", (stmt,))
    diag = Diagnosis(
        Failure(kind="plain", source=SourceRef("-")),
        findings=(Finding("r", "t", "medium", "Add it.", (fix,)),),
    )
    [out] = generalize(diag).findings
    assert out.fixes[0].statements[0]["Resource"] == role
    assert "--generalize widened" not in out.explanation
