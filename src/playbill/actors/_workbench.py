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
from playbill.runtime import (
    Evidence,
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
    Workspaces,
    Worktree,
    check_scope,
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
        if known is not None:
            base: str | None = known.base_commit
        elif step.depends_on:
            base = await trio.to_thread.run_sync(self.integrator.tip)
        else:
            base = None
        wt = await trio.to_thread.run_sync(
            partial(self.workspaces.acquire, step.id, attempt, base, ignore=ignore)
        )
        return wt, known is None

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
        """
        message = f"{step.id} (attempt {wt.attempt}): {step.goal}"[:2000]
        done: AttemptCommit = await trio.to_thread.run_sync(
            self.workspaces.commit_attempt, wt, message
        )
        outside = check_scope(done.changed, step.scope)
        if outside:
            raise ScopeViolation(str(self.workspaces.repo_path), step.id, wt.attempt, outside)
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
