"""Tests for the text and JSON renderers."""

from __future__ import annotations

import textwrap

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.model import Diagnosis, Failure, Finding, Fix, SourceRef
from diagnostics.render import jsonl, text
from diagnostics.render.text import _fix_lines, _wrap
from diagnostics.text.safe import block
from diagnostics.text.safe import line as safe


def _diag(resource: str = "arn:aws:s3:::bucket/key") -> Diagnosis:
    failure = Failure(
        kind="plain",
        source=SourceRef("app.log", 12, 400),
        principal_arn="arn:aws:iam::111122223333:user/alice",
        account_id="111122223333",
        action="s3:GetObject",
        resource=resource,
        policy_type="identity",
        explicit_deny=False,
        error_code="AccessDenied",
    )
    statement = {
        "Sid": "AllowS3GetObject",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": resource,
    }
    fix = Fix("identity", "arn:aws:iam::111122223333:user/alice", (statement,))
    finding = Finding(
        "identity-missing-allow", "No identity policy allows it", "medium", "Add it.", (fix,)
    )
    return Diagnosis(failure, findings=(finding,))


def test_text_block_names_who_what_why_and_the_fix() -> None:
    """A person reading the block sees the principal, action, reason and pasteable JSON."""
    out = text.render(_diag(), 1)
    assert "app.log:12" in out
    assert "arn:aws:iam::111122223333:user/alice" in out
    assert "s3:GetObject" in out
    assert "implicit deny: no identity-based policy allows it" in out
    assert '"Sid": "AllowS3GetObject"' in out
    assert "Fix: add to the identity policy of arn:aws:iam::111122223333:user/alice" in out


def test_terminal_escapes_from_logs_are_neutralised() -> None:
    """An ESC sequence inside a logged resource name is shown, never sent to the terminal."""
    out = text.render(_diag("arn:aws:s3:::b/\x1b]0;pwned\x07key"))
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;pwned\\x07" in out


def test_safe_bounds_long_values() -> None:
    """A 10 MB value is cut with a count, not printed whole."""
    assert len(safe("a" * 10_000_000)) < 5000


def test_json_line_is_one_object_with_contract_fields() -> None:
    """The JSON renderer writes exactly one parseable line."""
    line = jsonl.render(_diag())
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    obj = orjson.loads(line)
    assert obj["kind"] == "plain" and obj["source"]["line"] == 12
    assert obj["findings"][0]["fixes"][0]["statements"][0]["Action"] == "s3:GetObject"


def test_bidi_overrides_are_shown_not_applied() -> None:
    """A right-to-left override in a logged ARN is printed as an escape."""
    out = safe("arn:aws:s3:::b/\u202eexe.txt")
    assert "\u202e" not in out and "\\u202e" in out


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=120),
        max_size=40,
    ),
    st.sampled_from([" ", "  ", "\t", " \n "]),
)
@settings(max_examples=100, deadline=None)
def test_explanation_wrap_is_textwraps(words: list[str], sep: str) -> None:
    """Explanations wrap exactly as textwrap wraps them, whatever the spacing or characters."""
    para = sep.join(words)
    for sample in (para, " ".join(para.split())):
        want = textwrap.wrap(
            sample,
            96,
            initial_indent="    ",
            subsequent_indent="    ",
            break_on_hyphens=False,
            break_long_words=False,
        )
        assert _wrap(sample) == want


_JSON = st.recursive(
    st.text(max_size=30) | st.booleans() | st.none() | st.integers(-(2**53), 2**53),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)


@given(st.lists(st.dictionaries(st.text(max_size=10), _JSON, max_size=5), max_size=3))
@settings(max_examples=100, deadline=None)
def test_fix_statements_print_as_json_dumps_would(statements: list[dict[str, object]]) -> None:
    """A fix's statements print as json.dumps(indent=2, ensure_ascii=False) lays them out."""
    import json

    fix = Fix("identity", "arn:aws:iam::111122223333:user/a", tuple(statements))
    body = json.dumps(statements, indent=2, ensure_ascii=False)
    assert _fix_lines(fix)[1:] == block(body, "      ")
