"""Integration compared with a simple model, on real git repositories.

Random sequences of scripted attempts (a step, writes and deletions on a
small universe of one-line files, accepted or not) are made in worktrees and
the accepted ones applied in order. A dictionary ``path -> content`` follows
the same edits: an attempt's patch applies exactly when every path it
changes is still as the base had it (one-line files leave no room for a
merge), conflicted attempts change nothing, and the integration branch ends
up holding exactly the model's files. The report survives the journal.

Each example makes a repository and runs tens of git commands, so these
tests take a share of the profile's ``max_examples``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import attrs
import msgspec
import pytest
from hypothesis import Phase, event, given, settings
from hypothesis import strategies as st

from playbill.runtime import WorkspaceMerged
from playbill.workspaces import MergeItem, MergeReport, Workspaces

pytestmark = pytest.mark.slow

UNIVERSE = ("a.txt", "b.txt", "d/c.txt", "d/e.txt")
BASE = {"a.txt": "a0\n", "b.txt": "b0\n"}
CONTENTS = ("x\n", "y\n", "a0\n")  # "a0" as a new file's content tempts rename detection
STEPS = ("build", "docs", "integration")


@attrs.frozen
class Scripted:
    """One attempt: what it writes (None deletes) and whether it is accepted."""

    step: str
    edits: dict[str, str | None]
    accepted: bool

    def changes(self) -> dict[str, str | None]:
        """What differs from the base after the edits."""
        return {p: c for p, c in self.edits.items() if c != BASE.get(p)}


scripted = st.builds(
    Scripted,
    step=st.sampled_from(STEPS),
    edits=st.dictionaries(
        st.sampled_from(UNIVERSE), st.one_of(st.none(), st.sampled_from(CONTENTS)), max_size=3
    ),
    accepted=st.booleans(),
)


@pytest.fixture(scope="module", autouse=True)
def no_global_git_config() -> Iterator[None]:
    with tempfile.TemporaryDirectory() as home, pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", home)
        mp.setenv("XDG_CONFIG_HOME", home)
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_GLOBAL"):
            mp.delenv(name, raising=False)
        yield


def make_repo(path: Path) -> None:
    for name, content in BASE.items():
        (path / name).write_text(content)
    ident = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    for argv in (["init", "--quiet"], ["add", "--all"], [*ident, "commit", "--quiet", "-m", "i"]):
        subprocess.run(["git", *argv], cwd=path, check=True, capture_output=True, timeout=30)


def files_of(worktree: Path) -> dict[str, str]:
    found = {}
    for root, dirs, names in os.walk(worktree):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            if name != ".git":
                path = Path(root, name)
                found[path.relative_to(worktree).as_posix()] = path.read_text()
    return found


def a_share(share: float) -> settings:
    """A share of the profile's examples, without the explain phase (it replays many repos)."""
    profile = settings.default
    assert profile is not None
    return settings(
        max_examples=max(5, int(profile.max_examples * share)),
        phases=[phase for phase in Phase if phase is not Phase.explain],
    )


@a_share(0.7)
@given(st.lists(scripted, min_size=1, max_size=6))
def test_integration_follows_the_model(attempts: list[Scripted]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        make_repo(repo)
        ws = Workspaces(repo, "prop")
        it = ws.integrator()
        tip = it.tip()
        assert tip == ws.base_commit
        model = dict(BASE)
        items: list[MergeItem] = []
        commits = []
        numbers: dict[str, int] = {}
        for script in attempts:
            n = numbers[script.step] = numbers.get(script.step, 0) + 1
            wt = ws.acquire(script.step, n)
            for name, content in script.edits.items():
                path = wt.path / name
                if content is None:
                    path.unlink(missing_ok=True)
                else:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(content)
            done = ws.commit_attempt(wt, f"{script.step} {n}")
            changes = script.changes()
            commits.append(done)
            assert set(done.changed) == set(changes)
            if not script.accepted:
                items.append(it.block(script.step, n, "not accepted"))
                continue
            item = it.apply(script.step, n, done.commit, done.base_commit)
            items.append(item)
            event(f"an attempt {item.status}" + (" with no changes" if not changes else ""))
            if not changes:
                assert item == MergeItem(script.step, n, "applied", tip, "no changes")
            elif all(model.get(p) == BASE.get(p) for p in changes):
                assert item.status == "applied", item
                assert item.commit is not None
                tip = item.commit
                for name, content in changes.items():
                    if content is None:
                        del model[name]
                    else:
                        model[name] = content
            else:
                assert item.status == "conflicted", (item, model)
                assert it.tip() == tip
                assert item.detail.startswith("the patch does not apply to: ")
                named = set(item.detail.removeprefix("the patch does not apply to: ").split(", "))
                assert named <= set(changes)
            assert files_of(it.path) == model
        assert files_of(it.path) == model

        # applying an attempt again changes nothing
        for item, done in zip(items, commits, strict=True):
            if item.status == "applied" and item.detail != "no changes":
                again = it.apply(item.step, item.attempt, done.commit, done.base_commit)
                assert again == item
                assert it.tip() == tip
                break

        # the report survives the journal
        report = MergeReport(tuple(items), into=it.branch)
        wire = [msgspec.json.encode(i.to_message(it.branch)) for i in items]
        back = MergeReport.from_messages(msgspec.json.decode(w, type=WorkspaceMerged) for w in wire)
        assert back == report
        assert back.render() == report.render()
        assert len(report.applied) + len(report.conflicted) + len(report.blocked) == len(items)
