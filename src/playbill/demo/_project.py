"""The demo's project: a small Python package with failing tests, made into a git repository.

The project ships as package data in ``project/``. Its Python files are
stored as ``NAME.py-tpl`` (as Django stores its project templates) so that
nothing treats them as part of playbill: no linter, type checker, byte
compiler or test collector reads a deliberately broken package; the suffix
is dropped when the files are copied out.

``create_demo_repository`` copies them into a fresh temporary directory and
commits them on ``main``, with a local identity, in a git process that
ignores the user's hooks, signing and git environment variables.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from playbill.runtime import PlaybillError

PROJECT_PACKAGE: Final = "playbill.demo"
"""The package that holds the project's files (in its ``project`` directory)."""

TEMPLATE_SUFFIX: Final = "-tpl"
"""Dropped from file names when the project is copied out."""

DEMO_PREFIX: Final = "playbill-demo-"
"""The demo repository's directory name starts with this."""

USER_NAME: Final = "Demo User"
"""The repository's local ``user.name`` (the first commit's author)."""

USER_EMAIL: Final = "demo@example.com"
"""The repository's local ``user.email``."""

BRANCH: Final = "main"
"""The repository's branch."""

_IGNORED = "__pycache__/\n.pytest_cache/\n*.pyc\n"
# The user's hooks, signing prompts and templates have no place in a demo.
_CONFIG = ("-c", "core.hooksPath=/dev/null", "-c", "commit.gpgSign=false")


class DemoRepositoryError(PlaybillError):
    """The demo repository could not be made (git is missing or failed).

    Attributes:
        path: Where the repository was being made.
        detail: What went wrong.
    """

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path}: could not make the demo repository: {detail}")
        self.path = path
        self.detail = detail


def project_files() -> dict[str, str]:
    """The project's files: relative POSIX path -> text, in path order."""
    root = resources.files(PROJECT_PACKAGE).joinpath("project")
    found: dict[str, str] = {}
    _collect(root, "", found)
    return dict(sorted(found.items()))


def _collect(node: Traversable, prefix: str, found: dict[str, str]) -> None:
    for child in node.iterdir():
        if child.name == "__pycache__":
            continue
        if child.is_dir():
            _collect(child, f"{prefix}{child.name}/", found)
        else:
            name = child.name.removesuffix(TEMPLATE_SUFFIX)
            found[f"{prefix}{name}"] = child.read_text(encoding="utf-8")


def create_demo_repository(parent: str | os.PathLike[str] | None = None) -> Path:
    """Make a new git repository holding the demo project, committed on ``main``.

    Args:
        parent: The directory to make it in; the system's temporary
            directory by default. The repository is a new directory there
            whose name starts with ``playbill-demo-``.

    Returns:
        The repository's top directory (resolved).

    Raises:
        DemoRepositoryError: git is missing or one of its commands failed.
    """
    repo = Path(tempfile.mkdtemp(prefix=DEMO_PREFIX, dir=parent)).resolve()
    for rel, text in project_files().items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    _git(repo, "init", "-q", "-b", BRANCH)
    # Only this repository's configuration: the user's global one is never written.
    _git(repo, "config", "user.name", USER_NAME)
    _git(repo, "config", "user.email", USER_EMAIL)
    # Untracked by every worktree of the repository, without a tracked .gitignore.
    (repo / ".git" / "info").mkdir(exist_ok=True)
    with (repo / ".git" / "info" / "exclude").open("a", encoding="utf-8") as exclude:
        exclude.write(_IGNORED)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--no-verify", "-m", "textkit: slugs, wrapping and statistics")
    return repo


def _git(repo: Path, *args: str) -> None:
    git = shutil.which("git")
    if git is None:
        raise DemoRepositoryError(str(repo), "git is not on PATH")
    # GIT_DIR and friends would point git at another repository than this one.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_TERMINAL_PROMPT"] = "0"
    done = subprocess.run(
        [git, *_CONFIG, *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()
        last = detail[-1] if detail else f"exit status {done.returncode}"
        raise DemoRepositoryError(str(repo), f"git {args[0]}: {last}")
