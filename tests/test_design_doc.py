"""docs/design.md draws the code as it is.

Every module the page names exists, and every package, subpackage and
top-level module of ``src/playbill`` is named on it: adding a package without
placing it on the map fails here. The page names modules in backticks,
dotted from ``playbill`` (``playbill.runtime.model._values``), and files by
their path (``src/playbill/_run.py``); a dotted name may also end in a
module's attribute (``playbill.runtime.fold``).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

import playbill

ROOT = Path(__file__).resolve().parent.parent
DESIGN = ROOT / "docs" / "design.md"
SOURCE = Path(playbill.__file__).resolve().parent

DOTTED = re.compile(r"`(playbill(?:\.\w+)*)`")
"""A dotted name in backticks: ``playbill.runtime.model._values``."""

PATH = re.compile(r"`((?:src|tests|docs)/[\w./-]+\.(?:py|md))`")
"""A file in backticks: ``src/playbill/_run.py``, ``tests/test_layering.py``."""


def dotted_names(text: str) -> set[str]:
    """Every dotted ``playbill...`` name in backticks."""
    return set(DOTTED.findall(text))


def paths(text: str) -> set[str]:
    """Every file path in backticks."""
    return set(PATH.findall(text))


def module_file(source: Path, name: str) -> Path | None:
    """The file of module or package ``name`` under ``source`` (the package ``playbill``)."""
    base = source.parent.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def resolves(source: Path, name: str) -> bool:
    """Whether ``name`` is a module, or an attribute of one (imported to check)."""
    if module_file(source, name) is not None:
        return True
    module, _, attribute = name.rpartition(".")
    if not module or module_file(source, module) is None:
        return False
    return hasattr(importlib.import_module(module), attribute)


def units(source: Path) -> set[str]:
    """Every package and subpackage of ``source``, and its top-level modules, dotted."""
    found = {"playbill"}
    for init in source.rglob("__init__.py"):
        found.add(".".join(["playbill", *init.parent.relative_to(source).parts]))
    for module in source.glob("*.py"):
        if module.name != "__init__.py":
            found.add(f"playbill.{module.stem}")
    return found


def test_every_name_on_the_page_exists() -> None:
    text = DESIGN.read_text(encoding="utf-8")
    missing = sorted(name for name in dotted_names(text) if not resolves(SOURCE, name))
    assert not missing, f"docs/design.md names what does not exist: {missing}"


def test_every_path_on_the_page_exists() -> None:
    text = DESIGN.read_text(encoding="utf-8")
    assert not sorted(path for path in paths(text) if not (ROOT / path).is_file())


def test_every_package_and_top_level_module_is_on_the_page() -> None:
    named = dotted_names(DESIGN.read_text(encoding="utf-8"))
    assert not sorted(units(SOURCE) - named), "add it to the layout in docs/design.md"


def test_the_page_names_what_it_draws() -> None:
    """The parse sees the layout (a check that cannot fail proves nothing)."""
    text = DESIGN.read_text(encoding="utf-8")
    named = dotted_names(text)
    assert {"playbill.runtime.shell", "playbill.backends", "playbill._run"} <= named
    assert "playbill.runtime.model._values" in named
    assert {"tests/test_layering.py", "tests/test_public_api.py"} <= paths(text)


@pytest.mark.parametrize(
    ("files", "text", "missing", "unnamed"),
    [
        # all named, all there
        (
            ["p/__init__.py", "p/_x.py", "p/sub/__init__.py", "p/sub/_y.py"],
            "`playbill` `playbill._x` `playbill.sub` `playbill.sub._y`",
            [],
            [],
        ),
        # a module named that is gone; a subpackage left off the page
        (
            ["p/__init__.py", "p/sub/__init__.py", "p/new/__init__.py"],
            "`playbill` `playbill.sub` `playbill.sub._gone` and playbill.new",
            ["playbill.sub._gone"],
            ["playbill.new"],
        ),
    ],
)
def test_the_checks_find_a_stale_page(
    tmp_path: Path, files: list[str], text: str, missing: list[str], unnamed: list[str]
) -> None:
    source = tmp_path / "playbill"
    for name in files:
        path = tmp_path / name.replace("p/", "playbill/", 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    named = dotted_names(text)
    assert sorted(n for n in named if module_file(source, n) is None) == missing
    assert sorted(units(source) - named) == unnamed
