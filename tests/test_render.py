"""Tests for the text and JSON renderers."""

from __future__ import annotations

import orjson

from diagnostics.model import Diagnosis, Failure, Finding, Fix, SourceRef
from diagnostics.render import jsonl, text
from diagnostics.render.safe import line as safe


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
