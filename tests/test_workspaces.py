"""Git workspaces on real repositories: clean checks, worktrees per attempt, commits, cleanup."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from git_helpers import git
from playbill.runtime import PlaybillError
from playbill.workspaces import (
    IDENTITY_EMAIL,
    IDENTITY_NAME,
    AttemptCommit,
    DirtyTree,
    GitEnvironment,
    NoCommits,
    NotARepository,
    UnknownCommit,
    WorkspaceError,
    Workspaces,
    Worktree,
    WorktreeConflict,
    WorktreeGone,
    find_stale,
    remove_stale,
)


def commit_files(repo: Path, files: dict[str, str], message: str = "change") -> str:
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture(autouse=True)
def no_global_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the machine's git configuration out: an empty HOME, no system config."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_GLOBAL"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with its user configured in the repository only, and one commit."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "config", "user.name", "Test User")
    git(path, "config", "user.email", "test@example.com")
    commit_files(
        path,
        {
            "a.txt": "alpha\n",
            "b.txt": "bravo\n",
            "src/app.py": "print('hi')\n",
            ".gitignore": "*.log\nbuild/\n",
        },
        "initial",
    )
    return path


def tracked_tree(repo: Path, rev: str) -> dict[str, str]:
    names = git(repo, "ls-tree", "-r", "--name-only", rev).splitlines()
    return {name: git(repo, "show", f"{rev}:{name}") for name in names}


# ------------------------------------------------------------------ the user's tree


def test_a_clean_tree_passes_and_records_head_as_the_base(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    assert ws.check_clean() == ()
    assert ws.base_commit == git(repo, "rev-parse", "HEAD")
    (repo / "debug.log").write_text("ignored\n")
    (repo / "build").mkdir()
    (repo / "build" / "out.o").write_text("ignored\n")
    assert ws.check_clean() == ()


def test_a_dirty_tree_blocks_and_names_every_dirty_path(repo: Path) -> None:
    (repo / "a.txt").write_text("modified\n")
    (repo / "new.txt").write_text("untracked\n")
    (repo / "src" / "staged.py").write_text("x = 1\n")
    git(repo, "add", "src/staged.py")
    ws = Workspaces(repo, "r1")
    with pytest.raises(DirtyTree) as caught:
        ws.check_clean()
    assert caught.value.paths == ("a.txt", "new.txt", "src/staged.py")
    assert str(repo) in str(caught.value)
    assert "new.txt" in str(caught.value)
    assert isinstance(caught.value, WorkspaceError)
    assert isinstance(caught.value, PlaybillError)
    assert ws.check_clean(allow_dirty=True) == ("a.txt", "new.txt", "src/staged.py")


def test_a_renamed_file_is_dirty_under_both_names(repo: Path) -> None:
    git(repo, "mv", "a.txt", "renamed.txt")
    with pytest.raises(DirtyTree) as caught:
        Workspaces(repo, "r1").check_clean()
    assert caught.value.paths == ("a.txt", "renamed.txt")


def test_a_path_that_is_not_a_work_tree_is_refused_clearly(repo: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "--quiet", "--bare", str(bare))
    for path in (plain, tmp_path / "missing", repo / "src", bare):
        with pytest.raises(NotARepository) as caught:
            Workspaces(path, "r1")
        assert str(path) in str(caught.value)
        assert "expected the top directory of a git repository" in str(caught.value)


def test_a_repository_without_commits_is_refused_clearly(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "--quiet")
    with pytest.raises(NoCommits, match="no commits"):
        Workspaces(empty, "r1")


def test_a_resumed_run_gets_its_journaled_base_back(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    commit_files(repo, {"a.txt": "moved on\n"})
    ws = Workspaces(repo, "r1", base_commit=base[:10])
    assert ws.base_commit == base
    with pytest.raises(UnknownCommit, match="does not name a commit"):
        Workspaces(repo, "r1", base_commit="0" * 40)


# ------------------------------------------------------------------ attempts


def test_attempts_work_in_parallel_in_separate_worktrees(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    jobs = [("build", 1), ("build", 2), ("docs", 1), ("docs", 2)]
    results: dict[tuple[str, int], tuple[Worktree, AttemptCommit]] = {}
    errors: list[BaseException] = []

    def work(step: str, attempt: int) -> None:
        try:
            wt = ws.acquire(step, attempt)
            (wt.path / f"{step}-{attempt}.txt").write_text(f"{step} {attempt}\n")
            (wt.path / "a.txt").write_text(f"edited by {step} {attempt}\n")
            results[step, attempt] = (wt, ws.commit_attempt(wt, f"{step} {attempt}"))
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    paths = set()
    for (step, attempt), (wt, done) in results.items():
        paths.add(wt.path)
        assert wt.branch == f"playbill/r1/{step}/{attempt}"
        assert wt.path == ws.worktrees / "r1" / f"{step}-{attempt}"
        assert done.changed == ("a.txt", f"{step}-{attempt}.txt")
        tree = tracked_tree(repo, wt.branch)
        assert tree["a.txt"] == f"edited by {step} {attempt}"
        assert not {n for n in tree if n.endswith(".txt")} - {
            "a.txt",
            "b.txt",
            f"{step}-{attempt}.txt",
        }
    assert len(paths) == 4
    # the user's work tree is untouched and clean
    assert ws.check_clean() == ()
    assert (repo / "a.txt").read_text() == "alpha\n"
    assert git(repo, "rev-parse", "HEAD") == ws.base_commit


def test_acquire_is_idempotent_and_survives_a_deleted_directory(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    wt = ws.acquire("fix", 1)
    (wt.path / "work.txt").write_text("in progress\n")
    again = Workspaces(repo, "r1", base_commit=ws.base_commit).acquire("fix", 1)
    assert again == wt
    assert (again.path / "work.txt").read_text() == "in progress\n"  # kept as is

    done = ws.commit_attempt(wt, "work")
    shutil.rmtree(wt.path)  # a killed run whose directory went away; the branch stays
    back = ws.acquire("fix", 1)
    assert back == wt
    assert (back.path / "work.txt").read_text() == "in progress\n"
    assert git(repo, "rev-parse", wt.branch) == done.commit
    assert ws.commit_attempt(back, "nothing new").commit == done.commit


def test_a_released_worktree_is_never_stood_in_for(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the worktree gone, git must not run in the process's directory instead."""
    ws = Workspaces(repo, "r1")
    wt = ws.acquire("fix", 1)
    ws.release(wt)
    monkeypatch.chdir(repo)
    (repo / "a.txt").write_text("the user's own edit\n")
    with pytest.raises(WorktreeGone) as caught:
        ws.commit_attempt(wt, "attempt")
    assert caught.value.path == str(wt.path)
    assert git(repo, "rev-parse", "HEAD") == ws.base_commit
    assert git(repo, "status", "--porcelain") == "M a.txt"


