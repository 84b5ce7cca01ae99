"""Views of a repository at one commit (``make_view``), on real git repositories."""

from __future__ import annotations

from pathlib import Path

from git_helpers import BUGGY, calc_project, git
from playbill.workspaces import Workspaces, make_view, remove_view


def test_a_view_is_the_commits_tree_read_only_with_no_git_and_no_link_out(
    tmp_path: Path,
) -> None:
    repo = calc_project(tmp_path / "project", {})
    (repo / "docs").mkdir()
    (repo / "docs" / "a.md").write_text("a\n")
    (repo / "inside").symlink_to("calc.py")
    (repo / "outside").symlink_to("/etc/passwd")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "links")
    ws = Workspaces(repo, "r1", worktrees=tmp_path / "worktrees")
    (repo / "calc.py").write_text("changed since\n")  # the view is of the commit, not the tree
    view = make_view(ws, "plan", 1, ws.base_commit, read_only=True)
    assert not view.is_relative_to(repo)
    names = sorted(p.name for p in view.iterdir())
    assert names == ["calc.py", "docs", "inside", "test_calc.py"]  # no .git, no link out
    assert (view / "calc.py").read_text() == BUGGY
    assert (view / "inside").read_text() == BUGGY
    assert (view / "calc.py").stat().st_mode & 0o777 == 0o444
    assert (view / "docs").stat().st_mode & 0o777 == 0o555
    assert view.stat().st_mode & 0o777 == 0o555
    # made again over what was there, and removed with the run's worktrees
    assert make_view(ws, "plan", 1, ws.base_commit, read_only=False) == view
    assert (view / "calc.py").stat().st_mode & 0o777 != 0o444
    make_view(ws, "plan", 2, ws.base_commit, read_only=True)
    ws.cleanup()
    assert not view.exists() and not view.parent.exists()
    remove_view(view)  # nothing left: nothing happens
    assert (repo / "calc.py").read_text() == "changed since\n"  # the user's tree untouched
