"""The real world of a run: its repository, the attempts' worktrees, integration.

A run on a real repository gets a ``Workbench``. Role actors use it to put
each executor attempt in a worktree of its own (``workspace_created``), to
commit what the agent did there and check it against the step's scope, and
to find the worktree of an attempt under review or verification. The
integrator actor uses it to apply accepted attempts onto the run's
integration branch. Git is blocking, so every call runs in a worker thread.

Where an attempt starts: a step with no dependencies starts from the run's
base commit; a step with dependencies starts from the integration branch's
tip, which holds its dependencies' work (a step completes only once its work
is integrated). Two steps that touch the same file without depending on each
other then meet at integration, where the second one's patch may conflict.
An attempt a step was handed on to (``handoff_recorded``, the cooperative
strategy) starts from the commit of the attempt it was handed on from, so
the next agent finds the work the handoff describes; its base stays the
first one's, so its changes since then (both agents' work) are checked
against the scope and integrated together.

Planner and verifier steps work in a view instead (``make_view``): a planner
in a read-only copy of the repository at the run's base commit, a verifier
step in a copy of the integration branch as the steps it depends on left it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Final, final

import attrs
import trio
from msgspec.structs import replace

from playbill._redact import Redactor
from playbill.backends import BackendError
from playbill.runtime import (
    Evidence,
    Failure,
    ImplementationPayload,
    ResultEnvelope,
    RunState,
    StepSpec,
)
from playbill.workspaces import (
    AttemptCommit,
    Integrator,
    MergeItem,
    ScopeViolation,
    SecretFound,
    Workspaces,
    Worktree,
    check_scope,
    find_secret,
    make_view,
    remove_view,
)

REPO_LABEL: Final = "repo"
"""The run label that names the repository a real run works on."""

BASE_LABEL: Final = "base_commit"
"""The run label that holds the commit a real run started from."""

WORKTREES_LABEL: Final = "worktrees"
"""The run label that holds the directory of worktrees a real run started with."""


@final
@attrs.define(eq=False, init=False)
class Workbench:
    """A run's repository: worktrees per attempt, and the integration branch.

    Attributes:
        workspaces: The attempts' worktrees.
        integrator: The integration branch.
        redactor: Keeps secrets out of what is journaled.
    """

    workspaces: Workspaces
    integrator: Integrator
    redactor: Redactor

    def __init__(
        self,
        repo: str | os.PathLike[str],
        run_id: str,
        *,
        base_commit: str | None = None,
        redactor: Redactor | None = None,
        worktrees: str | os.PathLike[str] | None = None,
    ) -> None:
        """Open the workbench of a run on a repository (blocking: call before the run).

        Args:
            repo: The top directory of the repository's work tree.
            run_id: The run.
            base_commit: The commit the run started from; HEAD for a new run,
                the journaled one (``labels["base_commit"]``) on resume.
            redactor: Secret values to keep out of the journal; those of the
                environment by default.
            worktrees: The directory that holds the attempts' worktrees (of
                this and other repositories); by default
                ``${XDG_DATA_HOME:-~/.local/share}/playbill/worktrees``. A
                resumed run passes the journaled one
                (``labels["worktrees"]``).

        Raises:
            WorkspaceError: Not a repository, no commits, unknown base, a
                directory of worktrees inside the work tree or a ``.git``
                directory (``WorktreesRefused``).
        """
        workspaces = Workspaces(repo, run_id, base_commit=base_commit, worktrees=worktrees)
        self.__attrs_init__(
            workspaces,
            workspaces.integrator(),
            redactor if redactor is not None else Redactor.from_environ(),
        )

    @property
    def labels(self) -> dict[str, str]:
        """The run labels that let a resumed run find its repository, base and worktrees again."""
        return {
            REPO_LABEL: str(self.workspaces.repo_path),
            BASE_LABEL: self.workspaces.base_commit,
            WORKTREES_LABEL: str(self.workspaces.worktrees_dir),
        }

    @property
    def integration_branch(self) -> str:
        """The run's integration branch."""
        return self.integrator.branch

    async def enter(
        self, state: RunState, step: StepSpec, attempt: int, ignore: Sequence[str] = ()
    ) -> tuple[Worktree, bool]:
        """The worktree of an executor's attempt, and whether it is new to the journal.

        On resume the worktree journaled for the attempt is found again where
        it is, its files kept — a run journaled by an older playbill has it
        under ``.git/playbill-worktrees`` — or re-made from its branch, among
        the run's worktrees, if its directory is gone. ``ignore`` are the
        patterns of the files the agent's tool writes for itself
        (``Capabilities.tool_files``), ignored in the worktree.
        """
        known = state.workspaces.get(f"{step.id}#{attempt}")
        start: str | None = None
        handed = None if known is not None else _handed_on_from(state, step.id, attempt)
        if known is not None:
            base: str | None = known.base_commit
        elif handed is not None:
            base, start = handed
        elif step.depends_on:
            base = await trio.to_thread.run_sync(self.integrator.tip)
        else:
            base = None
        wt = await trio.to_thread.run_sync(
            partial(self.workspaces.acquire, step.id, attempt, base, ignore=ignore, start=start)
        )
        return wt, known is None

    async def view(self, step: StepSpec, attempt: int) -> tuple[Path, str] | None:
        """A view of the repository for a planner's or a verifier step's own work, and what it is.

        ``None`` for other steps (an executor's attempt has a worktree).
        """
        if step.role == "planner":
            commit = self.workspaces.base_commit
            what = f"a read-only copy of the repository at the run's base commit `{commit}`"
            read_only = True
        elif step.role == "verifier":
            commit = await trio.to_thread.run_sync(self.integrator.tip)
            what = (
                f"a copy of the run's integration branch `{self.integrator.branch}` at "
                f"`{commit}`: the run's base commit with the work of the steps this one "
                "depends on applied"
            )
            read_only = False
        else:
            return None
        path = await trio.to_thread.run_sync(
            partial(make_view, self.workspaces, step.id, attempt, commit, read_only=read_only)
        )
        return path, what

    async def drop_view(self, path: Path) -> None:
        """Remove a view once its attempt ended."""
        await trio.to_thread.run_sync(remove_view, path)

    async def worktree_of(
        self, state: RunState, step: str, attempt: int, ignore: Sequence[str] = ()
    ) -> Path | None:
        """The worktree of an attempt under review or verification, if it had one.

        It is put back at the attempt's commit first: a reviewer or verifier
        sees exactly the work that integration would apply, whatever was
        written there since (files ignored there stay, those of the
        reviewer's or verifier's tool, ``ignore``, among them).
        """
        known = state.workspaces.get(f"{step}#{attempt}")
        if known is None:
            return None
        wt = await trio.to_thread.run_sync(
            partial(self.workspaces.acquire, step, attempt, known.base_commit, ignore=ignore)
        )
        found = state.steps.get(step)
        tried = found.attempt(attempt) if found is not None else None
        payload = tried.result.payload if tried is not None and tried.result is not None else None
        if isinstance(payload, ImplementationPayload) and payload.commit is not None:
            await trio.to_thread.run_sync(self.workspaces.restore, wt, payload.commit)
        return wt.path

    async def begin_work(self, step: str, attempt: int, worker: str) -> None:
        """An agent starts working on an attempt: the shared git directory is guarded."""
        await trio.to_thread.run_sync(self.workspaces.begin_work, step, attempt, worker)

    async def end_work(self, step: str, attempt: int, worker: str) -> None:
        """The agent stopped: check the shared git directory (see ``Workspaces.end_work``).

        Raises:
            GitTampered: It was changed while the agent worked; it was put back.
        """
        await trio.to_thread.run_sync(self.workspaces.end_work, step, attempt, worker)

    async def finish(self, wt: Worktree, step: StepSpec, result: ResultEnvelope) -> ResultEnvelope:
        """Commit an attempt's work, check its scope, and put the commit in its result.

        Raises:
            ScopeViolation: It changed files outside the step's scope.
            BackendError: ``validation``/``secret_in_diff``: its file names,
                commit messages or added lines hold a secret the run knows.
        """
        message = f"{step.id} (attempt {wt.attempt}): {step.goal}"[:2000]
        done: AttemptCommit = await trio.to_thread.run_sync(
            self.workspaces.commit_attempt, wt, message
        )
        outside = check_scope(done.changed, step.scope)
        if outside:
            raise ScopeViolation(str(self.workspaces.repo_path), step.id, wt.attempt, outside)
        if self.redactor.secrets:
            found = await trio.to_thread.run_sync(
                partial(
                    find_secret,
                    self.workspaces.repo_path,
                    wt.path,
                    done.base_commit,
                    done.commit,
                    done.changed,
                    self.redactor.find,
                )
            )
            if found is not None:
                raise BackendError(_secret_in_diff(found, wt.attempt, done.branch))
        payload = result.payload
        if not isinstance(payload, ImplementationPayload):
            return result
        proof = Evidence(
            kind="commit",
            ref=done.commit,
            detail=f"{len(done.changed)} file(s) changed on {done.branch}",
        )
        return replace(
            result,
            payload=replace(payload, changed_files=done.changed, commit=done.commit),
            evidence=(*result.evidence, proof),
        )

    async def merge(self, state: RunState, step: str, attempt: int) -> MergeItem:
        """Apply an accepted attempt onto the integration branch (idempotent)."""
        known = state.workspaces.get(f"{step}#{attempt}")
        found = state.steps.get(step)
        tried = found.attempt(attempt) if found is not None else None
        if known is None or tried is None or tried.result is None:
            reason = f"attempt {attempt} of {step!r} has no workspace or no result"
            return self.integrator.block(step, attempt, reason)
        payload = tried.result.payload
        commit = payload.commit if isinstance(payload, ImplementationPayload) else None
        return await trio.to_thread.run_sync(
            self.integrator.apply, step, attempt, commit or known.base_commit, known.base_commit
        )

    async def close(self) -> None:
        """Remove the run's worktrees (their branches stay, as evidence)."""
        await trio.to_thread.run_sync(self.workspaces.cleanup)


