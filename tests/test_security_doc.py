"""docs/security.md: every threat-model row names its proof, and every proof it names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "security.md"

# linear: literal prefixes, one bounded character class each
_TEST_FILE = re.compile(r"tests/(test_[a-z0-9_]+\.py)")
# linear: one character class run after a fixed prefix
_TEST_NAME = re.compile(r"`(test_[a-z0-9_]+)`")


def _rows() -> list[list[str]]:
    """The threat-model table: one list of cells per actor row."""
    rows = []
    for line in DOC.read_text().splitlines():
        if line.startswith("| **"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows.append(cells)
    return rows


def _test_functions() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                names.add(node.name)
    return names


def test_every_threat_row_names_a_test_as_its_proof() -> None:
    """A claim with no test behind it cannot be checked: each row's proof names a test file."""
    rows = _rows()
    assert len(rows) >= 10
    bare = [r[0] for r in rows if not _TEST_FILE.search(r[-1])]
    assert bare == [], f"rows whose proof names no tests/test_*.py: {bare}"


def test_every_test_the_document_names_exists() -> None:
    """A renamed or deleted test must not leave the document citing a proof that is gone."""
    text = DOC.read_text()
    files = set(_TEST_FILE.findall(text))
    missing_files = sorted(f for f in files if not (ROOT / "tests" / f).exists())
    assert missing_files == []
    functions = _test_functions()
    missing = sorted(n for n in set(_TEST_NAME.findall(text)) if n not in functions)
    assert missing == [], f"docs/security.md names tests that do not exist: {missing}"


def test_the_checks_command_runs_every_proof_file() -> None:
    """ "Running the checks" lists every test file the threat model cites."""
    text = DOC.read_text()
    section = text[text.index("## Running the checks") :]
    command = section.split("\n\n", 2)[1]
    cited = set(_TEST_FILE.findall(text[: text.index("## Running the checks")]))
    assert cited - set(_TEST_FILE.findall(command)) == set()
