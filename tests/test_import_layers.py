"""Imports run one way, down the layers: every part imports only parts of lower layers, no cycles.

The contract counts every import of a ``diagnostics`` module at any depth:
top-level, inside functions (lazy) and under ``TYPE_CHECKING``.  A part is a
package of ``diagnostics/`` or one of the root modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "diagnostics"

#: The layers, bottom up.  A part may import only parts of the layers below
#: its own; docs/architecture.md lists the parts in this order.
LAYERS: list[set[str]] = [
    {"__init__.py", "errors.py", "model.py", "text/"},
    {"support/", "iam/"},
    {"config/", "request/", "iac/", "policy/", "lookup/"},
    {"extract/", "decode/"},
    {"troubleshooter/"},
    {"rules/", "alerts/"},
    {"diagnose/", "sinks/"},
    {"render/", "snapshot/", "sources/"},
    {"run/", "dedup/"},
    {"service/", "mcp_server/", "testing/"},
    {"commands/"},
    {"cli.py"},
    {"__main__.py"},
]


def _module(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


MODULES = {_module(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(name: str) -> str | None:
    """The module ``name`` is or is inside (``diagnostics.rules.RuleSet`` is in ``rules``)."""
    while name not in MODULES:
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return name


def _imports(path: Path) -> set[str]:
    """Every diagnostics module ``path`` imports (``from pkg import mod`` names ``pkg.mod``)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    found = {_resolve(n) for n in names if n.startswith("diagnostics")}
    return {m for m in found if m is not None}


GRAPH = {module: _imports(path) - {module} for module, path in MODULES.items()}


def _part(module: str) -> str:
    """``diagnostics.extract.inputs.files`` -> ``extract/``; ``diagnostics.cli`` -> ``cli.py``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__.py"
    return f"{parts[1]}/" if (PACKAGE / parts[1]).is_dir() else f"{parts[1]}.py"


def _layer_of() -> dict[str, int]:
    return {part: i for i, layer in enumerate(LAYERS) for part in layer}


def _inside(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_every_part_has_one_layer() -> None:
    """Each package and root module of diagnostics/ sits in exactly one layer."""
    listed = [part for layer in LAYERS for part in layer]
    parts = {_part(m) for m in MODULES}
    assert sorted(parts - set(listed)) == [], "add these parts to LAYERS"
    assert sorted(set(listed) - parts) == [], "these LAYERS entries name nothing"
    assert len(listed) == len(set(listed)), "a part is in two layers"


def test_every_import_goes_to_a_lower_layer() -> None:
    """No part imports its own layer's neighbours or anything above it."""
    layer = _layer_of()
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _part(target) != _part(module) and layer[_part(target)] >= layer[_part(module)]
    )
    assert upward == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_module_imports_itself_round_a_circle() -> None:
    """No import cycle between modules, inside a package or across packages."""
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above can fail: a planted circle of three is reported."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("diagnostics.rules.registry", "diagnostics.rules.matchers"),
        ("diagnostics.rules.registry", "diagnostics.rules.placeholders"),
        ("diagnostics.rules.cases", "diagnostics.diagnose"),
        ("diagnostics.sources.base", "diagnostics.service"),
    ],
)
def test_the_old_circles_stay_broken(module: str, forbidden: str) -> None:
    """The registry does not import what registers with it; rule cases do not need the pipeline."""
    assert not any(_inside(t, forbidden) for t in GRAPH[module])
