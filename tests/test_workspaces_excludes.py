"""Files agent tools write for themselves are ignored in the attempt's worktree, and there alone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from git_helpers import git
from playbill.workspaces import EDITOR_FILES, Workspaces, pattern_problem

AIDER = (".aider*",)


@pytest.fixture(autouse=True)
def no_global_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME, no system git config, and a data directory of the test's own."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_GLOBAL"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository that tracks ``.aider.conf.yml`` and ``notes.txt~``, which patterns match."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "config", "user.name", "Test User")
    git(path, "config", "user.email", "test@example.com")
    files = {
        "calc.py": "x = 1\n",
        ".aider.conf.yml": "model: one\n",
        "notes.txt~": "a backup the project keeps\n",
        ".gitignore": "*.log\n",
    }
    for name, content in files.items():
        (path / name).write_text(content)
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "initial")
    return path


def litter(where: Path) -> None:
    """What aider, an editor and Emacs leave behind."""
    (where / ".aider.tags.cache.v4").mkdir()
    (where / ".aider.tags.cache.v4" / "cache.db").write_text("tags\n")
    (where / ".aider.chat.history.md").write_text("# chat\n")
    (where / ".calc.py.swp").write_text("swap\n")
    (where / "calc.py~").write_text("backup\n")
    (where / ".#calc.py").write_text("lock\n")
    (where / "#calc.py#").write_text("auto-save\n")


def config(where: Path, name: str) -> str:
    """A git configuration value, or "" when it is not set."""
    done = subprocess.run(
        ["git", "config", "--get", name], cwd=where, capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def status(where: Path) -> list[str]:
    """``git status`` as anyone would run it there (no option of playbill's)."""
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=where,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def test_tool_and_editor_files_are_ignored_in_the_worktree_and_never_committed(
    repo: Path,
) -> None:
    ws = Workspaces(repo, "r1")
    wt = ws.acquire("fix", 1, ignore=AIDER)
    litter(wt.path)
    (wt.path / "calc.py").write_text("x = 2\n")
    assert status(wt.path) == [" M calc.py"]  # git itself, run by anyone, ignores them
    assert ws.changed_paths(wt) == ("calc.py",)
    done = ws.commit_attempt(wt, "fix")
    assert done.changed == ("calc.py",)
    assert git(repo, "show", "--name-only", "--format=", done.commit) == "calc.py"
    assert (wt.path / ".aider.tags.cache.v4" / "cache.db").exists()  # left where they were


def test_the_users_work_tree_and_info_exclude_are_untouched(repo: Path) -> None:
    info = repo / ".git" / "info" / "exclude"
    before = info.read_bytes() if info.exists() else None
    wt = Workspaces(repo, "r1").acquire("fix", 1, ignore=AIDER)
    litter(wt.path)
    litter(repo)  # the same files in the user's own tree are not ignored there
    assert set(status(repo)) == {
        "?? .aider.chat.history.md",
        "?? .aider.tags.cache.v4/cache.db",
        "?? .calc.py.swp",
        "?? calc.py~",
        "?? .#calc.py",
        "?? #calc.py#",
    }
    assert (info.read_bytes() if info.exists() else None) == before
    assert config(repo, "core.excludesFile") == ""


def test_a_tracked_file_matching_a_pattern_is_committed_as_a_real_change(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    wt = ws.acquire("config", 1, ignore=AIDER)
    (wt.path / ".aider.conf.yml").write_text("model: two\n")
    (wt.path / "notes.txt~").unlink()
    assert sorted(status(wt.path)) == [" D notes.txt~", " M .aider.conf.yml"]
    done = ws.commit_attempt(wt, "config")
    assert done.changed == (".aider.conf.yml", "notes.txt~")
    assert git(repo, "show", f"{done.commit}:.aider.conf.yml") == "model: two"


def test_the_users_own_excludes_still_apply(repo: Path, no_global_git_config: Path) -> None:
    ignore = no_global_git_config / ".config" / "git" / "ignore"  # git's default place
    ignore.parent.mkdir(parents=True)
    ignore.write_text("*.secret\n")
    ws = Workspaces(repo, "r1")
    wt = ws.acquire("fix", 1, ignore=AIDER)
    (wt.path / "token.secret").write_text("s3cr3t\n")
    (wt.path / "calc.py").write_text("x = 3\n")
    assert status(wt.path) == [" M calc.py"]
    assert ws.commit_attempt(wt, "fix").changed == ("calc.py",)

    configured = no_global_git_config / "my-ignore"  # core.excludesFile, wherever it is
    configured.write_text("*.private\n")
    git(repo, "config", "core.excludesFile", str(configured))
    ws2 = Workspaces(repo, "r2")
    wt2 = ws2.acquire("fix", 1)
    (wt2.path / "notes.private").write_text("mine\n")
    assert status(wt2.path) == []
    assert ws2.commit_attempt(wt2, "nothing").changed == ()


def test_each_worktree_ignores_what_its_own_agent_writes(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    aider = ws.acquire("a", 1, ignore=AIDER)
    other = ws.acquire("b", 1, ignore=(".cache/",))
    for wt in (aider, other):
        (wt.path / ".aider.chat.history.md").write_text("# chat\n")
        (wt.path / ".cache").mkdir()
        (wt.path / ".cache" / "x").write_text("x\n")
    assert status(aider.path) == ["?? .cache/x"]
    assert status(other.path) == ["?? .aider.chat.history.md"]
    assert ws.commit_attempt(aider, "a").changed == (".cache/x",)
    assert ws.commit_attempt(other, "b").changed == (".aider.chat.history.md",)


def test_what_an_agent_does_to_the_ignore_rules_does_not_change_its_commit(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    wt = ws.acquire("fix", 1, ignore=AIDER)
    litter(wt.path)
    (wt.path / "calc.py").write_text("x = 4\n")
    # the agent rewrites its exclude file and drops the worktree's setting
    exclude = Path(git(wt.path, "config", "--worktree", "--get", "core.excludesFile"))
    assert exclude.name == "playbill-exclude" and ".git" in exclude.parts
    exclude.write_text("")
    git(wt.path, "config", "--worktree", "--unset", "core.excludesFile")
    assert ws.commit_attempt(wt, "fix").changed == ("calc.py",)


def test_without_per_worktree_configuration_playbill_still_commits_only_the_work(
    repo: Path,
) -> None:
    # The extension would apply core.worktree to every worktree: playbill leaves it off.
    git(repo, "config", "core.worktree", str(repo))
    ws = Workspaces(repo, "r1")
    wt = ws.acquire("fix", 1, ignore=AIDER)
    assert config(repo, "extensions.worktreeConfig") == ""
    litter(wt.path)
    (wt.path / "calc.py").write_text("x = 5\n")
    assert ws.changed_paths(wt) == ("calc.py",)
    assert ws.commit_attempt(wt, "fix").changed == ("calc.py",)


def test_restore_keeps_ignored_files_and_throws_the_rest_away(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    wt = ws.acquire("fix", 1, ignore=AIDER)
    (wt.path / "calc.py").write_text("x = 6\n")
    done = ws.commit_attempt(wt, "fix")
    review = ws.acquire("fix", 1, ignore=(".claude/",))  # a reviewer of another tool
    (review.path / ".claude").mkdir()
    (review.path / ".claude" / "state.json").write_text("{}\n")
    (review.path / "stray.txt").write_text("\n")
    assert ws.restore(review, done.commit) == ("stray.txt",)
    assert (review.path / ".claude" / "state.json").exists()
    assert not (review.path / "stray.txt").exists()


def test_bad_patterns_are_refused(repo: Path) -> None:
    for good in (".aider*", ".cache/", "/CLAUDE.local.md", "build/**/*.o", *EDITOR_FILES):
        assert pattern_problem(good) is None, good
    ws = Workspaces(repo, "r1")
    for bad in ("", " x", "x ", "# comment", "!negated", "a\nb", "a\rb"):
        assert pattern_problem(bad) is not None, bad
        with pytest.raises(ValueError, match="expected a gitignore pattern on one line"):
            ws.acquire("fix", 1, ignore=(".aider*", bad))
