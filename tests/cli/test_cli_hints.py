"""What the CLI tells a new user: the exit statuses, and commands they can run as printed."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cli_helpers import invoke
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / "playbill"
SAFETY_TIMEOUT_S = 120
"""Only so that a broken build cannot hang the suite; nothing is timed."""


def test_the_top_level_help_lists_every_exit_status(runner: CliRunner, tmp_path: Path) -> None:
    result = invoke(runner, tmp_path / "j.db", "--help")
    assert result.exit_code == 0
    listed = re.findall(r"^\s+(\d+)\s{2,}\S", result.stdout, flags=re.MULTILINE)
    assert listed == ["0", "1", "2", "3", "4", "130", "143"]


def test_the_demo_extra_brings_pytest_and_the_quickstart_installs_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not any(re.match(r"pytest\b", dep) for dep in project["dependencies"])
    assert any(re.match(r"pytest\b", dep) for dep in project["optional-dependencies"]["demo"])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = re.findall(r"^python3 -m venv .*$", readme, flags=re.MULTILINE)[0]
    assert "pip install -q -e '.[demo]'" in quickstart and "playbill demo" in quickstart
    for doc in ("README.md", "docs/demo.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert "pip install pytest" not in text, doc


def try_next(argv: list[str], cwd: Path, path: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "PLAYBILL_JOURNAL"}
    env["PATH"] = path
    done = subprocess.run(
        [*argv, "demo", "--scripted"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SAFETY_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    start = lines.index("Try next:") + 1
    return [line.strip() for line in lines[start:] if line.startswith("  ")]


@pytest.mark.slow
@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
def test_the_demo_prints_its_next_commands_the_way_they_can_be_run(tmp_path: Path) -> None:
    bare = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if p != str(SCRIPT.parent)
    )
    # the console script is not on PATH: its path, as it was typed
    (tmp_path / "a").mkdir()
    hints = try_next([str(SCRIPT)], tmp_path / "a", bare)
    assert hints and all(h.startswith(f"{SCRIPT} ") for h in hints), hints
    # it is: the plain name
    (tmp_path / "b").mkdir()
    hints = try_next([str(SCRIPT)], tmp_path / "b", os.pathsep.join([str(SCRIPT.parent), bare]))
    assert hints and all(h.startswith("playbill ") for h in hints), hints
    # python -m playbill: the same interpreter
    (tmp_path / "c").mkdir()
    hints = try_next([sys.executable, "-m", "playbill"], tmp_path / "c", bare)
    module = f"{shlex.quote(sys.executable)} -m playbill "
    assert hints and all(h.startswith(module) for h in hints), hints
