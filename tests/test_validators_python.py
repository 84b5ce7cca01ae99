"""``tests_pass`` runs the target project's interpreter, and playbill needs no pytest of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

import playbill
from fixtures.validators.helpers import make_ctx
from git_helpers import FIXED, calc_project, git
from playbill.runtime import TestsPass
from playbill.validators import run_validator
from playbill.validators._python import main_checkout, project_python, with_project_python

WHERE_TEST = """
import sys
from pathlib import Path


def test_runs_in_the_projects_venv():
    assert Path(sys.prefix).resolve() == Path({venv!r}).resolve(), sys.prefix
"""
"""A test that passes only under the interpreter of the virtual environment ``venv``."""


def executable(path: Path, text: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def repo_and_worktree(tmp_path: Path) -> tuple[Path, Path]:
    """A git repository (calc fixed) and a linked worktree of it, as an attempt gets."""
    repo = calc_project(tmp_path / "repo", {"calc.py": FIXED})
    worktree = tmp_path / "attempt"
    git(repo, "worktree", "add", "-q", "-b", "attempt", str(worktree))
    return repo, worktree


def test_a_linked_worktree_leads_to_its_main_checkout(
    repo_and_worktree: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, worktree = repo_and_worktree
    assert main_checkout(worktree) == repo.resolve()
    assert main_checkout(repo) is None  # a main checkout: .git is a directory
    assert main_checkout(tmp_path) is None  # no repository at all


def test_the_interpreter_is_looked_for_in_order(
    repo_and_worktree: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, worktree = repo_and_worktree
    bin_dir = tmp_path / "bin"
    plain = executable(bin_dir / "python")
    env = {"PATH": str(bin_dir)}
    assert project_python(worktree, env) == str(plain)  # the only one there is
    three = executable(bin_dir / "python3")
    assert project_python(worktree, env) == str(three)  # python3 before python
    main_venv = executable(repo / ".venv" / "bin" / "python")
    assert project_python(worktree, env) == str(main_venv)  # the repository's venv first
    own_venv = executable(worktree / ".venv" / "bin" / "python")
    assert project_python(worktree, env) == str(own_venv)  # the worktree's, before all
    assert project_python(tmp_path / "nowhere", {"PATH": str(tmp_path / "empty")}) is None


def test_only_a_bare_python_is_replaced(tmp_path: Path) -> None:
    venv_python = executable(tmp_path / ".venv" / "bin" / "python")
    env = {"PATH": ""}
    assert with_project_python(("python", "-m", "pytest"), tmp_path, env) == (
        str(venv_python),
        "-m",
        "pytest",
    )
    assert with_project_python(("python3", "-m", "pytest"), tmp_path, env)[0] == str(venv_python)
    for argv in (("pytest", "-q"), ("/usr/bin/python3.12", "-m", "pytest"), ("uv", "run")):
        assert with_project_python(argv, tmp_path, env) == argv
    # nothing found: left as written, so that starting it fails with a clear error
    assert with_project_python(("python",), tmp_path / "none", env) == ("python",)


@pytest.mark.slow
async def test_the_validator_runs_the_interpreter_it_resolved_not_its_own(
    repo_and_worktree: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, worktree = repo_and_worktree
    called = tmp_path / "called"
    # The repository's interpreter: records that it ran, then is this Python.
    executable(
        repo / ".venv" / "bin" / "python",
        f'#!/bin/sh\necho "$@" > {called}\nexec {sys.executable} "$@"\n',
    )
    validator = TestsPass(argv=("python", "-m", "pytest", "-q"))
    result = await run_validator(validator, make_ctx(worktree))
    assert result.passed, result.failure
    assert (result.check.tests_passed, result.check.tests_failed) == (1, 0)
    assert called.read_text().startswith("-m pytest -q --junitxml=")
    assert result.evidence[0].ref == "python -m pytest -q"  # as the plan wrote it


def make_project_venv(repo: Path) -> Path:
    """A real virtual environment in ``repo/.venv`` whose interpreter imports pytest.

    Made offline: no pip in it; a ``.pth`` file puts the site-packages that hold
    this interpreter's pytest on its path.
    """
    venv = repo / ".venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    pytest_home = Path(pytest.__file__).resolve().parents[1]
    (purelib / "with_pytest.pth").write_text(f"{pytest_home}\n")
    return venv / "bin" / "python"


BLOCKED_RUN = """
import json, sys
sys.modules["pytest"] = None  # playbill's environment has no pytest
sys.modules["_pytest"] = None
import trio
from playbill._redact import Redactor
from playbill.runtime import TestsPass
from playbill.validators import ValidationContext, command_env, run_validator
try:
    import pytest
except ImportError:
    pass
else:
    raise SystemExit("pytest was importable")

ctx = ValidationContext(worktree=sys.argv[1], env=command_env(), redactor=Redactor())
v = TestsPass(argv=("python", "-m", "pytest", "-q"))
result = trio.run(run_validator, v, ctx)
counts = [result.check.tests_passed, result.check.tests_failed]
print(json.dumps({"passed": result.passed, "tests": counts, "detail": result.check.detail}))
"""


@pytest.mark.slow
def test_playbill_without_pytest_runs_the_projects_own_pytest(
    repo_and_worktree: tuple[Path, Path],
) -> None:
    repo, worktree = repo_and_worktree
    venv_python = make_project_venv(repo)
    assert venv_python.exists() and str(venv_python) != sys.executable
    venv = str(venv_python.parent.parent)
    (worktree / "test_where.py").write_text(textwrap.dedent(WHERE_TEST).format(venv=venv))
    src = str(Path(playbill.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src}
    done = subprocess.run(
        [sys.executable, "-c", BLOCKED_RUN, str(worktree)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    # test_calc.py and test_where.py, the latter only passing in repo/.venv
    assert (outcome["passed"], outcome["tests"]) == (True, [2, 0]), outcome["detail"]
