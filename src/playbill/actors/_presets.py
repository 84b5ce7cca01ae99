"""Ready-made backends for the coding-agent CLIs: Claude Code, Codex, Aider.

Each factory returns a ``CliAgentBackend`` that builds the tool's command
line and reads its documented non-interactive output (see
``_preset_claude``, ``_preset_codex`` and ``_preset_aider`` for the formats
relied on). Only ``BASE_ENV``, the tool's usual credential and endpoint
variables (``*_ENV``) and the names in ``env_allow`` reach the tool.
"""

from __future__ import annotations

from collections.abc import Iterable

from playbill.runtime import ROLES, Role

from ._cli_agent import CliAgentBackend
from ._preset_aider import AiderTool
from ._preset_claude import ClaudeCodeTool
from ._preset_codex import CodexTool

CLAUDE_ENV: tuple[str, ...] = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL",
    "CLAUDE_CONFIG_DIR",
    "XDG_CONFIG_HOME",
)
"""Environment variables Claude Code gets besides ``BASE_ENV``."""

CODEX_ENV: tuple[str, ...] = ("OPENAI_API_KEY", "CODEX_API_KEY", "OPENAI_BASE_URL", "CODEX_HOME")
"""Environment variables Codex gets besides ``BASE_ENV``."""

AIDER_ENV: tuple[str, ...] = (
    "OPENAI_API_KEY",
    "OPENAI_API_BASE",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "DEEPSEEK_API_KEY",
    "OPENROUTER_API_KEY",
    "AIDER_MODEL",
)
"""Environment variables aider gets besides ``BASE_ENV``."""

AIDER_ROLES: frozenset[Role] = frozenset({"executor", "reviewer"})
"""What aider can do: edit, or review in ``ask`` mode. It cannot run checks
or plan to a schema reliably."""


def claude_code(
    *,
    executable: str = "claude",
    model: str | None = None,
    roles: Iterable[Role] = ROLES,
    permission_mode: str = "acceptEdits",
    max_turns: int | None = None,
    extra_args: Iterable[str] = (),
    env_allow: Iterable[str] = (),
    timeout_s: float = 1800.0,
    heartbeat_s: float = 5.0,
    kill_grace_s: float = 2.0,
) -> CliAgentBackend:
    """Claude Code (``claude -p <prompt> --output-format stream-json --verbose``).

    Args:
        executable: The program to run.
        model: Its ``--model``.
        roles: The roles it plays (any).
        permission_mode: Its ``--permission-mode`` for work that edits files.
        max_turns: Its ``--max-turns``.
        extra_args: Further arguments.
        env_allow: Further environment variables to pass through.
        timeout_s: Seconds before it is killed.
        heartbeat_s: The least time between two heartbeats, which it sends
            when it shows progress (new lines of output, changes in its
            worktree), and between two scans of its worktree.
        kill_grace_s: Seconds it has to exit after ``SIGTERM``.

    Returns:
        The backend (named ``claude_code``; edits files, reports usage).

    Raises:
        BackendConfigError: An option cannot work.
    """
    tool = ClaudeCodeTool(
        executable=executable,
        model=model,
        permission_mode=permission_mode,
        max_turns=max_turns,
        extra_args=tuple(extra_args),
    )
    return CliAgentBackend(
        tool=tool,
        roles=frozenset(roles),
        allowed_roles=frozenset(ROLES),
        edits_files=True,
        env_allow=(*CLAUDE_ENV, *env_allow),
        timeout_s=timeout_s,
        heartbeat_s=heartbeat_s,
        kill_grace_s=kill_grace_s,
    )


def codex(
    *,
    executable: str = "codex",
    model: str | None = None,
    roles: Iterable[Role] = ROLES,
    output_schema: bool = True,
    price_in_per_mtok: float = 0.0,
    price_out_per_mtok: float = 0.0,
    extra_args: Iterable[str] = (),
    env_allow: Iterable[str] = (),
    timeout_s: float = 1800.0,
    heartbeat_s: float = 5.0,
    kill_grace_s: float = 2.0,
) -> CliAgentBackend:
    """Codex CLI (``codex exec --json <prompt>``).

    Args:
        executable: The program to run.
        model: Its ``--model``.
        roles: The roles it plays (any).
        output_schema: Pass JSON answers' schema with ``--output-schema``.
        price_in_per_mtok: US dollars per million input tokens (Codex
            reports no cost; 0 leaves it unknown).
        price_out_per_mtok: US dollars per million output tokens.
        extra_args: Further arguments (before the prompt).
        env_allow: Further environment variables to pass through.
        timeout_s: Seconds before it is killed.
        heartbeat_s: The least time between two heartbeats, which it sends
            when it shows progress (new lines of output, changes in its
            worktree), and between two scans of its worktree.
        kill_grace_s: Seconds it has to exit after ``SIGTERM``.

    Returns:
        The backend (named ``codex``; edits files, reports usage).

    Raises:
        BackendConfigError: An option cannot work.
    """
    tool = CodexTool(
        executable=executable,
        model=model,
        output_schema=output_schema,
        extra_args=tuple(extra_args),
        price_in_per_mtok=price_in_per_mtok,
        price_out_per_mtok=price_out_per_mtok,
    )
    return CliAgentBackend(
        tool=tool,
        roles=frozenset(roles),
        allowed_roles=frozenset(ROLES),
        edits_files=True,
        env_allow=(*CODEX_ENV, *env_allow),
        timeout_s=timeout_s,
        heartbeat_s=heartbeat_s,
        kill_grace_s=kill_grace_s,
    )


def aider(
    *,
    executable: str = "aider",
    model: str | None = None,
    roles: Iterable[Role] = ("executor",),
    extra_args: Iterable[str] = (),
    env_allow: Iterable[str] = (),
    timeout_s: float = 1800.0,
    heartbeat_s: float = 5.0,
    kill_grace_s: float = 2.0,
) -> CliAgentBackend:
    """Aider (``aider --message <prompt> --yes-always --no-auto-commits ...``).

    Args:
        executable: The program to run.
        model: Its ``--model``.
        roles: The roles it plays: ``executor`` (the default) and
            ``reviewer`` (answering in ``--chat-mode ask``).
        extra_args: Further arguments.
        env_allow: Further environment variables to pass through.
        timeout_s: Seconds before it is killed.
        heartbeat_s: The least time between two heartbeats, which it sends
            when it shows progress (new lines of output, changes in its
            worktree), and between two scans of its worktree.
        kill_grace_s: Seconds it has to exit after ``SIGTERM``.

    Returns:
        The backend (named ``aider``; edits files, reports usage parsed from
        its text).

    Raises:
        BackendConfigError: An option cannot work (a planner or verifier role).
    """
    tool = AiderTool(executable=executable, model=model, extra_args=tuple(extra_args))
    return CliAgentBackend(
        tool=tool,
        roles=frozenset(roles),
        allowed_roles=AIDER_ROLES,
        edits_files=True,
        env_allow=(*AIDER_ENV, *env_allow),
        timeout_s=timeout_s,
        heartbeat_s=heartbeat_s,
        kill_grace_s=kill_grace_s,
    )