def _secret_in_diff(found: SecretFound, attempt: int, branch: str) -> Failure:
    """The failure of an attempt whose work holds a secret: where, never what."""
    detail = (
        f"attempt {attempt} wrote the value of {found.secret} into {found.where} "
        f"(on branch {branch}); nothing of it is integrated"
    )
    return Failure(failure_class="validation", kind="secret_in_diff", detail=detail)


def _handed_on_from(state: RunState, step: str, attempt: int) -> tuple[str, str] | None:
    """The base and the commit an attempt handed on from another starts at, if it was.

    It was when a handoff to its agent is journaled between the previous
    attempt's assignment and its own, and the previous attempt committed
    work in a worktree.
    """
    found = state.steps.get(step)
    if found is None:
        return None
    this, last = found.attempt(attempt), found.attempt(attempt - 1)
    if this is None or last is None or last.result is None:
        return None
    handed = any(
        h.step == step
        and h.to_agent == this.agent
        and last.assigned_seq < h.seq < this.assigned_seq
        for h in state.handoffs
    )
    payload = last.result.payload
    before = state.workspaces.get(f"{step}#{attempt - 1}")
    if not handed or before is None or not isinstance(payload, ImplementationPayload):
        return None
    if payload.commit is None:
        return None
    return before.base_commit, payload.commit
