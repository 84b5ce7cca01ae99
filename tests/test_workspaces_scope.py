"""Scopes and path confinement of workspaces, and the package's public surface."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import playbill.workspaces
from playbill.runtime import Failure, PlaybillError, WorkspaceCreated
from playbill.workspaces import (
    PathEscapes,
    ScopeViolation,
    WorkspaceError,
    Workspaces,
    check_scope,
    confine,
)
from test_workspaces import git, no_global_git_config, repo

__all__ = ["no_global_git_config", "repo"]  # fixtures, used by name


# ------------------------------------------------------------------ scopes


def test_check_scope_lists_what_is_outside() -> None:
    changed = ["src/a.py", "docs/x.md", "src/sub/b.py", "docs/x.md"]
    assert check_scope(changed, ["src"]) == ("docs/x.md",)
    assert check_scope(changed, ["src/*.py", "docs/**"]) == ("src/sub/b.py",)
    assert check_scope(changed, ()) == ("docs/x.md", "src/a.py", "src/sub/b.py")  # read-only
    assert check_scope([], ()) == ()


def test_a_scope_violation_names_the_paths_and_is_a_validation_failure() -> None:
    err = ScopeViolation("/repo", "build", 2, ("docs/x.md", "setup.py"))
    assert (err.step, err.attempt, err.paths) == ("build", 2, ("docs/x.md", "setup.py"))
    assert "docs/x.md" in str(err) and "setup.py" in str(err) and "/repo" in str(err)
    assert err.failure == Failure(
        failure_class="validation",
        kind="scope_violation",
        detail="changed files outside the step's scope: docs/x.md, setup.py",
    )


@pytest.mark.parametrize(
    ("relpath", "reason"),
    [
        ("/etc/passwd", "is absolute"),
        ("../outside.txt", "climbs out with '..'"),
        ("src/../../outside.txt", "climbs out with '..'"),
        ("link-out/secret.txt", "leads out through a symlink"),
        ("link-out", "leads out through a symlink"),
    ],
)
def test_confine_refuses_every_way_out(
    repo: Path, tmp_path: Path, relpath: str, reason: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "link-out").symlink_to(outside)
    with pytest.raises(PathEscapes) as caught:
        confine(repo, relpath)
    assert (caught.value.path, caught.value.reason) == (relpath, reason)
    assert str(repo) in str(caught.value)


def test_confine_allows_what_stays_inside(repo: Path) -> None:
    (repo / "link-in").symlink_to(repo / "src")
    assert confine(repo, "src/app.py") == repo / "src" / "app.py"
    assert confine(repo, "src/../a.txt") == repo / "a.txt"
    assert confine(repo, "./new/file.txt") == repo / "new" / "file.txt"  # need not exist
    assert confine(repo, "link-in/app.py") == repo / "src" / "app.py"
    assert confine(repo, "") == repo


def test_an_attempt_outside_its_scope_fails_with_the_paths(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    wt = ws.acquire("code", 1)
    (wt.path / "src" / "new.py").write_text("\n")
    ws.check_attempt_scope(wt, ["src/**"])
    (wt.path / "a.txt").write_text("outside\n")
    (wt.path / "docs").mkdir()
    (wt.path / "docs" / "x.md").write_text("outside\n")
    with pytest.raises(ScopeViolation) as caught:
        ws.check_attempt_scope(wt, ["src/**"])
    assert (caught.value.step, caught.value.attempt) == ("code", 1)
    assert caught.value.paths == ("a.txt", "docs/x.md")
    assert caught.value.failure.kind == "scope_violation"
    done = ws.commit_attempt(wt, "code")
    with pytest.raises(ScopeViolation):
        ws.check_attempt_scope(wt, [], done.changed)  # read-only
    ws.check_attempt_scope(wt, ["src", "a.txt", "docs/*.md"], done.changed)


def test_a_worktree_is_journaled_as_workspace_created(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    wt = ws.acquire("code", 2)
    assert wt.to_message() == WorkspaceCreated(
        step="code",
        attempt=2,
        path=str(wt.path),
        branch="playbill/r1/code/2",
        base_commit=git(repo, "rev-parse", "HEAD"),
    )


# ------------------------------------------------------------------ the public surface


def test_the_public_names_are_curated_and_documented() -> None:
    package = playbill.workspaces
    assert (package.__doc__ or "").strip()
    names = package.__all__
    assert len(names) == len(set(names))
    public = {
        n for n, v in vars(package).items() if not n.startswith("_") and not inspect.ismodule(v)
    }
    assert public - {"annotations"} == set(names)
    for name in names:
        obj = getattr(package, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__ and obj.__doc__.strip(), name
            assert obj.__module__.startswith("playbill.workspaces._"), name


def test_every_error_is_a_workspace_error() -> None:
    for name in playbill.workspaces.__all__:
        obj = getattr(playbill.workspaces, name)
        if inspect.isclass(obj) and issubclass(obj, Exception):
            assert issubclass(obj, WorkspaceError), name
    assert issubclass(WorkspaceError, PlaybillError)
