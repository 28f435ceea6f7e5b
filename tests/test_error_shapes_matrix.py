"""The reader on every SDK x protocol x message variant of docs/error-shapes.md.

Each row of the Shapes table (how one SDK, CLI or tool prints a service error,
read from its source) is rendered for every service of its protocols with
every denial variant (bare, each policy type's sentence, an authorization ID,
an EC2 blob), as printed, hard-wrapped at 80 and 120 columns, boxed, quoted
in Markdown and JSON-escaped.  Each rendering must give exactly one failure
with the code, operation, action, principal and decision it holds.

The goal is every rendering right.  Until then ``KNOWN_MISSES`` records how
many renderings of a shape are still wrong; the test fails when a shape gets
worse, and also when it gets better (lower the number, as xfail_strict does).
"""

from __future__ import annotations

import re

import pytest

from diagnostics.testing.error_shapes import SHAPES_DOC, Rendering, load, matrix, problems

#: shape id -> renderings still wrong (of how many), measured when last lowered.
KNOWN_MISSES: dict[str, int] = {}

SHAPES, SERVICES = load()
_PLACEHOLDER = re.compile(r"\{([a-z0-9_]+)\}")
_BUILTIN = {"code", "message", "operation", "status", "reason", "request_id", "host_id", "method",
            "url"}  # fmt: skip


def test_the_table_is_well_formed() -> None:
    """Ids are unique, protocols known, every placeholder filled, all seven services present."""
    ids = [s.id for s in SHAPES]
    assert len(ids) == len(set(ids)) and len(ids) >= 30
    names = set(SERVICES[0].names)
    protocols = {"all", "rest-xml", "query", "json", "rest-json", "ec2"}
    for shape in SHAPES:
        assert set(shape.protocols) <= protocols, shape.id
        unknown = set(_PLACEHOLDER.findall(shape.template)) - _BUILTIN - names
        assert not unknown, f"{shape.id}: placeholders {unknown} name no column"
    assert [s.name for s in SERVICES] == ["s3", "ec2", "iam", "sts", "dynamodb", "kms", "lambda"]
    assert "docs" in SHAPES_DOC.parts


def test_known_misses_name_real_shapes() -> None:
    """Every KNOWN_MISSES entry is a row of the table (a renamed row must not hide a miss)."""
    assert set(KNOWN_MISSES) <= {s.id for s in SHAPES}


BY_SHAPE: dict[str, list[tuple[str, Rendering]]] = {}
for _shape, _svc, _renderings in matrix():
    for _r in _renderings:
        BY_SHAPE.setdefault(_shape.id, []).append((f"{_svc.name}/{_r.id}", _r))


@pytest.mark.parametrize("shape_id", sorted(BY_SHAPE))
def test_every_rendering_of_a_shape_is_read(shape_id: str) -> None:
    """Each rendering gives its one failure with the fields it prints (known misses aside)."""
    wrong = []
    for name, rendering in BY_SHAPE[shape_id]:
        why = problems(rendering)
        if why:
            wrong.append(f"{name}: {'; '.join(why)}")
    known = KNOWN_MISSES.get(shape_id, 0)
    assert len(wrong) <= known, f"{len(wrong)} wrong (known {known}):\n" + "\n".join(wrong[:20])
    assert len(wrong) == known, (
        f"{shape_id} now gets {known - len(wrong)} more right: lower KNOWN_MISSES to {len(wrong)}"
    )
