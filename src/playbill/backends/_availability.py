"""Whether each agent's program can start, checked before a run starts.

A coding-agent CLI (``CliAgentBackend``) must be installed at a release its
preset supports (``probe`` reads ``--version``); a ``command`` agent's
``argv[0]`` must resolve to an executable file. Every other backend (the
in-process ones: simulated, scripted, ``openai``, ``checks``) has no program
and is never checked, and the check then does no I/O at all (a simulated
run's schedule, and so its journal, does not change).

``open_run`` refuses a run whose agent cannot start (``AgentUnavailableError``)
before it journals anything, instead of failing the agent's first step and
waiting for a person; ``playbill run`` and ``resume`` check before they
touch the journal, and ``playbill doctor`` reports the same facts.
"""

from __future__ import annotations

import os
import shutil
import string
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, final

import attrs
import trio

from playbill.runtime import PlaybillError

from ._agent_process import agent_env
from ._backend import AgentBackend
from ._cli_agent import CliAgentBackend
from ._command import CommandBackend
from ._sandbox import missing_sandbox, sandbox_program
from ._tool_version import ToolVersionError, Version

PROBE_TIMEOUT_S = 60.0
"""Seconds a program has to answer ``--version`` (aider imports a lot first)."""

UnavailableReason = Literal[
    "not_found", "not_executable", "no_version", "unsupported_version", "no_sandbox"
]
"""Why an agent's program cannot start: it is not there, it is not an
executable file, it printed no release (or could not be run), or its release
is not one its preset supports, or the sandbox its options ask for
(``sandbox = "bwrap"``) is not installed."""


@final
@attrs.frozen
class Unavailable:
    """One agent whose program cannot start.

    Attributes:
        agent: The agent's id.
        backend: Its backend's name.
        executable: The program, as configured.
        reason: Why, for code.
        detail: Why, for people (one line).
        found: The release it reported, when one was read.
    """

    agent: str
    backend: str
    executable: str
    reason: UnavailableReason
    detail: str
    found: Version | None = None

    def __str__(self) -> str:
        return f"agent {self.agent!r} ({self.backend}) cannot start: {self.detail}"


class AgentUnavailableError(PlaybillError):
    """Agents of the plan cannot start: a program is missing or of an unsupported release.

    The string form has one line per agent.

    Attributes:
        unavailable: Each agent that cannot start, in the plan's order.
    """

    def __init__(self, unavailable: Sequence[Unavailable]) -> None:
        super().__init__("\n".join(str(u) for u in unavailable))
        self.unavailable = tuple(unavailable)


@final
@attrs.frozen
class Resolved:
    """Where a program is, or why it is not there.

    Attributes:
        program: The program as configured.
        path: The executable file it names, when there is one.
        reason: Why there is none: ``not_found`` or ``not_executable``.
    """

    program: str
    path: Path | None
    reason: Literal["not_found", "not_executable"] | None = None

    @property
    def detail(self) -> str:
        """What is wrong, in a few words (empty when it resolved)."""
        if self.reason == "not_found":
            where = "" if os.sep in self.program else " on PATH"
            return f"{self.program}: not found{where}"
        if self.reason == "not_executable":
            return f"{self.program}: not an executable file"
        return ""


def resolve_program(program: str, *, path_env: str | None, base: Path | None) -> Resolved:
    """The executable file ``program`` names, as ``exec`` would find it.

    Args:
        program: A name looked up on ``path_env``, or a path (relative ones
            against ``base``, the directory the program runs in).
        path_env: The ``PATH`` the program is started with.
        base: The directory relative paths start from.

    Returns:
        Its path, or why there is none (``base`` is ``None`` for a relative
        path: then it is taken as found, unchecked).
    """
    if os.sep not in program:
        found = shutil.which(program, path=path_env if path_env is not None else os.defpath)
        if found is not None:
            return Resolved(program, Path(found))
        on_path = any(
            (Path(d) / program).exists() for d in (path_env or os.defpath).split(os.pathsep) if d
        )
        return Resolved(program, None, "not_executable" if on_path else "not_found")
    path = Path(program).expanduser()
    if not path.is_absolute():
        if base is None:
            return Resolved(program, path)
        path = base / path
    if not path.exists():
        return Resolved(program, None, "not_found")
    if not path.is_file() or not os.access(path, os.X_OK):
        return Resolved(program, None, "not_executable")
    return Resolved(program, path)


def command_program(backend: CommandBackend) -> str | None:
    """The program a ``command`` backend starts; ``None`` when it can be told only at run time.

    ``/bin/sh`` for a shell line; ``argv[0]`` unless it holds a placeholder.
    """
    if backend.options.shell:
        return "/bin/sh"
    first = backend.options.argv[0]
    if any(field is not None for _, field, _, _ in string.Formatter().parse(first)):
        return None
    return first.replace("{{", "{").replace("}}", "}")


async def unavailable(
    agent: str, backend: AgentBackend, *, base: Path | None, timeout_s: float = PROBE_TIMEOUT_S
) -> Unavailable | None:
    """Why ``agent``'s program cannot start, or ``None`` when it can (or it has none).

    Args:
        agent: The agent's id.
        backend: Its backend.
        base: The directory relative program paths start from (the
            repository), or ``None`` to leave them unchecked.
        timeout_s: Seconds a coding-agent CLI has to answer ``--version``.
    """
    match backend:
        case CliAgentBackend():
            env_allow, sandbox = backend.passed_env, backend.options.sandbox
        case CommandBackend():
            env_allow, sandbox = backend.options.env_allow, backend.options.sandbox
        case _:
            return None  # in-process: nothing to start
    env_path = agent_env(env_allow).get("PATH")
    no_sandbox = missing_sandbox(sandbox, env_path)
    if no_sandbox is not None:
        wanted = sandbox_program(sandbox) or sandbox
        return Unavailable(agent, backend.name, wanted, "no_sandbox", no_sandbox)
    if isinstance(backend, CliAgentBackend):
        program = backend.tool.executable
    else:
        found = command_program(backend)
        if found is None:
            return None
        program = found
    where = resolve_program(program, path_env=env_path, base=base)
    if where.reason is not None:
        return Unavailable(agent, backend.name, program, where.reason, where.detail)
    if not isinstance(backend, CliAgentBackend):
        return None
    with trio.move_on_after(timeout_s):
        try:
            await backend.probe()
        except ToolVersionError as bad:
            reason: UnavailableReason = (
                "unsupported_version" if bad.found is not None else "no_version"
            )
            detail = f"{bad.executable}: {bad.detail}"
            return Unavailable(agent, backend.name, program, reason, detail, bad.found)
        return None
    detail = f"{program}: `--version` did not answer within {timeout_s:g} s"
    return Unavailable(agent, backend.name, program, "no_version", detail)


async def require_startable(
    agents: Sequence[tuple[str, AgentBackend]],
    *,
    base: Path | None = None,
    timeout_s: float = PROBE_TIMEOUT_S,
) -> None:
    """Refuse agents whose program cannot start, every one at once.

    Args:
        agents: Each agent's id and backend, in the plan's order.
        base: The directory relative program paths start from.
        timeout_s: Seconds a coding-agent CLI has to answer ``--version``.

    Raises:
        AgentUnavailableError: A program is missing, not executable, prints
            no release, or its release is unsupported.
    """
    found = []
    for agent, backend in agents:
        problem = await unavailable(agent, backend, base=base, timeout_s=timeout_s)
        if problem is not None:
            found.append(problem)
    if found:
        raise AgentUnavailableError(found)
