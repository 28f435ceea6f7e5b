"""Authorization IDs survive every wrapping a terminal or tool applies, without spoiling fields."""

from __future__ import annotations

import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.extract import Extractor, extract_text
from diagnostics.extract.parsers.authorization_id import find_authorization_ids

ID = "7q2m9x4k1c8v3b6n0z5l2j7h4g9f1d3s"
POLICY = "arn:aws:iam::123456789012:policy/ExampleDenyPolicy"
MESSAGE = (
    "User: arn:aws:sts::123456789012:assumed-role/AppDeployer/ci-run-4821 is not authorized to "
    "perform: s3:PutObject on resource: arn:aws:s3:::example-artifacts/build/app.zip with an "
    f"explicit deny in an identity-based policy: {POLICY}. Go to "
    "https://us-east-1.console.aws.amazon.com/iam/home?region=us-east-1#/authorization-details/"
    f"{ID} for complete details, or call the GetRequestAuthorizationDetails API with the "
    f"following authorization id: {ID}"
)


def _wrapped(message: str, width: int, boxed: bool) -> str:
    lines = textwrap.wrap(message, width, break_long_words=False, break_on_hyphens=False)
    prefix = "│ " if boxed else ""
    return "".join(f"{prefix}{line}\n" for line in lines) + f"{prefix}\nnext line\n"


@settings(max_examples=80, deadline=None)
@given(width=st.integers(min_value=24, max_value=260), boxed=st.booleans())
def test_soft_wrapped_at_any_width(width: int, boxed: bool) -> None:
    """Wherever the wrapped sentence alone is read, the suffix wrapped with it gives its ID too,
    as one failure with the bare policy ARN (in a Terraform box or not)."""
    sentence = MESSAGE[: MESSAGE.index(" Go to")]
    alone = [f.policy_arn for f in extract_text(_wrapped(sentence, width, boxed))]
    found = extract_text(_wrapped(MESSAGE, width, boxed))
    if alone == [POLICY]:
        assert [(f.authorization_id, f.policy_arn) for f in found] == [(ID, POLICY)]
    else:
        # The sentence itself is not read at this width: the ID alone never makes two failures.
        assert len(found) <= max(1, len(alone))


def test_soft_wrapped_at_terminal_widths() -> None:
    """At 72, 120, 132, 160 and 200 columns the wrapped message gives one failure with its ID."""
    for width in (72, 120, 132, 160, 200):
        found = extract_text(_wrapped(MESSAGE, width, False))
        assert [(f.authorization_id, f.policy_arn) for f in found] == [(ID, POLICY)], width


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(min_value=1, max_value=len(MESSAGE) + 20))
def test_streamed_in_two_chunks_matches_one_shot(cut: int) -> None:
    """Fed in two pieces cut anywhere, the extractor finds the same ID as in one piece."""
    data = (MESSAGE.replace(". Go to", ".\nGo to") + "\nafter\n").encode()
    ex = Extractor("app.log")
    found = ex.feed(data[:cut]) + ex.feed(data[cut:]) + ex.finish()
    assert [f.authorization_id for f in found] == [ID]


def test_an_upper_case_tail_is_not_an_id() -> None:
    """Characters outside [0-9a-z] glued to the ID make it untrustworthy: reported as cut."""
    [hit] = find_authorization_ids(f"authorization id: {ID}XYZ")
    assert hit.authorization_id is None and hit.cut


def test_id_longer_than_256_is_not_taken() -> None:
    """The model allows at most 256 characters; a longer run is not an ID."""
    [hit] = find_authorization_ids("authorization id: " + "a" * 300)
    assert hit.authorization_id is None


def test_prose_mentioning_the_api_is_not_a_failure() -> None:
    """Documentation that names the API without an ID yields nothing."""
    assert extract_text("Use GetRequestAuthorizationDetails API to debug access denied.\n") == []
