"""The project's own docs stand alone: they point at nothing outside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted(
    p
    for p in [*REPO.glob("*.md"), *REPO.glob("docs/*.md"), *REPO.glob("systemd/*.md")]
    if p.is_file()
)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_a_doc_names_no_design_file_outside_the_repo(doc: Path) -> None:
    """No README or doc refers to a DESIGN.md or ../shared that a reader does not have."""
    text = doc.read_text()
    assert "DESIGN.md" not in text
    assert "../shared" not in text


def test_the_service_install_does_not_pip_install_from_an_index() -> None:
    """systemd/README.md installs from the checkout or a built wheel (it is on no index)."""
    text = (REPO / "systemd" / "README.md").read_text()
    assert "pip install authz-diagnostics\n" not in text
    assert "pip install ." in text


# -- docs/architecture.md's table is the code's shape -------------------------------

PACKAGE = REPO / "diagnostics"


def _part_of(module: str) -> str | None:
    """``diagnostics.x.y`` -> the table's name for it (``x/`` or ``x.py``), if it exists."""
    first = module.split(".")[1] if module.count(".") else ""
    if (PACKAGE / first).is_dir():
        return f"{first}/"
    if (PACKAGE / f"{first}.py").is_file():
        return f"{first}.py"
    return None


def _parts() -> dict[str, set[str]]:
    """Every package and root module of diagnostics/, with the others it imports."""
    import ast

    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        part = rel.name if len(rel.parts) == 1 else f"{rel.parts[0]}/"
        found = graph.setdefault(part, set())
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.append(node.module)
                if node.module == "diagnostics":
                    names += [f"diagnostics.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            for name in names:
                target = _part_of(name) if name.startswith("diagnostics.") else None
                if target is not None and target != part:
                    found.add(target)
    return graph


def _rows() -> list[list[str]]:
    """docs/architecture.md's table rows: layer, part, job, imports."""
    rows = []
    for row in (REPO / "docs" / "architecture.md").read_text().splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1].startswith("`"):
            rows.append(cells)
    return rows


def _table() -> dict[str, set[str]]:
    """docs/architecture.md's rows: part -> the parts its imports column lists."""
    return {
        part.strip("`"): set() if imports == "—" else {c.strip() for c in imports.split(",")}
        for _, part, _, imports in _rows()
    }


def test_architecture_table_gives_each_part_its_layer() -> None:
    """The table's layer column is the layer tests/test_import_layers.py holds the part to."""
    from test_import_layers import LAYERS

    declared = {part: i for i, layer in enumerate(LAYERS) for part in layer}
    documented = {part.strip("`"): int(layer) for layer, part, _, _ in _rows()}
    assert documented == declared


def _named(listed: str) -> str:
    """An imports-column entry (``iam``, ``errors``) as a part name (``iam/``, ``errors.py``)."""
    return f"{listed}/" if (PACKAGE / listed).is_dir() else f"{listed}.py"


def test_architecture_table_lists_every_package_and_module() -> None:
    """docs/architecture.md has one row per package and root module of diagnostics/, no more."""
    table, parts = _table(), _parts()
    assert sorted(set(parts) - set(table)) == [], "add these rows to docs/architecture.md"
    assert sorted(set(table) - set(parts)) == [], "these rows name nothing in diagnostics/"


def test_architecture_table_lists_what_each_part_imports() -> None:
    """Each row's imports column names every part of diagnostics/ that part imports."""
    table, parts = _table(), _parts()
    missing = {
        part: sorted(imported - {_named(x) for x in table.get(part, set())})
        for part, imported in parts.items()
    }
    assert {p: m for p, m in missing.items() if m} == {}, "update docs/architecture.md"
    stale = {p: sorted(x for x in listed if _part_of(f"diagnostics.{x}") is None)
             for p, listed in table.items()}  # fmt: skip
    assert {p: s for p, s in stale.items() if s} == {}, "these imports name nothing"
