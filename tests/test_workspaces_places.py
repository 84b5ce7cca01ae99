"""Where worktrees live: outside the repository and any ``.git``, found again, cleaned up.

Older playbill versions made worktrees under ``<git common dir>/playbill-worktrees``;
runs journaled then are resumed, reported stale and cleaned up as well.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from git_helpers import git
from playbill.workspaces import (
    Integrator,
    PathEscapes,
    StaleWorktree,
    WorkspaceError,
    Workspaces,
    WorktreesRefused,
    default_worktrees,
    find_stale,
    remove_stale,
    worktrees_dir,
)


@pytest.fixture(autouse=True)
def no_global_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME, no system git config, and a data directory of the test's own."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_GLOBAL"):
        monkeypatch.delenv(name, raising=False)
    return home


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    (path / "a.txt").write_text("alpha\n")
    git(path, "add", "--all")
    git(path, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "initial")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def registered(repo: Path) -> set[Path]:
    """The linked worktrees ``git worktree list`` shows."""
    listed = git(repo, "worktree", "list", "--porcelain").splitlines()
    paths = [
        Path(line.removeprefix("worktree ")) for line in listed if line.startswith("worktree ")
    ]
    return set(paths[1:])


def old_style(repo: Path, run: str, step: str, attempt: int) -> Path:
    """A worktree where playbill made them before: ``.git/playbill-worktrees/RUN/STEP-N``."""
    path = repo / ".git" / "playbill-worktrees" / run / f"{step}-{attempt}"
    base = git(repo, "rev-parse", "HEAD")
    git(
        repo,
        "worktree",
        "add",
        "--quiet",
        "-b",
        f"playbill/{run}/{step}/{attempt}",
        str(path),
        base,
    )
    return path


# ------------------------------------------------------------------ where


def test_worktrees_are_outside_the_work_tree_and_any_git_directory(
    repo: Path, tmp_path: Path
) -> None:
    ws = Workspaces(repo, "r1")
    wt = ws.acquire("fix", 1)
    integration = ws.integrator()
    integration.tip()
    for path in (wt.path, integration.path):
        assert ".git" not in path.parts
        assert not path.is_relative_to(repo)
        assert path.is_relative_to(tmp_path / "data" / "playbill" / "worktrees")
    assert wt.path == ws.worktrees / "r1" / "fix-1"
    assert ws.worktrees.parent == default_worktrees() == ws.worktrees_dir
    assert ws.worktrees.name.startswith("repo-")
    assert registered(repo) == {wt.path, integration.path}  # git knows them
    assert git(repo, "status", "--porcelain") == ""  # the user's tree stays clean
    assert git(wt.path, "rev-parse", "--abbrev-ref", "HEAD") == "playbill/r1/fix/1"

    ws.cleanup()
    assert registered(repo) == set()
    assert not ws.worktrees.exists()  # nothing left behind, not even empty directories
    assert git(repo, "rev-parse", "--verify", "playbill/r1/fix/1")  # the branch stays


def test_the_default_directory_follows_xdg_data_home(
    monkeypatch: pytest.MonkeyPatch, no_global_git_config: Path, tmp_path: Path
) -> None:
    assert default_worktrees() == tmp_path / "data" / "playbill" / "worktrees"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/data")  # the spec says: ignore it
    assert default_worktrees() == no_global_git_config / ".local/share/playbill/worktrees"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_worktrees() == no_global_git_config / ".local/share/playbill/worktrees"


def test_a_chosen_directory_holds_them_and_home_is_expanded(
    repo: Path, tmp_path: Path, no_global_git_config: Path
) -> None:
    chosen = Workspaces(repo, "r1", worktrees=tmp_path / "elsewhere")
    assert chosen.acquire("fix", 1).path.is_relative_to(tmp_path / "elsewhere")
    assert chosen.integrator().path.is_relative_to(tmp_path / "elsewhere")
    home = Workspaces(repo, "r2", worktrees="~/wt")
    assert home.worktrees_dir == no_global_git_config / "wt"
    assert home.acquire("fix", 1).path.is_relative_to(no_global_git_config / "wt")
    assert worktrees_dir(repo, "~/wt") == no_global_git_config / "wt"


def test_repositories_sharing_a_directory_keep_apart(tmp_path: Path) -> None:
    one = make_repo(tmp_path / "a" / "calc")
    two = make_repo(tmp_path / "b" / "calc")  # the same name
    first = Workspaces(one, "r1").acquire("fix", 1)
    second = Workspaces(two, "r1").acquire("fix", 1)
    assert first.path != second.path
    assert first.path.parent.parent.name.startswith("calc-")
    assert find_stale(one) == [StaleWorktree("r1", "fix", 1, first.path, first.branch)]


@pytest.mark.parametrize(
    ("inside", "reason"),
    [
        ("repo/wt", "inside the repository's work tree"),
        ("repo", "inside the repository's work tree"),
        ("repo/.git/wt", "inside a .git directory"),
        ("other/.git/wt", "inside a .git directory"),
    ],
)
def test_a_directory_in_the_work_tree_or_a_git_directory_is_refused(
    repo: Path, tmp_path: Path, inside: str, reason: str
) -> None:
    with pytest.raises(WorktreesRefused) as caught:
        Workspaces(repo, "r1", worktrees=tmp_path / inside)
    assert reason in str(caught.value)
    assert str(tmp_path / inside) in str(caught.value)
    with pytest.raises(WorktreesRefused):
        worktrees_dir(repo, tmp_path / inside)
    with pytest.raises(WorktreesRefused):
        find_stale(repo, worktrees=tmp_path / inside)


# ------------------------------------------------------------------ older runs


def test_an_old_style_worktree_is_reacquired_where_it_is(repo: Path) -> None:
    old = old_style(repo, "r1", "fix", 1)
    (old / "work.txt").write_text("in progress\n")
    ws = Workspaces(repo, "r1")
    wt = ws.acquire("fix", 1)
    assert wt.path == old  # found where git has it, files kept
    assert (wt.path / "work.txt").read_text() == "in progress\n"
    done = ws.commit_attempt(wt, "work")
    assert done.changed == ("work.txt",)
    new = ws.acquire("fix", 2)  # a new attempt goes to the new place
    assert ".git" not in new.path.parts

    ws.cleanup()  # both places are cleaned up
    assert registered(repo) == set()
    assert not old.exists() and not (repo / ".git" / "playbill-worktrees").exists()
    assert git(repo, "rev-parse", "playbill/r1/fix/1") == done.commit


def test_an_old_style_worktree_that_is_gone_is_made_again_in_the_new_place(repo: Path) -> None:
    old = old_style(repo, "r1", "fix", 1)
    git(
        repo, "worktree", "remove", "--force", str(old)
    )  # its directory went away; the branch stays
    wt = Workspaces(repo, "r1").acquire("fix", 1)
    assert ".git" not in wt.path.parts
    assert registered(repo) == {wt.path}


def test_an_old_style_integration_worktree_is_used_where_it_is(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    old = repo / ".git" / "playbill-worktrees" / "r1" / "integration"
    git(repo, "worktree", "add", "--quiet", "-b", "playbill/r1/integration", str(old), base)
    integration = Integrator(repo, "r1", base_commit=base)
    assert integration.tip() == base
    assert integration.path == old
    assert registered(repo) == {old}


# ------------------------------------------------------------------ stale


def test_stale_worktrees_are_found_in_every_place_and_removed(repo: Path, tmp_path: Path) -> None:
    here = Workspaces(repo, "new").acquire("a", 1)  # the default place
    elsewhere = Workspaces(repo, "moved", worktrees=tmp_path / "other").acquire("b", 2)
    old = old_style(repo, "old", "c", 3)
    Workspaces(repo, "live").acquire("d", 1)

    stale = find_stale(repo, live_runs={"live"})
    assert [(s.run, s.step, s.attempt, s.path, s.branch) for s in stale] == [
        ("moved", "b", 2, elsewhere.path, "playbill/moved/b/2"),  # git knows where it is
        ("new", "a", 1, here.path, "playbill/new/a/1"),
        ("old", "c", 3, old, "playbill/old/c/3"),
    ]
    # the other directory, as the run's own: found by walking it too
    assert [
        s.path for s in find_stale(repo, {"live", "new", "old"}, worktrees=tmp_path / "other")
    ] == [elsewhere.path]

    assert remove_stale(repo, stale) == 3
    assert remove_stale(repo, stale) == 0
    assert find_stale(repo, live_runs={"live"}) == []
    assert len(registered(repo)) == 1  # the live run's
    for branch in ("playbill/moved/b/2", "playbill/new/a/1", "playbill/old/c/3"):
        assert git(repo, "rev-parse", "--verify", branch)  # the evidence stays


def test_remove_stale_refuses_a_directory_that_is_not_a_playbill_worktree(
    repo: Path, tmp_path: Path
) -> None:
    precious = tmp_path / "precious" / "run" / "a-1"
    precious.mkdir(parents=True)
    (precious / "keep.txt").write_text("mine\n")
    fake = StaleWorktree("run", "a", 1, precious, "playbill/run/a/1")
    with pytest.raises(PathEscapes, match="nor one git knows"):
        remove_stale(repo, [fake])
    assert (precious / "keep.txt").read_text() == "mine\n"


def test_a_persons_own_worktree_of_a_playbill_branch_is_left_alone(
    repo: Path, tmp_path: Path
) -> None:
    ws = Workspaces(repo, "r1")
    wt = ws.acquire("fix", 1)
    (wt.path / "a.txt").write_text("the attempt's work\n")
    ws.commit_attempt(wt, "work")
    ws.release(wt)
    look = tmp_path / "look"  # someone checks the attempt's branch out to look at it
    git(repo, "worktree", "add", "--quiet", str(look), wt.branch)
    (look / "notes.txt").write_text("my own notes\n")

    assert find_stale(repo) == []  # not reported as a run's leftover
    ws.cleanup()  # nor removed when the run ends
    assert (look / "notes.txt").read_text() == "my own notes\n"
    assert registered(repo) == {look}
    with pytest.raises(WorkspaceError):
        ws.acquire("fix", 1)  # and no agent is ever put to work in it
    assert (look / "notes.txt").read_text() == "my own notes\n"
