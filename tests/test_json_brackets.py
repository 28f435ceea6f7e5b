"""The one bracket walk the readers of cut and pretty-printed JSON share."""

from __future__ import annotations

from diagnostics.extract.parsers.json_brackets import BracketWalk


def test_brackets_inside_strings_and_after_escaped_quotes_are_text() -> None:
    """A ``}`` in a string (even after an escaped quote) is no structure; the real ones are."""
    text = '{"a": "x\\"}]", "b": [1, {"c": "{"}]}'
    assert [ch for _, ch in BracketWalk(text)] == ["{", "[", "{", "}", "]", "}"]


def test_a_walk_says_whether_the_text_was_cut_inside_a_string() -> None:
    """A decoded message cut mid-string is known to be, so its reader can close it."""
    walk = BracketWalk('{"allowed": false, "context": {"action": "ec2:Run')
    assert [i for i, _ in walk] == [0, 30]
    assert walk.in_string and not walk.escaped
    done = BracketWalk('{"a": "b\\')
    list(done)
    assert done.in_string and done.escaped
