"""No import circles among posemoe's modules: module to module, a package's ``__init__`` counted as a
module, imports inside functions and under ``TYPE_CHECKING`` included. The layering itself is
checked by import-linter's contracts in pyproject.toml (``lint-imports``, run by .ci/run); they do
not see a circle through modules of one layer, or through a package's ``__init__``."""

from __future__ import annotations

import pytest

grimp = pytest.importorskip("grimp")


def import_circles(graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative),
    each sorted, the list sorted: every import circle lies within one of them."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, imported = work[-1]
            step = next(imported, None)
            if step is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        circles.append(sorted(component))
            elif step not in index:
                index[step] = low[step] = len(index)
                stack.append(step)
                on_stack.add(step)
                work.append((step, iter(sorted(graph.find_modules_directly_imported_by(step)))))
            elif step in on_stack:
                low[module] = min(low[module], index[step])
    return sorted(circles)


def _graph(imports: list[tuple[str, str]]):
    graph = grimp.ImportGraph()
    for importer, imported in imports:
        graph.add_import(importer=importer, imported=imported)
    return graph


def test_the_circle_finder_finds_circles_and_only_circles():
    graph = _graph(
        [
            ("pkg.a", "pkg.b"),  # a -> b -> c -> a: one circle of three
            ("pkg.b", "pkg.c"),
            ("pkg.c", "pkg.a"),
            ("pkg.c", "pkg.d"),  # d -> e: a chain leaving the circle
            ("pkg.d", "pkg.e"),
            ("pkg", "pkg.x"),  # a package's __init__ and one of its modules
            ("pkg.x", "pkg"),
            ("pkg.e", "pkg.f"),  # a diamond: no circle
            ("pkg.e", "pkg.g"),
            ("pkg.f", "pkg.h"),
            ("pkg.g", "pkg.h"),
        ]
    )
    assert import_circles(graph) == [["pkg", "pkg.x"], ["pkg.a", "pkg.b", "pkg.c"]]
    assert import_circles(_graph([("p.a", "p.b"), ("p.b", "p.c")])) == []


def test_posemoe_has_no_import_circles():
    graph = grimp.build_graph("posemoe", cache_dir=None)
    assert "posemoe.inference.lifter" in graph.modules  # the package itself, not an empty graph
    circles = import_circles(graph)
    assert not circles, "import circles among posemoe's modules:\n" + "\n".join(
        " <-> ".join(c) for c in circles
    )