def test_an_environment_that_redirects_git_is_refused(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    with pytest.raises(GitEnvironment, match="GIT_DIR"):
        Workspaces(repo, "r1")


def test_acquire_refuses_a_foreign_directory_in_its_place(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    place = ws.root / "fix-1"
    place.mkdir(parents=True)
    (place / "stray.txt").write_text("not ours\n")
    with pytest.raises(WorktreeConflict, match="expected playbill's own worktree"):
        ws.acquire("fix", 1)


def test_acquire_from_another_base(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    later = commit_files(repo, {"c.txt": "charlie\n"})
    wt = ws.acquire("next", 1, base=later)
    assert wt.base_commit == later
    assert (wt.path / "c.txt").read_text() == "charlie\n"
    # resuming with a base the branch does not descend from is refused
    other = ws.acquire("other", 1)
    (other.path / "x.txt").write_text("x\n")
    ws.commit_attempt(other, "x")
    with pytest.raises(UnknownCommit):
        ws.acquire("other", 1, base=later)


def test_ids_become_safe_unique_names(repo: Path) -> None:
    ws = Workspaces(repo, "run 1")
    odd = ws.acquire("fix bug/..x", 1)
    named = ws.acquire("integration", 1)  # must not collide with the integration branch
    assert odd.branch == "playbill/run%201/fix%20bug%2F%2E%2Ex/1"
    assert odd.path.parent == ws.root
    assert named.branch != "playbill/run%201/integration"
    found = {(s.step, s.attempt, s.branch) for s in find_stale(repo)}
    assert found == {("fix bug/..x", 1, odd.branch), ("integration", 1, named.branch)}


def test_commit_records_deletions_renames_and_nothing_ignored(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    wt = ws.acquire("edit", 1)
    nothing = ws.commit_attempt(wt, "nothing")
    assert (nothing.commit, nothing.changed) == (ws.base_commit, ())
    (wt.path / "a.txt").unlink()
    (wt.path / "b.txt").rename(wt.path / "src" / "b2.txt")
    (wt.path / "out.log").write_text("ignored\n")
    assert ws.changed_paths(wt) == ("a.txt", "b.txt", "src/b2.txt")
    done = ws.commit_attempt(wt, "edit")
    assert done.changed == ("a.txt", "b.txt", "src/b2.txt")
    assert done.branch == wt.branch
    assert "out.log" not in tracked_tree(repo, done.commit)
    author = git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", done.commit)
    assert author == f"{IDENTITY_NAME} <{IDENTITY_EMAIL}>|{IDENTITY_NAME} <{IDENTITY_EMAIL}>|edit"


def test_changed_paths_sees_committed_staged_and_untracked_work(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    wt = ws.acquire("edit", 1)
    (wt.path / "a.txt").write_text("committed\n")
    ws.commit_attempt(wt, "one")
    (wt.path / "b.txt").write_text("unstaged\n")
    (wt.path / "staged.txt").write_text("staged\n")
    git(wt.path, "add", "staged.txt")
    (wt.path / "src" / "untracked.py").write_text("\n")
    assert ws.changed_paths(wt) == ("a.txt", "b.txt", "src/untracked.py", "staged.txt")


def test_commits_need_no_git_identity_on_the_machine(
    tmp_path: Path, no_global_git_config: Path
) -> None:
    bare_env = tmp_path / "noident"
    bare_env.mkdir()
    git(bare_env, "init", "--quiet")
    (bare_env / "f.txt").write_text("f\n")
    git(bare_env, "add", "f.txt")
    subprocess.run(
        ["git", "-c", "user.name=Someone", "-c", "user.email=s@example.com", "commit", "-qm", "i"],
        cwd=bare_env,
        check=True,
    )
    assert not any(no_global_git_config.iterdir())  # HOME is empty: no global identity
    ws = Workspaces(bare_env, "r1")
    wt = ws.acquire("s", 1)
    (wt.path / "f.txt").write_text("changed\n")
    done = ws.commit_attempt(wt, "attempt")
    assert git(bare_env, "log", "-1", "--format=%ae", done.commit) == IDENTITY_EMAIL
    assert git(bare_env, "config", "--list", "--local").count("user.") == 0


# ------------------------------------------------------------------ cleanup and leftovers


def test_release_and_cleanup_remove_worktrees_and_keep_branches(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    one = ws.acquire("a", 1)
    two = ws.acquire("b", 1)
    ws.release(one)
    ws.release(one)  # idempotent
    assert not one.path.exists() and two.path.exists()
    ws.integrator().tip()  # makes the integration worktree too
    ws.cleanup()
    ws.cleanup()
    assert not ws.root.exists()
    listed = git(repo, "worktree", "list", "--porcelain")
    assert "playbill-worktrees" not in listed
    branches = set(git(repo, "branch", "--format=%(refname:short)").splitlines())
    assert {one.branch, two.branch, "playbill/r1/integration"} <= branches
    assert ws.check_clean() == ()


def test_a_killed_runs_worktrees_are_found_and_removed(repo: Path) -> None:
    killed = Workspaces(repo, "killed")
    a = killed.acquire("a", 1)
    b = killed.acquire("b", 3)
    (b.path / "half-done.txt").write_text("\n")
    killed.integrator().tip()
    live = Workspaces(repo, "live")
    live.acquire("a", 1)
    del killed  # the run died without cleaning up

    stale = find_stale(repo, live_runs={"live"})
    assert [(s.run, s.step, s.attempt, s.branch) for s in stale] == [
        ("killed", "a", 1, a.branch),
        ("killed", "b", 3, b.branch),
        ("killed", None, None, "playbill/killed/integration"),
    ]
    assert stale[0].path == a.path
    assert len(find_stale(repo)) == 4  # with no live runs, every run's are stale

    assert remove_stale(repo, stale) == 3
    assert remove_stale(repo, stale) == 0
    assert find_stale(repo, live_runs={"live"}) == []
    assert len(find_stale(repo)) == 1
    assert git(repo, "rev-parse", "--verify", b.branch)  # the evidence stays
    assert str(b.path) not in git(repo, "worktree", "list", "--porcelain")
