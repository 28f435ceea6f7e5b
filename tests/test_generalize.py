"""Tests for ``--generalize``: opt-in widening of fix ARNs, always named."""

from __future__ import annotations

from diagnostics.generalize import generalize, widen_arn
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
