"""Parsing IAM Access Troubleshooter answers (GetRequestAuthorizationDetails) leniently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import toolbox_shapes as shapes
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.troubleshooter import looks_like_details, parse_details
from diagnostics.troubleshooter.details import context_values, parse_document

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "troubleshooter"


def _validate(answer: dict[str, Any]) -> None:
    """Raise when ``answer`` does not fit botocore's GetRequestAuthorizationDetailsOutput."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("iam-toolbox")
    shape = model.operation_model("GetRequestAuthorizationDetails").output_shape
    body = {k: v for k, v in answer.items() if k not in {"documents", "authorizationId"}}
    report = ParamValidator().validate(body, shape)
    assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize(
    "answer",
    [
        shapes.scp_explicit_deny(),
        shapes.run_instances(),
        *(orjson.loads(p.read_bytes()) for p in sorted(EXAMPLES.glob("*.json"))),
    ],
)
def test_samples_and_examples_fit_the_service_model(answer: dict[str, Any]) -> None:
    """The shapes the tests and examples/ use are the ones the iam-toolbox model defines."""
    _validate(answer)


def test_parse_names_checks_targets_and_statements() -> None:
    """Each check keeps its type, effect, organization target and matched Sids."""
    details = parse_details(shapes.scp_explicit_deny(), authorization_id="abc123")
    assert details.authorization_id == "abc123"
    assert details.principal_arn == shapes.ROLE
    (ev,) = details.evaluations
    assert (ev.action, ev.effect) == ("s3:CreateBucket", "EXPLICIT_DENY")
    ou = ev.checks[1]
    assert (ou.layer, ou.effect, ou.target_arn) == ("scp", "EXPLICIT_DENY", shapes.OU)
    assert ou.matched[0].statements[0].sid == "DenyOutsideRegions"
    region_scp = details.policy(shapes.REGION_SCP)
    assert region_scp is not None and region_scp.attached_to == (shapes.OU,)
    assert region_scp.document is not None and region_scp.document["Statement"]
    assert details.notes == ()


def test_context_values_become_strings() -> None:
    """Booleans, numbers and lists in a context become the evaluator's strings."""
    assert context_values(True) == ("true",)
    assert context_values(3) == ("3",)
    assert context_values(["a", False]) == ("a", "false")
    assert context_values({"odd": 1}) == ()


def test_documents_given_separately_win_and_accept_cli_output() -> None:
    """A document passed beside the answer, as the CLI prints it, is attached to its policy."""
    raw = shapes.scp_explicit_deny(with_documents=False)
    cli_output = orjson.dumps({"policyDocument": shapes.REGION_DOC}).decode()
    details = parse_details(raw, {shapes.REGION_SCP: cli_output})
    policy = details.policy(shapes.REGION_SCP)
    assert policy is not None and policy.document == shapes.REGION_DOC
    assert parse_document("not json") is None


def test_odd_fields_are_parse_notes_not_crashes() -> None:
    """Missing check types, unknown effects and stray documents are noted and skipped."""
    raw = {
        "requestContext": ["not", "an", "object"],
        "evaluations": [
            {"resource": "x"},
            "not an object",
            {
                "action": "s3:GetObject",
                "checks": [
                    {"evaluatedEffect": "ALLOW"},
                    {"checkType": "PRINCIPAL", "evaluatedEffect": "MAYBE"},
                    {"checkType": "NEW_KIND", "evaluatedEffect": "IMPLICIT_DENY"},
                ],
            },
            {"action": "s3:PutObject", "evaluatedEffect": "IMPLICIT_DENY"},
        ],
        "policies": [{"type": "IDENTITY_BASED_POLICY"}, {"uri": "u1", "attachedTo": "x"}],
        "documents": {"unknown-uri": {"Statement": []}, "u1": {"Version": "2012-10-17"}},
    }
    details = parse_details(raw)
    notes = " | ".join(details.notes)
    for words in (
        "requestContext is not an object",
        "evaluation 1 has no action",
        "entries that are not objects",
        "has no checkType",
        "unknown evaluatedEffect 'MAYBE'",
        "unknown checkType NEW_KIND",
        "IMPLICIT_DENY derived from its checks",
        "has no checks: the caller is likely outside",
        "policy 1 has no uri",
        "document was given for unknown-uri",
        "the document given for u1 is not a policy object",
    ):
        assert words in notes, words
    assert [e.action for e in details.evaluations] == ["s3:GetObject", "s3:PutObject"]


def test_shape_detection_tells_details_from_a_decoded_message() -> None:
    """Only an object with an evaluations list counts as authorization details."""
    assert looks_like_details(shapes.run_instances())
    assert not looks_like_details({"allowed": False, "context": {}})
    assert not looks_like_details({"evaluations": "x"})
    assert not looks_like_details(None)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
_keys = st.sampled_from(
    ["evaluations", "policies", "requestContext", "documents", "checks", "action", "checkType"]
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_keys, _json, max_size=5))
def test_parse_never_raises(raw: dict[str, Any]) -> None:
    """Whatever the answer holds, parsing returns details (with notes) and never raises."""
    details = parse_details(raw)
    assert isinstance(details.notes, tuple)
