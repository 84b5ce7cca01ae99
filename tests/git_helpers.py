"""Real git repositories for tests: a ``git`` runner and a tiny project with a bug."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

BUGGY = "def add(a, b):\n    return a - b\n"
"""``calc.py`` with the bug its test catches."""

FIXED = "def add(a, b):\n    return a + b\n"
"""``calc.py`` fixed."""

TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
"""``test_calc.py``: fails on ``BUGGY``, passes on ``FIXED``."""


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` (argv, no shell); its stdout, stripped. Raises if it fails."""
    done = subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, timeout=30
    )
    return done.stdout.strip()


def calc_project(root: Path, extra: Mapping[str, str]) -> Path:
    """A new git repository at ``root`` on ``main``: buggy ``calc.py``, its test, ``extra`` files.

    Everything is in one commit, by a fixed identity.
    """
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "Dev")
    files = {"calc.py": BUGGY, "test_calc.py": TESTS, **extra}
    for name, content in files.items():
        (root / name).write_text(content)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return root


def calc_plan(
    executor: str, goal: str = "add() subtracts: make it add, so that test_calc.py passes."
) -> str:
    """The plan of a real-CLI run on the calc project: one attempt, then the run fails.

    ``executor`` is the executor's ``[[agents]]`` table (TOML text); a
    ``checks`` verifier runs the project's pytest on the step ``fix``.
    """
    pytest_argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_calc.py"]
    return f"""\
[run]
goal = "make add add"

[run.policy]
max_attempts = 1
on_exhausted = "abort"

{executor.strip()}

[[agents]]
id = "tests"
roles = ["verifier"]
backend = "checks"
[agents.options]
env_allow = ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]

[[steps]]
id = "fix"
goal = {json.dumps(goal)}
scope = ["calc.py"]
[[steps.validators]]
kind = "tests_pass"
argv = {json.dumps(pytest_argv)}
timeout_s = 120
"""
