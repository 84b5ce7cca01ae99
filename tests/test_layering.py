"""The layering of the code, checked on the source (see docs/design.md).

* ``playbill.runtime`` never imports ``playbill.actors`` (nor anything above it).
* The layers of ``playbill.runtime`` import only downwards: ``model`` nothing
  else of playbill, ``logic`` only ``model``, ``journal`` only ``model`` and
  ``logic``, ``shell`` any of the three; only the package's ``__init__`` (the
  re-exports) imports ``shell``. Every module of the runtime is in a layer.
* The top-level packages and modules of playbill import only downwards, in
  the order of ``TOP_LEVEL_ORDER`` (``runtime`` at the bottom, ``cli`` on top).
* The pure layers (``model`` and ``logic``) import no clock, randomness,
  environment, trio or I/O module.
* No module imports the private modules of another top-level package: a
  module may import the ``_``-prefixed modules of its own top-level package
  (at any depth: ``playbill.runtime.logic`` may import
  ``playbill.runtime.model._values``) and playbill's top-level helper modules
  (``playbill._redact``, ``playbill._run``...), but of ``playbill.<package>``
  only what the package itself exports.

Every import counts: relative ones, those inside functions and those under
``if TYPE_CHECKING:`` (an annotation that names a higher layer couples the
layers as much as a call does).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

import playbill

RUNTIME_LAYERS = ("model", "logic", "journal", "shell")
"""The layers of ``playbill.runtime``, bottom first."""

RUNTIME_ORDER: list[tuple[str, ...]] = [
    *((layer,) for layer in RUNTIME_LAYERS),
    ("playbill.runtime",),  # the package's __init__: re-exports every layer
]
"""Each unit may import its own and the units of the rows above it, nothing else."""

TOP_LEVEL_ORDER: list[tuple[str, ...]] = [
    ("runtime",),
    ("_extras", "_guard", "_inputs", "_lazy", "_problems", "_process", "_redact", "_version"),
    ("_strict",),  # the one strict converter: reports through _problems
    ("tracing",),  # spans built from journal entries, and their OpenTelemetry export
    ("validators", "workspaces"),
    ("backends",),  # what an agent does: the backends, their options and processes
    ("actors",),  # the role actors and the integrator, on a backend each
    ("_run_wiring",),  # the plumbing open_run wires together
    ("_run",),  # the library's entry point: open_run, Run, RunSpec
    ("simulation",),  # simulate: a real run of simulated agents
    ("_function_agent", "_run_errors"),  # agents made of functions; what a run handle raises
    ("_handle",),  # start and resume: the run handle over open_run
    ("_sync", "_sync_run", "demo", "plans"),
    ("sweeps",),
    # The three tiers of the public API: playbill/__init__.py, lowlevel, testing
    ("playbill", "lowlevel", "testing"),
    ("asyncio",),  # the run handle for asyncio programs (trio as a guest of their loop)
    ("ui",),  # the web view and the run report: read the journal, render HTML
    ("cli",),
    ("__main__",),
]
"""The top-level packages and modules of playbill, bottom first.

