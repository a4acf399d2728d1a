"""The import graph has no cycle between modules of different apps, nor through a tasks module.

`make lint`'s contracts (.importlinter) forbid imports by direction; a cycle is a shape no single
forbidden import shows, so it is checked here on the same graph (grimp, function-level imports too).
"""
from __future__ import annotations

from pathlib import Path

import grimp
import pytest

PACKAGES = ("prefcontent", "ml", "models_store", "simulation")


def _home(module: str) -> str:
    """The app (prefcontent.<app>) or top-level package a module belongs to."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "prefcontent" and len(parts) > 2 else parts[0]


def cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


@pytest.fixture(scope="module")
def edges() -> dict[str, set[str]]:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    return {m: {i for i in graph.find_modules_directly_imported_by(m) if i in graph.modules} for m in graph.modules}


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_cycle_spans_two_apps(edges):
    spanning = [sorted(c) for c in cycles(edges) if len({_home(m) for m in c}) > 1]
    assert not spanning


def test_no_cycle_runs_through_a_tasks_module(edges):
    through_tasks = [sorted(c) for c in cycles(edges) if any(m.endswith(".tasks") for m in c)]
    assert not through_tasks


# requirements-dev.txt name -> what shows it is used (an import name, a CLI or a config key).
_DEV_TOOL_USES = {
    "check-jsonschema": "check_jsonschema", "datasets": "datasets", "factory_boy": "import factory",
    "hypothesis": "hypothesis", "import-linter": "lint-imports", "kubernetes-validate": "kubernetes_validate",
    "playwright": "playwright", "pytest": "pytest", "pytest-django": "DJANGO_SETTINGS_MODULE",
    "pytest-timeout": "timeout = ", "ruff": "ruff", "schemathesis": "schemathesis", "statsmodels": "statsmodels",
    "trl": "trl",
}


def test_every_dev_requirement_is_used():
    """An unused pin (locust was one) costs installs and security updates for nothing."""
    root = Path(__file__).resolve().parents[1]
    pinned = [line.split("==")[0] for line in (root / "requirements-dev.txt").read_text().splitlines()
              if line and not line.startswith("#")]
    texts = "\n".join(p.read_text(errors="ignore") for folder in ("tests", "bench", "scripts", "prefcontent")
                      for p in (root / folder).rglob("*.py"))
    texts += "".join((root / name).read_text() for name in ("Makefile", "pytest.ini", ".importlinter"))
    unknown = [name for name in pinned if name not in _DEV_TOOL_USES]
    unused = [name for name in pinned if name in _DEV_TOOL_USES and _DEV_TOOL_USES[name] not in texts]
    assert unknown == [] and unused == []
