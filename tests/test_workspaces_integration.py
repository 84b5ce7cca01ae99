"""Integration on real repositories: patches onto the run's branch, then a fast-forward."""

from __future__ import annotations

from pathlib import Path

import pytest

from playbill.runtime import WorkspaceMerged
from playbill.workspaces import (
    IDENTITY_EMAIL,
    AttemptCommit,
    DetachedHead,
    DirtyTree,
    Integrator,
    MergeItem,
    MergeReport,
    NotFastForward,
    UnknownCommit,
    Workspaces,
    integrate_into,
)
from test_workspaces import commit_files, git, no_global_git_config, repo, tracked_tree

__all__ = ["no_global_git_config", "repo"]  # fixtures, used by name


def attempt(ws: Workspaces, step: str, n: int, files: dict[str, str | None]) -> AttemptCommit:
    """An attempt that writes (or, for None, deletes) files and commits."""
    wt = ws.acquire(step, n)
    for name, content in files.items():
        path = wt.path / name
        if content is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    return ws.commit_attempt(wt, f"{step} {n}")


def apply(it: Integrator, step: str, n: int, done: AttemptCommit) -> MergeItem:
    return it.apply(step, n, done.commit, done.base_commit)


def test_accepted_attempts_are_applied_in_order(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    it = ws.integrator()
    one = attempt(ws, "one", 1, {"a.txt": "alpha 2\n", "new/one.txt": "1\n"})
    two = attempt(ws, "two", 1, {"b.txt": None})
    first = apply(it, "one", 1, one)
    second = apply(it, "two", 1, two)
    assert (first.status, second.status) == ("applied", "applied")
    assert it.tip() == second.commit
    assert git(repo, "rev-parse", it.branch) == second.commit
    assert git(repo, "rev-parse", f"{second.commit}^") == first.commit
    assert git(repo, "rev-parse", f"{first.commit}^") == ws.base_commit
    assert tracked_tree(repo, it.branch) == {
        ".gitignore": "*.log\nbuild/",
        "a.txt": "alpha 2",
        "new/one.txt": "1",
        "src/app.py": "print('hi')",
    }
    message = git(repo, "log", "-1", "--format=%ae%n%B", second.commit)
    assert message.splitlines()[0] == IDENTITY_EMAIL
    assert "Playbill-Attempt: r1/two/1" in message.splitlines()
    assert it.branch == "playbill/r1/integration"
    assert it.path.parent == ws.root
    assert ws.check_clean() == ()  # never onto the user's branch
    assert git(repo, "rev-parse", "main") == ws.base_commit


def test_a_conflict_leaves_the_branch_unchanged_and_names_the_paths(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    it = ws.integrator()
    one = attempt(ws, "one", 1, {"a.txt": "one's alpha\n", "c.txt": "one\n"})
    two = attempt(ws, "two", 1, {"a.txt": "two's alpha\n", "c.txt": "two\n", "d.txt": "d\n"})
    applied = apply(it, "one", 1, one)
    tip = it.tip()
    conflicted = apply(it, "two", 1, two)
    assert conflicted == MergeItem(
        step="two",
        attempt=1,
        status="conflicted",
        detail="the patch does not apply to: a.txt, c.txt",
    )
    assert it.tip() == tip == applied.commit
    assert git(it.path, "status", "--porcelain") == ""  # nothing half-applied
    assert not (it.path / "d.txt").exists()


def test_reapplying_is_idempotent_even_from_a_new_integrator(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    it = ws.integrator()
    one = attempt(ws, "one", 1, {"a.txt": "alpha 2\n"})
    two = attempt(ws, "one", 2, {"b.txt": "bravo 2\n"})
    first = apply(it, "one", 1, one)
    apply(it, "one", 2, two)
    tip = it.tip()
    assert apply(it, "one", 1, one) == first
    resumed = Integrator(repo, "r1", base_commit=ws.base_commit)  # after a kill
    assert apply(resumed, "one", 1, one) == first
    assert resumed.tip() == tip


def test_a_killed_apply_leaves_no_staged_work_behind(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    it = ws.integrator()
    tip = it.tip()
    (it.path / "a.txt").write_text("half applied\n")
    git(it.path, "add", "a.txt")
    resumed = Integrator(repo, "r1", base_commit=ws.base_commit)
    one = attempt(ws, "one", 1, {"b.txt": "bravo 2\n"})
    item = apply(resumed, "one", 1, one)
    assert item.status == "applied"
    assert git(repo, "rev-parse", f"{item.commit}^") == tip
    assert tracked_tree(repo, it.branch)["a.txt"] == "alpha"


def test_an_empty_attempt_is_applied_as_no_changes(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    it = ws.integrator()
    empty = attempt(ws, "noop", 1, {})
    assert empty.commit == ws.base_commit
    assert apply(it, "noop", 1, empty) == MergeItem(
        "noop", 1, "applied", commit=ws.base_commit, detail="no changes"
    )


def test_binary_files_renames_and_modes_are_applied(repo: Path) -> None:
    ws = Workspaces(repo, "r1")
    it = ws.integrator()
    wt = ws.acquire("bin", 1)
    blob = bytes(range(256)) * 4
    (wt.path / "image.bin").write_bytes(blob)
    (wt.path / "a.txt").rename(wt.path / "moved.txt")
    (wt.path / "src" / "app.py").chmod(0o755)
    done = ws.commit_attempt(wt, "bin")
    assert done.changed == ("a.txt", "image.bin", "moved.txt", "src/app.py")
    item = it.apply("bin", 1, done.commit, done.base_commit)
    assert item.status == "applied"
    assert git(repo, "diff", "--stat", done.commit, it.branch) == ""
    assert (it.path / "image.bin").read_bytes() == blob


def test_renaming_a_file_another_attempt_changed_conflicts(repo: Path) -> None:
    """A bare rename would carry the other attempt's change along unseen."""
    ws = Workspaces(repo, "r1")
    it = ws.integrator()
    change = attempt(ws, "change", 1, {"a.txt": "changed\n"})
    wt = ws.acquire("move", 1)
    (wt.path / "a.txt").rename(wt.path / "moved.txt")
    move = ws.commit_attempt(wt, "move")
    assert apply(it, "change", 1, change).status == "applied"
    item = apply(it, "move", 1, move)
    assert item.status == "conflicted"
    assert "a.txt" in item.detail
    assert not (it.path / "moved.txt").exists()


def test_block_records_without_touching_the_branch(repo: Path) -> None:
    it = Integrator(repo, "r1")
    item = it.block("later", 1, "depends on 'one', which conflicted")
    assert item == MergeItem("later", 1, "blocked", detail="depends on 'one', which conflicted")
    assert git(repo, "branch", "--list", "playbill/*") == ""


def test_unknown_commits_are_refused(repo: Path) -> None:
    it = Integrator(repo, "r1")
    with pytest.raises(UnknownCommit):
        it.apply("s", 1, "f" * 40, it.base_commit)


# ------------------------------------------------------------------ the report


def test_items_round_trip_through_journal_messages() -> None:
    items = (
        MergeItem("one", 1, "applied", commit="a" * 40),
        MergeItem("two", 2, "conflicted", detail="the patch does not apply to: a.txt"),
        MergeItem("three", 1, "blocked", detail="depends on two"),
        MergeItem("four", 1, "applied", commit="b" * 40, detail="no changes"),
    )
    into = "playbill/r1/integration"
    messages = [i.to_message(into) for i in items]
    assert messages[1] == WorkspaceMerged(
        step="two",
        attempt=2,
        status="conflicted",
        into=into,
        commit=None,
        detail="the patch does not apply to: a.txt",
    )
    report = MergeReport.from_messages(messages)
    assert report == MergeReport(items, into=into)
    assert [i.step for i in report.applied] == ["one", "four"]
    assert [i.step for i in report.conflicted] == ["two"]
    assert [i.step for i in report.blocked] == ["three"]
    text = report.render()
    assert text.splitlines()[0] == (
        "integration into playbill/r1/integration: 2 applied, 1 conflicted, 1 blocked"
    )
    assert len(text.splitlines()) == 5
    assert "aaaaaaaaaaaa" in text and "the patch does not apply to: a.txt" in text
    assert MergeReport(()).render() == "integration: 0 applied, 0 conflicted, 0 blocked"


# ------------------------------------------------------------------ onto the user's branch


def integrated(repo: Path, run: str) -> tuple[Workspaces, str]:
    ws = Workspaces(repo, run)
    it = ws.integrator()
    done = attempt(ws, "one", 1, {"a.txt": "integrated\n", "new.txt": "new\n"})
    item = apply(it, "one", 1, done)
    assert item.commit is not None
    return ws, item.commit


def test_integrate_into_fast_forwards_the_checked_out_branch(repo: Path) -> None:
    _, tip = integrated(repo, "r1")
    assert integrate_into(repo, "r1") == tip
    assert git(repo, "rev-parse", "main") == tip
    assert (repo / "a.txt").read_text() == "integrated\n"
    assert (repo / "new.txt").read_text() == "new\n"
    assert git(repo, "status", "--porcelain") == ""
    assert integrate_into(repo, "r1") == tip  # already there: nothing to do


def test_integrate_into_a_branch_that_is_not_checked_out(repo: Path) -> None:
    git(repo, "branch", "release")
    _, tip = integrated(repo, "r1")
    assert integrate_into(repo, "r1", branch="release") == tip
    assert git(repo, "rev-parse", "release") == tip
    assert (repo / "a.txt").read_text() == "alpha\n"  # main and its tree did not move


def test_integrate_into_refuses_a_branch_that_moved_on(repo: Path) -> None:
    integrated(repo, "r1")
    moved = commit_files(repo, {"b.txt": "the user kept working\n"})
    with pytest.raises(NotFastForward) as caught:
        integrate_into(repo, "r1")
    assert (caught.value.branch, caught.value.integration) == ("main", "playbill/r1/integration")
    assert "git merge playbill/r1/integration" in str(caught.value)
    assert str(repo) in str(caught.value)
    assert git(repo, "rev-parse", "main") == moved


def test_integrate_into_refuses_a_dirty_tree(repo: Path) -> None:
    _, tip = integrated(repo, "r1")
    (repo / "scratch.txt").write_text("mine\n")
    with pytest.raises(DirtyTree) as caught:
        integrate_into(repo, "r1")
    assert caught.value.paths == ("scratch.txt",)
    assert git(repo, "rev-parse", "main") != tip


def test_integrate_into_needs_a_branch_and_an_integration(repo: Path) -> None:
    with pytest.raises(UnknownCommit, match="integration branch of run 'nope'"):
        integrate_into(repo, "nope")
    integrated(repo, "r1")
    with pytest.raises(UnknownCommit, match="an existing branch"):
        integrate_into(repo, "r1", branch="no-such-branch")
    git(repo, "checkout", "--quiet", "--detach")
    with pytest.raises(DetachedHead, match="name the branch"):
        integrate_into(repo, "r1")
