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
