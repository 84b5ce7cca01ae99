"""The kernel's layering, checked on the source (see docs/design.md).

* ``playbill.runtime`` never imports ``playbill.actors``.
* The pure modules (the reducer, and everything of playbill's they import)
  import no clock, randomness, environment, trio or I/O module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import playbill

SRC = Path(playbill.__file__).parent

PURE_ROOTS = [
    "playbill.runtime.logic._replay_check",
    "playbill.runtime.logic._reducer",
    "playbill.runtime.model._state",
    "playbill.runtime.logic._policy",  # decide, and everything it builds on
    "playbill.runtime.logic._retry_plan",
]

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


def module_path(name: str) -> Path:
    parts = name.split(".")[1:]
    base = SRC.joinpath(*parts)
    package = base / "__init__.py"
    return package if package.exists() else base.with_suffix(".py")


def imports_of(name: str) -> set[str]:
    """Absolute names of every module imported by module ``name``."""
    path = module_path(name)
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
                if candidate.startswith("playbill") and module_path(candidate).exists():
                    found.add(candidate)
    return found


def all_modules(package: str) -> list[str]:
    root = module_path(package).parent
    names = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def test_runtime_never_imports_actors() -> None:
    offenders = {
        (module, imported)
        for module in all_modules("playbill.runtime")
        for imported in imports_of(module)
        if imported == "playbill.actors" or imported.startswith("playbill.actors.")
    }
    assert not offenders


def pure_closure() -> set[str]:
    seen: set[str] = set()
    todo = list(PURE_ROOTS)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(m for m in imports_of(module) if m.startswith("playbill."))
    return seen


@pytest.mark.parametrize("module", sorted(pure_closure()))
def test_pure_modules_import_no_clock_randomness_or_io(module: str) -> None:
    banned = {m for m in imports_of(module) if m.split(".")[0] in BANNED_IN_PURE}
    assert not banned, f"{module} imports {sorted(banned)}"


def test_the_scan_sees_real_imports() -> None:
    """The scan really sees imports (a check that cannot fail proves nothing)."""
    assert "playbill.runtime.logic._reducer" in pure_closure()
    assert "playbill.runtime.model._messages" in pure_closure()
    assert "playbill.runtime.logic._pipeline" in pure_closure()
    assert "playbill.runtime.model._entry" in imports_of("playbill.runtime.logic._reducer")
    assert "msgspec" in imports_of("playbill.runtime.model._entry")
