"""The shared git directory under guard: neutralised programs, snapshots, put back, reported."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from git_helpers import calc_project, git
from playbill.backends._sandbox import sandboxed
from playbill.workspaces import GitTampered, Workspaces
from playbill.workspaces._tamper import config_keys, differences, snapshot


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return calc_project(tmp_path / "repo", {})


def marker_program(tmp_path: Path, name: str) -> tuple[str, Path]:
    """A program that leaves a mark when it runs (as a hook, fsmonitor, filter or pager)."""
    mark = tmp_path / f"ran-{name}"
    program = tmp_path / f"{name}.sh"
    program.write_text(f'#!/bin/sh\necho ran >> "{mark}"\ncat\n')
    program.chmod(0o755)
    return str(program), mark


def test_playbill_git_commands_run_no_program_the_repository_configuration_names(
    repo: Path, tmp_path: Path
) -> None:
    marks = []
    for key in ("core.fsmonitor", "core.pager", "core.editor", "gpg.program", "core.askPass"):
        program, mark = marker_program(tmp_path, key.replace(".", "-"))
        git(repo, "config", key, program)
        marks.append(mark)
    hook, hook_mark = marker_program(tmp_path, "hook")
    (repo / ".git" / "hooks" / "pre-commit").symlink_to(hook)
    (repo / ".git" / "hooks" / "post-checkout").symlink_to(hook)
    git(repo, "config", "commit.gpgSign", "true")
    # nobody guards this repository: only the overrides keep the programs out
    ws = Workspaces(repo, "r")
    ws.check_clean()
    wt = ws.acquire("s", 0)
    (wt.path / "calc.py").write_text("changed\n")
    done = ws.commit_attempt(wt, "work")
    assert done.changed == ("calc.py",)
    ws.integrator().apply("s", 0, done.commit, done.base_commit)
    ws.cleanup()
    assert [m.name for m in (*marks, hook_mark) if m.exists()] == []


def test_a_change_while_an_agent_works_is_put_back_and_fails_every_attempt_at_work(
    repo: Path, tmp_path: Path
) -> None:
    ws = Workspaces(repo, "r")
    one = ws.acquire("a", 0)
    ws.begin_work("a", 0)
    ws.begin_work("b", 0)
    before = snapshot(repo / ".git")
    # playbill's own changes while agents work are not tampering
    two = ws.acquire("c", 0)
    ws.begin_work("c", 0)
    program, mark = marker_program(tmp_path, "fsmonitor")
    common = repo / ".git"
    with (common / "config").open("a") as config:
        config.write(f"[core]\n\tfsmonitor = {program}\n")
    (common / "hooks" / "pre-commit").write_text("#!/bin/sh\nexit 0\n")
    (common / "hooks" / "pre-commit").chmod(0o755)
    (common / "hooks" / "pre-push.sample").unlink()
    (common / "info" / "sub").mkdir()
    (common / "info" / "sub" / "attributes").write_text("* filter=evil\n")
    # the next git command of playbill's puts it back first
    assert ws.changed_paths(two) == ()
    assert not mark.exists()
    after = snapshot(common)
    assert {k: v for k, v in after.items() if "worktrees/c-" not in k} == {
        k: v for k, v in before.items() if "worktrees/c-" not in k
    }
    assert not (common / "info" / "sub").exists()
    assert stat.S_IMODE((common / "hooks" / "pre-push.sample").stat().st_mode) == stat.S_IMODE(
        before["hooks/pre-push.sample"][0]
    )
    # each attempt at work then fails, naming what changed
    for step in ("a", "b", "c"):
        with pytest.raises(GitTampered) as caught:
            ws.end_work(step, 0)
        failure = caught.value.failure
        assert (failure.failure_class, failure.kind) == ("validation", "git_tampering")
        assert "config core.fsmonitor set" in failure.detail
        assert "hooks/pre-commit added" in failure.detail
        assert "hooks/pre-push.sample removed" in failure.detail
        assert "info/sub/attributes added" in failure.detail
        assert program not in failure.detail
    # an attempt that starts later is not blamed; nothing is guarded when no one works
    ws.begin_work("d", 0)
    ws.end_work("d", 0)
    git(repo, "config", "user.name", "Someone Else")  # the user's own change, no one working
    ws.begin_work("e", 0)
    ws.end_work("e", 0)
    assert git(repo, "config", "user.name") == "Someone Else"
    del one


def test_another_worktrees_config_is_guarded_too(repo: Path, tmp_path: Path) -> None:
    ws = Workspaces(repo, "r")
    mine, other = ws.acquire("a", 0), ws.acquire("b", 0)
    ws.begin_work("a", 0)
    gitdir = Path((other.path / ".git").read_text().removeprefix("gitdir:").strip())
    with (gitdir / "config.worktree").open("a") as config:
        config.write("[core]\n\thooksPath = /somewhere\n")
    with pytest.raises(GitTampered, match=r"config.worktree core.hookspath set"):
        ws.end_work("a", 0)
    assert "hooksPath" not in (gitdir / "config.worktree").read_text()
    del mine


def test_config_keys_and_differences_name_keys_never_values() -> None:
    text = b'[core]\n\tbare = false\n[filter "evil"]\n\tclean = secret-program # c\n'
    assert set(config_keys(text)) == {"core.bare", "filter.evil.clean"}
    said = differences(
        {"config": (0o100644, b"[core]\n\tbare = false\n")}, {"config": (0o100644, text)}
    )
    assert said == ["config filter.evil.clean set"]
    assert differences({"hooks/x": (0o100755, b"a")}, {"hooks/x": (0o100644, b"a")}) == [
        "hooks/x changed"
    ]


def test_the_bwrap_command_line_keeps_the_agent_in_its_worktree(tmp_path: Path) -> None:
    wt, scratch = tmp_path / "wt", tmp_path / "scratch"
    line = sandboxed(
        ["agent", "--go"],
        sandbox="bwrap",
        cwd=str(wt),
        writable=[scratch],
        tmp=scratch / "tmp",
        network=False,
        extra_writable=["~/.tool"],
    )
    assert line[0] == "bwrap" and line[-3:] == ["--", "agent", "--go"]
    assert "--new-session" not in line and "--unshare-pid" not in line  # the guard's group
    assert line[2:5] == ["--ro-bind", "/", "/"]
    binds = [line[i + 1] for i, arg in enumerate(line) if arg == "--bind"]
    assert binds == [str(scratch.resolve()), str((scratch / "tmp").resolve()), str(wt.resolve())]
    assert "--unshare-net" in line
    assert sandboxed(["agent"], sandbox="none", cwd=str(wt)) == ["agent"]


def test_hooks_replaced_by_a_symlink_and_config_by_a_directory_are_put_back(
    repo: Path, tmp_path: Path
) -> None:
    ws = Workspaces(repo, "r")
    common = repo / ".git"
    before = snapshot(common)
    ws.begin_work("a", 0)
    planted = tmp_path / "planted-hooks"
    planted.mkdir()
    (planted / "pre-commit").write_text("#!/bin/sh\nexit 1\n")
    (common / "hooks").rename(tmp_path / "old-hooks")
    (common / "hooks").symlink_to(planted)
    config = (common / "config").read_bytes()
    (common / "config").unlink()
    (common / "config").mkdir()
    (common / "config" / "x").write_bytes(config)
    with pytest.raises(GitTampered) as caught:
        ws.end_work("a", 0)
    assert "hooks added" in caught.value.summary  # the symlink
    assert snapshot(common) == before
    assert not (common / "hooks").is_symlink()
