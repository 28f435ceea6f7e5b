"""Tests for the domain types' JSON contract."""

from __future__ import annotations

from diagnostics.model import Diagnosis, Failure, Finding, Fix, SourceRef

CONTRACT_FIELDS = {
    "kind",
    "source",
    "principal_arn",
    "account_id",
    "action",
    "resource",
    "policy_type",
    "policy_arn",
    "explicit_deny",
    "encoded_message",
    "truncated",
    "decoded",
    "decode_error",
    "findings",
}


def test_diagnosis_json_has_every_contract_field() -> None:
    """A diagnosis serialises with every field name the output contract fixes."""
    failure = Failure(kind="plain", source=SourceRef("-", 3, 120), action="s3:GetObject")
    fix = Fix("identity", "arn:aws:iam::123456789012:role/app", ({"Effect": "Allow"},))
    diag = Diagnosis(failure, findings=(Finding("r", "t", "high", "e", (fix,)),))
    out = diag.to_json()
    assert out.keys() >= CONTRACT_FIELDS
    assert out["source"] == {"path": "-", "line": 3, "offset": 120}
    assert out["findings"][0]["fixes"][0]["applies_to"].endswith(":role/app")


def test_dedup_key_ignores_excerpt_but_not_blob() -> None:
    """The same denial printed twice dedups; two different blobs do not."""
    a = Failure(kind="encoded", source=SourceRef("-", 1), encoded_message="AAA", excerpt="x")
    b = Failure(kind="encoded", source=SourceRef("-", 9), encoded_message="AAA", excerpt="y")
    c = Failure(kind="encoded", source=SourceRef("-", 9), encoded_message="BBB")
    assert a.dedup_key() == b.dedup_key()
    assert a.dedup_key() != c.dedup_key()
