"""``Found.framed``: the hand-written copy keeps every field ``dataclasses.replace`` would."""

from __future__ import annotations

import dataclasses

from diagnostics.extract.assembly.found import Found
from diagnostics.model import SourceRef


def _every_field_set() -> Found:
    values: dict[str, object] = {}
    for field in dataclasses.fields(Found):
        if field.name == "kind":
            values[field.name] = "plain"
        elif field.type in ("int",):
            values[field.name] = 7
        elif "bool" in str(field.type):
            values[field.name] = True
        elif "tuple" in str(field.type):
            values[field.name] = ("note",)
        elif "JSONObject" in str(field.type):
            values[field.name] = {"k": "v"}
        else:
            values[field.name] = f"{field.name}-value"
    return Found(**values)  # type: ignore[arg-type]


def test_framed_equals_replace_with_every_field_set() -> None:
    """A field added to Found and forgotten in ``framed`` fails here, not in a diagnosis."""
    full = _every_field_set()
    assert full.framed(3, "AccessDenied", "GetObject", "s3") == dataclasses.replace(full, start=3)
    bare = Found("plain", 5, 9)
    assert bare.framed(1, "AccessDenied", "GetObject", "s3") == dataclasses.replace(
        bare, start=1, error_code="AccessDenied", operation="GetObject", event_source="s3"
    )


def test_to_failure_carries_every_field() -> None:
    """A field added to Found reaches the reported failure, not only the parser's hit."""
    full = dataclasses.replace(_every_field_set(), policy_type="scp", decoded=None)
    failure = full.to_failure(SourceRef("app.log", 3), "excerpt")
    for field in dataclasses.fields(Found):
        if field.name not in ("start", "end"):
            assert getattr(failure, field.name) == getattr(full, field.name), field.name