A unit may import the units of the rows above its own (and itself), never one
of its own row or of a row below.
"""

BANNED_IN_PURE = {
    "asyncio",
    "datetime",
    "io",
    "os",
    "pathlib",
    "random",
    "secrets",
    "shutil",
    "socket",
    "sqlite3",
    "subprocess",
    "sys",
    "tempfile",
    "threading",
    "time",
    "trio",
    "uuid",
}


class Tree:
    """The modules of a source tree (a folder holding the package ``playbill``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        """The file of module (or package) ``name``."""
        base = self.root.joinpath(*name.split("."))
        package = base / "__init__.py"
        return package if package.exists() else base.with_suffix(".py")

    def modules(self, package: str = "playbill") -> list[str]:
        """Every module of ``package``, the package itself included."""
        names = []
        for path in sorted(self.root.joinpath(*package.split(".")).rglob("*.py")):
            parts = list(path.relative_to(self.root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.append(".".join(parts))
        return names

    def imports(self, name: str) -> set[str]:
        """Absolute names of every module imported by module ``name``, wherever."""
        path = self.path(name)
        tree = ast.parse(path.read_text(), filename=str(path))
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    target = ".".join([*base, node.module] if node.module else base)
                else:
                    target = node.module or ""
                found.add(target)
                # ``from . import x`` may import a submodule x
                for alias in node.names:
                    candidate = f"{target}.{alias.name}"
                    if candidate.startswith("playbill") and self.path(candidate).exists():
                        found.add(candidate)
        return found


SOURCE = Tree(Path(playbill.__file__).parent.parent)


def runtime_unit(name: str) -> str | None:
    """The runtime layer of module ``name`` (None outside the runtime)."""
    parts = name.split(".")
    if parts[:2] != ["playbill", "runtime"]:
        return None
    if len(parts) == 2:
        return "playbill.runtime"
    return parts[2] if parts[2] in RUNTIME_LAYERS else "(no layer)"


def top_level_unit(name: str) -> str | None:
    """The top-level package or module of playbill that module ``name`` is in."""
    parts = name.split(".")
    if parts[0] != "playbill":
        return None
    return parts[1] if len(parts) > 1 else "playbill"


def wrong_way(
    tree: Tree, order: Sequence[tuple[str, ...]], unit: Callable[[str], str | None]
) -> set[tuple[str, str]]:
    """Every ``(module, imported)`` in ``tree`` against ``order``.

    An import is wrong when both ends are in a unit and the imported unit is
    not the importer's own and not in a row before the importer's (or either
    unit is in no row at all).
    """
    rank = {name: i for i, row in enumerate(order) for name in row}
    found = set()
    for module in tree.modules():
        mine = unit(module)
        if mine is None:
            continue
        for imported in tree.imports(module):
            theirs = unit(imported)
            if theirs is None or theirs == mine:
                continue
            if rank.get(theirs, len(order)) >= rank.get(mine, -1):
                found.add((module, imported))
    return found


def test_runtime_never_imports_actors() -> None:
    offenders = {
        (module, imported)
        for module in SOURCE.modules("playbill.runtime")
        for imported in SOURCE.imports(module)
        if imported == "playbill.actors" or imported.startswith("playbill.actors.")
    }
    assert not offenders


PERSISTENCE = ("playbill.runtime.journal._writer", "playbill.runtime.journal._batch")
"""The journal writer: group commit, lease and a hook before commit, nothing more."""


@pytest.mark.parametrize("module", PERSISTENCE)
def test_the_writer_imports_neither_the_reducer_nor_the_policy(module: str) -> None:
    # The run's logic reaches the writer only through its commit hook
    # (``journal._keeper`` runs the cascade); the writer imports no logic.
    assert not {
        imported
        for imported in SOURCE.imports(module)
        if imported == "playbill.runtime.logic" or imported.startswith("playbill.runtime.logic.")
    }
    assert "playbill.runtime.journal._keeper" not in SOURCE.imports(module)


def test_every_runtime_module_is_in_a_layer() -> None:
    units = {module: runtime_unit(module) for module in SOURCE.modules("playbill.runtime")}
    assert not {module for module, unit in units.items() if unit == "(no layer)"}
    assert set(units.values()) == {*RUNTIME_LAYERS, "playbill.runtime"}


def test_the_runtime_layers_import_only_downwards() -> None:
    assert not wrong_way(SOURCE, RUNTIME_ORDER, runtime_unit)


def test_every_top_level_unit_has_a_place_in_the_order() -> None:
    units = {top_level_unit(module) for module in SOURCE.modules()}
    assert units == {name for row in TOP_LEVEL_ORDER for name in row}


def test_the_top_level_units_import_only_downwards() -> None:
    assert not wrong_way(SOURCE, TOP_LEVEL_ORDER, top_level_unit)


def private_reaches(tree: Tree) -> set[tuple[str, str]]:
    """Every ``(module, imported)`` in ``tree`` where a module imports a private
    module of another top-level package (``playbill.<package>.<...>._x``)."""
    found = set()
    for module in tree.modules():
        parts = module.split(".")
        mine = parts[1] if len(parts) > 1 else None
        for imported in tree.imports(module):
            theirs = imported.split(".")
            if theirs[0] != "playbill" or len(theirs) < 3 or theirs[1] == mine:
                continue
            if theirs[1].startswith("_"):
                continue  # a top-level helper module (playbill._x.y does not happen)
            if any(part.startswith("_") for part in theirs[2:]):
                found.add((module, imported))
    return found


def test_no_module_imports_another_packages_private_modules() -> None:
    assert not private_reaches(SOURCE)


def write_tree(root: Path, files: dict[str, str]) -> Tree:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return Tree(root)


def test_the_checker_finds_a_wrong_way_import(tmp_path: Path) -> None:
    """The checker sees relative, type-only and nested imports, and units out of the order.

    (A check that cannot fail proves nothing.)
    """
    tree = write_tree(
        tmp_path,
        {
            "playbill/__init__.py": "",
            "playbill/runtime/__init__.py": "from .shell._clock import Clock\n",
            "playbill/runtime/model/__init__.py": "",
            "playbill/runtime/model/_values.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from ..logic._reducer import fold\n"
            ),
            "playbill/runtime/logic/__init__.py": "",
            "playbill/runtime/logic/_reducer.py": "from ..model._values import Usage\n",
            "playbill/runtime/journal/__init__.py": "",
            "playbill/runtime/journal/_writer.py": (
                "def flush() -> None:\n    from ..shell import _clock\n"
            ),
            "playbill/runtime/shell/__init__.py": "",
            "playbill/runtime/shell/_clock.py": "import playbill.runtime.journal._writer\n",
            "playbill/runtime/_flat.py": "from .model._values import Usage\n",
            "playbill/actors/__init__.py": "from playbill.runtime import Clock\n",
            "playbill/validators/__init__.py": "import playbill.actors\n",
        },
    )
    assert wrong_way(tree, RUNTIME_ORDER, runtime_unit) == {
        ("playbill.runtime.model._values", "playbill.runtime.logic._reducer"),
        ("playbill.runtime.journal._writer", "playbill.runtime.shell"),
        ("playbill.runtime.journal._writer", "playbill.runtime.shell._clock"),
        ("playbill.runtime._flat", "playbill.runtime.model._values"),  # in no layer
    }
    assert wrong_way(tree, TOP_LEVEL_ORDER, top_level_unit) == {
        ("playbill.validators", "playbill.actors"),
    }


def test_the_checker_finds_an_import_of_another_packages_private_module(tmp_path: Path) -> None:
    """Imports of private modules: own package at any depth and top-level helpers pass.

    (A check that cannot fail proves nothing.)
    """
    tree = write_tree(
        tmp_path,
        {
            "playbill/__init__.py": "from ._run import open_run\n",
            "playbill/_redact.py": "",
            "playbill/_run.py": "from .actors._role import RoleActor\n",
            "playbill/runtime/__init__.py": "from .model._values import Usage\n",
            "playbill/runtime/model/__init__.py": "",
            "playbill/runtime/model/_values.py": "",
            "playbill/runtime/logic/__init__.py": "",
            "playbill/runtime/logic/_reducer.py": (
                "from playbill.runtime.model._values import Usage\n"
            ),
            "playbill/actors/__init__.py": "from ._role import RoleActor\n",
            "playbill/actors/_role.py": (
                "from typing import TYPE_CHECKING\n"
                "from playbill._redact import Redactor\n"
                "from playbill.runtime import Usage\n"
                "if TYPE_CHECKING:\n"
                "    from ..runtime.model._values import Usage\n"
            ),
            "playbill/cli/__init__.py": "",
            "playbill/cli/_app.py": (
                "def run() -> None:\n    from playbill.runtime.logic import _reducer\n"
            ),
        },
    )
    assert private_reaches(tree) == {
        ("playbill._run", "playbill.actors._role"),
        ("playbill.actors._role", "playbill.runtime.model._values"),
        ("playbill.cli._app", "playbill.runtime.logic._reducer"),
    }


def pure_modules() -> list[str]:
    return [m for m in SOURCE.modules("playbill.runtime") if runtime_unit(m) in {"model", "logic"}]


def pure_closure() -> set[str]:
    seen: set[str] = set()
    todo = pure_modules()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(m for m in SOURCE.imports(module) if m.startswith("playbill."))
    return seen


@pytest.mark.parametrize("module", sorted(pure_closure()))
def test_pure_modules_import_no_clock_randomness_or_io(module: str) -> None:
    banned = {m for m in SOURCE.imports(module) if m.split(".")[0] in BANNED_IN_PURE}
    assert not banned, f"{module} imports {sorted(banned)}"


def test_the_scan_sees_real_imports() -> None:
    """The scan really sees imports (a check that cannot fail proves nothing)."""
    assert "playbill.runtime.logic._reducer" in pure_closure()
    assert "playbill.runtime.model._messages" in pure_closure()
    assert "playbill.runtime.logic._policy" in pure_closure()
    assert "playbill.runtime.model._entry" in SOURCE.imports("playbill.runtime.logic._reducer")
    assert "msgspec" in SOURCE.imports("playbill.runtime.model._entry")
    assert "trio" in SOURCE.imports("playbill.runtime.shell._clock")
