"""Threads that import pipelines.inference's modules at the same time all get whole modules.

A user saw a preset fail once in ~45 window starts with "cannot import name 'ProviderReport'
from partially initialized module 'pipelines.inference.session'": the package's ``__init__``
imported its own submodules, and importing a submodule first imports its package, so two
threads each held one module lock and waited on the other's; Python's deadlock guard then
hands one of them a half-loaded module. The first test reproduces it (every process failed on
main a7e984a: 40 of 40 with the 4 inference modules, 16 of 20 with the stage modules added);
the second checks the import graph itself, so a new cycle fails here on every run.
"""

from __future__ import annotations

import ast
import functools
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.clock_free

# The modules the engine's opener threads, the device probe and the stages' open() import
# first (lazy imports inside functions), started together behind a barrier.
RACED_MODULES = (
    "pipelines.inference",
    "pipelines.inference.session",
    "pipelines.inference.model",
    "pipelines.inference.gpu",
    "pipelines.segmentation.stage",
    "pipelines.tracking.tracker",
    "pipelines.devices",
)

RACED_PACKAGES = (
    "pipelines.sources",
    "pipelines.sources.camera",
    "pipelines.sources.files",
    "pipelines.sources.demo",
    "pipelines.outputs",
    "pipelines.outputs.recorder",
    "pipelines.outputs.virtualcam",
    "pipelines.audio",
    "pipelines.audio.mouth",
    "app.state",
    "app.state.model",
    "app.state.devices",
)
"""The other packages whose ``__init__`` imported their own submodules, each with them: on main
12480f0, 10 of 10 fresh processes failed ("_DeadlockError ... pipelines.sources.camera",
"... app.state.model"); 0 of 10 once their names are looked up lazily."""

RACE_SCRIPT = """
import importlib, sys, threading
import pipelines  # as camfx's entry points do, before anything else
names = sys.argv[1:]
barrier = threading.Barrier(len(names))
errors = []
def first_import(name):
    barrier.wait()
    try:
        importlib.import_module(name)
    except Exception as exc:
        errors.append(f"{name}: {exc!r}")
threads = [threading.Thread(target=first_import, args=(n,)) for n in names]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("; ".join(errors))
sys.exit(1 if errors else 0)
"""

RACE_PROCESSES = 8
"""Fresh processes (each imports once); ~0.5 s each on the 2-core machine."""


@pytest.mark.parametrize("modules", [RACED_MODULES, RACED_PACKAGES], ids=["inference", "packages"])
def test_concurrent_first_imports_get_whole_modules(
    repo_root: Path, python_exe: str, modules: tuple[str, ...]
) -> None:
    failures = []
    for _ in range(RACE_PROCESSES):
        run = subprocess.run(
            [python_exe, "-c", RACE_SCRIPT, *modules],
            cwd=repo_root,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if run.returncode != 0:
            failures.append(run.stdout.strip() or run.stderr.strip()[-500:])
    assert not failures, f"{len(failures)} of {RACE_PROCESSES} processes: {failures[0]}"


CHECKED_TREES = ("pipelines", "app")
"""The top-level packages whose import graph is checked (tools/ and tests/ are scripts)."""


def module_names(root: Path) -> dict[str, Path]:
    names = {}
    paths = [
        p for tree in CHECKED_TREES if (root / tree).is_dir() for p in (root / tree).rglob("*.py")
    ]
    for path in paths:
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports run when the module loads: at its top, or in a top-level if/try (not under
    ``if TYPE_CHECKING``, never run); a function's import runs later, when every module it
    names is long loaded."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                pending.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            pending.extend(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                pending.extend(handler.body)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules whose lock it may wait on while holding its own.

    Python takes a submodule's lock *before* importing its package (importlib._bootstrap
    ._find_and_load), so every submodule also points at its packages."""
    names = module_names(root)
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        targets = set(ancestors(name))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in top_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if base else anchor
                imported = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for module in imported:
                targets.update(m for m in [module, *ancestors(module)] if m in names)
        targets.discard(name)
        graph[name] = targets
    return graph


@functools.cache
def repo_graph(root: Path) -> dict[str, set[str]]:
    """The repository's :func:`import_graph`, parsed once for all the tests below (each
    parsing it again took 0.5-0.7 s: 11 s of the suite)."""
    return import_graph(root)


def cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A path start -> ... -> start in the graph, or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for target in graph.get(node, ()):
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return None


@pytest.mark.parametrize(
    "module",
    [
        "pipelines.inference",
        "pipelines.inference.model",
        "pipelines.inference.session",
        "pipelines.inference.gpu",
        "pipelines.inference.capture",
    ],
)
def test_no_import_cycle_through_inference(repo_root: Path, module: str) -> None:
    cycle = cycle_through(repo_graph(repo_root), module)
    assert cycle is None, " -> ".join(cycle or [])


def packages(root: Path) -> list[str]:
    """Every package (a folder with an ``__init__.py``) under the checked trees."""
    return sorted(name for name, path in module_names(root).items() if path.name == "__init__.py")


REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("package", packages(REPO_ROOT))
def test_no_package_is_on_an_import_cycle(repo_root: Path, package: str) -> None:
    """A package on a cycle (its ``__init__`` importing its own submodules, or a module it
    imports importing it back) can hand a thread a half-loaded module, as inference did; its
    names are then looked up lazily (PEP 562) or imported where they are used."""
    cycle = cycle_through(repo_graph(repo_root), package)
    assert cycle is None, " -> ".join(cycle or [])


def test_every_package_is_checked() -> None:
    """The list above is not empty or short: a path change would otherwise check nothing."""
    found = packages(REPO_ROOT)
    assert {"pipelines.sources", "pipelines.outputs", "pipelines.audio", "app.gui"} <= set(found)


def test_the_graph_sees_a_package_that_imports_its_own_submodule(tmp_path: Path) -> None:
    """The checker itself: the shape main had (a package's __init__ importing a submodule)."""
    package = tmp_path / "pipelines" / "demo_pkg"
    package.mkdir(parents=True)
    (tmp_path / "pipelines" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("from pipelines.demo_pkg.part import thing\n")
    (package / "part.py").write_text("import os\nthing = 1\n")
    cycle = cycle_through(import_graph(tmp_path), "pipelines.demo_pkg.part")
    assert cycle == ["pipelines.demo_pkg.part", "pipelines.demo_pkg", "pipelines.demo_pkg.part"]
    (package / "__init__.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .part import thing\n"
    )
    assert cycle_through(import_graph(tmp_path), "pipelines.demo_pkg.part") is None
