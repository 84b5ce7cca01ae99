"""What an agent backend is: the effectful part of an agent.

A role actor hands its backend a ``WorkOrder`` and a ``Reporter``; the backend
does the work (calls an LLM, runs a coding-agent CLI, simulates), sends
heartbeats and usage through the reporter while it works, and returns a
``ResultEnvelope``. The role actor runs it inside a cancel scope, so a backend
must be cancellable at every ``await``.

A backend that fails in a way it understands raises ``BackendError`` with a
typed ``Failure``; anything else it raises is a crash of the agent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal, Protocol, final

import attrs

from playbill.runtime import (
    AgentSpec,
    Failure,
    PlaybillError,
    ProcessInfo,
    ResultEnvelope,
    Role,
    StepSpec,
    Usage,
)
from playbill.workspaces import pattern_problem


def role_set(value: Iterable[Role]) -> frozenset[Role]:
    """Roles as a frozen set (an attrs converter that type checkers follow)."""
    return frozenset(value)


def string_tuple(value: Iterable[str]) -> tuple[str, ...]:
    """Strings as a tuple (an attrs converter that type checkers follow)."""
    return tuple(value)


WorkKind = Literal["work", "review", "verify"]
"""What is asked of the agent: do the step, review an attempt, or verify one."""


@final
@attrs.frozen
class Capabilities:
    """What a backend can do; the supervisor never assigns it anything else.

    Attributes:
        roles: The roles it can play.
        edits_files: Whether it changes files (may take steps with a scope).
        reports_usage: Whether it reports tokens and cost.
        structured_output: Whether it returns typed results without parsing prose.
        tool_files: Gitignore patterns of the files its tool writes for
            itself in the directory it works in (caches, histories, local
            state), and those the plan adds (``ignore``). They are ignored
            in the attempt's worktree, so never committed; editors' swap
            files (``playbill.workspaces.EDITOR_FILES``) always are. A file
            the repository tracks is committed when it changes, whatever
            the patterns say.
    """

    roles: frozenset[Role]
    edits_files: bool = False
    reports_usage: bool = True
    structured_output: bool = True
    tool_files: tuple[str, ...] = attrs.field(default=(), converter=string_tuple)


@final
@attrs.frozen
class WorkOrder:
    """One piece of work for a backend.

    Attributes:
        run_id: The run.
        agent: The agent doing the work.
        role: The role it plays.
        kind: Do the step, review an attempt, or verify one.
        step: The step as planned.
        attempt: The attempt number (of the step's attempt being worked on,
            reviewed or verified).
        feedback: The previous attempt's failure, to do better this time.
        subject: For a review or verification: the result under scrutiny.
        workspace: The directory the work happens in, for real runs.
        view: What ``workspace`` holds when it is a view of the repository
            (a planner's copy at the base commit, a verifier step's copy of
            the integration branch), for the prompt; empty for a worktree.
    """

    run_id: str
    agent: str
    role: Role
    kind: WorkKind
    step: StepSpec
    attempt: int
    feedback: Failure | None = None
    subject: ResultEnvelope | None = None
    workspace: str | None = None
    view: str = ""


class Reporter(Protocol):
    """How a backend tells the run it is alive and what it consumed."""

    async def heartbeat(self, progress: str = "") -> None:
        """Journal a heartbeat for the work in hand."""

    async def usage(self, usage: Usage) -> None:
        """Journal resources consumed since the last report."""

    async def process_started(self, process: ProcessInfo) -> None:
        """Journal a process the work started (see ``ProcessStarted``).

        A backend that starts processes reports each one as soon as it runs,
        so that a run resumed after its runner died can find it and kill it.
        """


class AgentBackend(Protocol):
    """The effectful part of an agent."""

    @property
    def name(self) -> str:
        """A short name, as plans refer to it (``simulated``, ``command``...)."""

    @property
    def capabilities(self) -> Capabilities:
        """What this backend can do."""

    async def run(self, order: WorkOrder, report: Reporter) -> ResultEnvelope:
        """Do the work and return its result.

        Raises:
            BackendError: The work failed in a way the backend understands.
        """


class BackendError(PlaybillError):
    """A backend failed with a typed reason (timeout, malformed output...).

    Attributes:
        failure: Why, with its failure class.
        usage: What the failed work still consumed.
    """

    def __init__(self, failure: Failure, usage: Usage | None = None) -> None:
        super().__init__(f"{failure.failure_class}/{failure.kind}: {failure.detail}")
        self.failure = failure
        self.usage = usage if usage is not None else Usage()


class CapabilityError(PlaybillError):
    """An agent of the plan asks of its backend what the backend cannot do.

    Attributes:
        agent: The agent.
        backend: Its backend's name.
        missing: What is missing, for humans (roles, editing files).
    """

    def __init__(self, agent: str, backend: str, missing: str) -> None:
        super().__init__(f"agent {agent!r}: its backend {backend!r} {missing}")
        self.agent = agent
        self.backend = backend
        self.missing = missing


def check_capabilities(agent: AgentSpec, backend: AgentBackend) -> None:
    """Refuse an agent whose plan asks for roles or edits its backend cannot give.

    The supervisor assigns an agent only what its plan entry allows, so a
    backend that covers the entry is never given work it cannot do.

    Raises:
        CapabilityError: A role it cannot play, or ``edits_files`` on a
            backend that does not edit files.
    """
    can = backend.capabilities
    roles = [r for r in agent.roles if r not in can.roles]
    if roles:
        raise CapabilityError(agent.id, backend.name, f"cannot play {', '.join(roles)}")
    if agent.edits_files and not can.edits_files and "executor" in agent.roles:
        raise CapabilityError(
            agent.id, backend.name, "does not edit files (set edits_files = false)"
        )


def check_ignore(backend: str, patterns: Iterable[str]) -> None:
    """Refuse ignore patterns that are not gitignore patterns on one line.

    Raises:
        BackendConfigError: One is not (``pattern_problem`` says why), at
            option ``ignore``.
    """
    for pattern in patterns:
        problem = pattern_problem(pattern)
        if problem is not None:
            raise BackendConfigError(backend, "ignore", problem)


class BackendConfigError(PlaybillError):
    """A backend was given options that cannot work.

    Attributes:
        backend: The backend's name.
        option: The option at fault.
        detail: What is wrong with it.
    """

    def __init__(self, backend: str, option: str, detail: str) -> None:
        super().__init__(f"{backend} backend: {option}: {detail}")
        self.backend = backend
        self.option = option
        self.detail = detail


BackendFactory = Callable[[AgentSpec], AgentBackend]
"""Makes the backend of each agent of the plan."""
