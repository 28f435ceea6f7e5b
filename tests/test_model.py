"""Tests for the domain types' JSON contract."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import orjson

from diagnostics.alerts.codec import diagnosis_from_json
from diagnostics.model import (
    FAILURE_KINDS,
    KIND_WORDS,
    LAYER_PLURALS,
    LAYER_WORDS,
    POLICY_NAMES,
    POLICY_TYPES,
    POLICY_WORDS,
    TARGET_WORDS,
    Diagnosis,
    Evaluated,
    Failure,
    Finding,
    Fix,
    SourceRef,
    Verification,
    json_key,
)

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


def _sample(hint: Any, name: str) -> Any:
    """A value of type ``hint`` that is not the field's default, made from its type alone."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Literal:
        return args[-1]
    if type(None) in args:
        return _sample(next(a for a in args if a is not type(None)), name)
    if hint is SourceRef:
        return SourceRef("app.log", 12, 340, "event-1", "app.log.1")
    if hint is bool:
        return True
    if hint is str:
        return f"{name}-value"
    if hint is dict or typing.get_origin(hint) is dict:
        return {name: "value"}
    if typing.get_origin(hint) is tuple and typing.get_origin(args[0]) is tuple:
        return (("aws:SourceIp", ("10.0.0.1", "10.0.0.2")),)
    if typing.get_origin(hint) is tuple:
        return (f"{name}-value",)
    raise AssertionError(f"test_model.py cannot make a {hint} for Failure.{name}; teach _sample")


def test_every_failure_field_round_trips_through_an_alert() -> None:
    """An alert restored after a restart has every field of its failure that the JSON prints."""
    hints = typing.get_type_hints(Failure)
    fields = [f for f in dataclasses.fields(Failure) if json_key(f) is not None]
    failure = Failure(**{f.name: _sample(hints[f.name], f.name) for f in fields})
    for f in fields:
        assert getattr(failure, f.name) != f.default, f.name
    restored = diagnosis_from_json(orjson.loads(orjson.dumps(Diagnosis(failure).to_json())))
    for f in fields:
        assert getattr(restored.failure, f.name) == getattr(failure, f.name), f.name


def test_every_word_table_names_every_value_of_its_type() -> None:
    """Every failure kind and policy type has its words in the text view, sinks and alerts."""
    assert set(KIND_WORDS) == set(FAILURE_KINDS)
    for table in (POLICY_WORDS, POLICY_NAMES, TARGET_WORDS):
        assert set(table) == set(POLICY_TYPES)
    # Access Troubleshooter has no trust-policy layer.
    for table in (LAYER_WORDS, LAYER_PLURALS):
        assert set(table) == set(POLICY_TYPES) - {"trust"}


def test_a_simulator_check_keeps_its_own_words_in_the_json() -> None:
    """``--verify`` prints the simulator's ``allowed``/``denied``; alerts read them back."""
    allowed = Verification("r", "identity", "arn:aws:iam::1:role/a", "simulator", "allows", "m")
    denied = dataclasses.replace(allowed, status="does_not_cover")
    assert allowed.to_json()["status"] == "allowed"
    assert denied.to_json()["status"] == "denied"
    assert dataclasses.replace(allowed, checker="evaluator").to_json()["status"] == "allows"
    for entry in (allowed, denied):
        assert Verification.from_json(entry.to_json()) == entry


def test_a_recheck_names_its_evaluation_and_reads_it_back() -> None:
    """A re-check entry prints "action on resource" and an alert reads back the same pair."""
    entry = Verification(
        "r", "scp", None, "evaluator", "still_denied", "m", Evaluated("s3:GetObject", "arn:b/k")
    )
    assert entry.to_json()["evaluation"] == "s3:GetObject on arn:b/k"
    assert Verification.from_json(entry.to_json()) == entry
    anywhere = dataclasses.replace(entry, evaluation=Evaluated("s3:ListAllMyBuckets"))
    assert anywhere.to_json()["evaluation"] == "s3:ListAllMyBuckets on *"
    assert Verification.from_json(anywhere.to_json()) == anywhere
    assert Verification.from_json({**entry.to_json(), "status": "maybe"}) is None
