"""Imports run one way, down the pipeline: no module imports a stage that runs above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "diagnostics"


def _module(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every diagnostics module ``path`` imports, at any depth (TYPE_CHECKING and lazy too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("diagnostics"):
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("diagnostics"))
    return found


GRAPH = {_module(p): _imports(p) for p in PACKAGE.rglob("*.py")}

#: (lower, upper): nothing in ``lower`` may import anything in ``upper``.
LAYERS = [
    ("diagnostics.sources", "diagnostics.service"),
    ("diagnostics.sinks", "diagnostics.service"),
    ("diagnostics.extract", "diagnostics.rules"),
    ("diagnostics.extract", "diagnostics.pipeline"),
    ("diagnostics.alerts", "diagnostics.service"),
    # The AWS lookup core sits below its two clients and the watch service.
    ("diagnostics.lookup", "diagnostics.decode"),
    ("diagnostics.lookup", "diagnostics.troubleshooter"),
    ("diagnostics.lookup", "diagnostics.service"),
    ("diagnostics.decode", "diagnostics.troubleshooter"),
]


def _inside(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize(("lower", "upper"), LAYERS, ids=lambda x: str(x).split(".", 1)[-1])
def test_a_lower_stage_never_imports_a_higher_one(lower: str, upper: str) -> None:
    """No module of the lower stage imports (even lazily or for types) the higher one."""
    bad = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if _inside(module, lower)
        for target in targets
        if _inside(target, upper)
    )
    assert bad == []


def test_the_service_config_and_the_sources_are_no_circle() -> None:
    """service/config may use the sources' settings; sources/base never needs the service."""
    assert not any(_inside(t, "diagnostics.service") for t in GRAPH["diagnostics.sources.base"])


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("diagnostics.rules.registry", "diagnostics.rules.matchers"),
        ("diagnostics.rules.registry", "diagnostics.rules.placeholders"),
        ("diagnostics.rules.cases", "diagnostics.pipeline"),
    ],
)
def test_the_old_circles_stay_broken(module: str, forbidden: str) -> None:
    """The registry does not import what registers with it; rule cases do not need the pipeline."""
    assert not any(_inside(t, forbidden) for t in GRAPH[module])
