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
from ._preset_aider import ENV as AIDER_FIXED_ENV
from ._preset_aider import AiderTool
from ._preset_claude import ClaudeCodeTool
from ._preset_codex import CodexTool

CLAUDE_ENV: tuple[str, ...] = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "CLAUDE_CODE_SUBAGENT_MODEL",
    "CLAUDE_CONFIG_DIR",
    "XDG_CONFIG_HOME",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
    "DISABLE_TELEMETRY",
    "DISABLE_ERROR_REPORTING",
    "IS_SANDBOX",
)
"""Environment variables Claude Code gets besides ``BASE_ENV``: credentials
(an API key, a gateway's token, or the OAuth token of ``claude setup-token``),
the endpoint and models, where its configuration lives, its switches for
telemetry and other non-essential traffic, and ``IS_SANDBOX`` (the user's
word that the machine is a sandbox, which ``bypassPermissions`` needs when
run as root)."""

CLAUDE_SETTINGS: dict[str, str] = {"DISABLE_AUTOUPDATER": "1"}
"""Set for Claude Code whatever the environment says: a tool that updates
itself mid-run would no longer be the release playbill checked."""

CODEX_ENV: tuple[str, ...] = ("OPENAI_API_KEY", "CODEX_API_KEY", "CODEX_HOME")
"""Environment variables Codex gets besides ``BASE_ENV`` (and its ``env_key``).

Not ``OPENAI_BASE_URL``: Codex ignores it (another endpoint is a provider:
``base_url``)."""

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
    allow_untested_version: bool = False,
    sandbox: str = "none",
    sandbox_network: bool = True,
    sandbox_writable: Iterable[str] = (),
    ignore: Iterable[str] = (),
) -> CliAgentBackend:
    """Claude Code (``claude -p <prompt> --output-format stream-json --verbose ...``).

    Args:
        executable: The program to run.
        model: Its ``--model``.
        roles: The roles it plays (any).
        permission_mode: Its ``--permission-mode`` for work that edits files
            (``acceptEdits``, ``auto``, ``bypassPermissions``, ``dontAsk``,
            ``default`` or ``manual``).
        max_turns: Its ``--max-turns``.
        extra_args: Further arguments (not the output format, which is
            playbill's).
        env_allow: Further environment variables to pass through.
        timeout_s: Seconds before it is killed.
        heartbeat_s: The least time between two heartbeats, which it sends
            when it shows progress (new lines of output, changes in its
            worktree), and between two scans of its worktree.
        kill_grace_s: Seconds it has to exit after ``SIGTERM``.
        allow_untested_version: Run a release outside the tested range
            (``SUPPORTED`` of its module) instead of refusing it.
        sandbox: ``bwrap`` to run the tool sandboxed (see
            ``CliAgentBackend``); ``none`` by default.
        sandbox_network: In the sandbox, whether the tool keeps the network.
        sandbox_writable: In the sandbox, further paths the tool may write
            (its own state: ``~/.claude``, ``~/.codex``...).
        ignore: Gitignore patterns of further files it writes for itself
            where it works, ignored there besides the tool's own.

    Returns:
        The backend (named ``claude_code``; edits files, reports usage;
        ignores ``.claude/settings.local.json`` and ``CLAUDE.local.md``).

    Raises:
        BackendConfigError: An option cannot work (an unknown permission
            mode, ``extra_args`` that change the output format).
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
        allow_untested_version=allow_untested_version,
        sandbox=sandbox,
        sandbox_network=sandbox_network,
        sandbox_writable=tuple(sandbox_writable),
        env=CLAUDE_SETTINGS,
        ignore=ignore,
    )


def codex(
    *,
    executable: str = "codex",
    model: str | None = None,
    roles: Iterable[Role] = ROLES,
    provider: str | None = None,
    base_url: str | None = None,
    env_key: str | None = None,
    full_access: bool = False,
    output_schema: bool = True,
    price_in_per_mtok: float = 0.0,
    price_cached_in_per_mtok: float | None = None,
    price_out_per_mtok: float = 0.0,
    extra_args: Iterable[str] = (),
    env_allow: Iterable[str] = (),
    timeout_s: float = 1800.0,
    heartbeat_s: float = 5.0,
    kill_grace_s: float = 2.0,
    allow_untested_version: bool = False,
    sandbox: str = "none",
    sandbox_network: bool = True,
    sandbox_writable: Iterable[str] = (),
    ignore: Iterable[str] = (),
) -> CliAgentBackend:
    """Codex CLI (``codex exec --json <prompt>``).

    Args:
        executable: The program to run.
        model: Its ``--model``.
        roles: The roles it plays (any).
        provider: The model provider's id: the one defined for
            ``base_url`` (``playbill`` when not given), or without
            ``base_url`` one of Codex's own (``ollama``...) or of the
            user's ``config.toml``. Neither: the user's configured provider
            (and their login).
        base_url: The base URL of a Responses API to use (``http://host/v1``).
        env_key: The environment variable holding the key for
            ``base_url``; it is passed through, and its value is redacted.
        full_access: Run without Codex's sandbox (``--sandbox
            danger-full-access``), for hosts where it cannot start.
        output_schema: Pass JSON answers' schema with ``--output-schema``.
        price_in_per_mtok: US dollars per million input tokens (Codex
            reports no cost; 0 leaves it unknown).
        price_cached_in_per_mtok: US dollars per million cached input
            tokens (``price_in_per_mtok`` when not given).
        price_out_per_mtok: US dollars per million output tokens.
        extra_args: Further arguments (before the prompt).
        env_allow: Further environment variables to pass through.
        timeout_s: Seconds before it is killed.
        heartbeat_s: The least time between two heartbeats, which it sends
            when it shows progress (new lines of output, changes in its
            worktree), and between two scans of its worktree.
        kill_grace_s: Seconds it has to exit after ``SIGTERM``.
        allow_untested_version: Run a release outside the tested range
            (``SUPPORTED`` of its module) instead of refusing it.
        sandbox: ``bwrap`` to run the tool sandboxed (see
            ``CliAgentBackend``); ``none`` by default.
        sandbox_network: In the sandbox, whether the tool keeps the network.
        sandbox_writable: In the sandbox, further paths the tool may write
            (its own state: ``~/.claude``, ``~/.codex``...).
        ignore: Gitignore patterns of further files it writes for itself
            where it works, ignored there besides the tool's own.

    Returns:
        The backend (named ``codex``; edits files, reports usage).

    Raises:
        BackendConfigError: An option cannot work.
    """
    tool = CodexTool(
        executable=executable,
        model=model,
        provider=provider,
        base_url=base_url,
        env_key=env_key,
        full_access=full_access,
        output_schema=output_schema,
        extra_args=tuple(extra_args),
        price_in_per_mtok=price_in_per_mtok,
        price_cached_in_per_mtok=price_cached_in_per_mtok,
        price_out_per_mtok=price_out_per_mtok,
    )
    key = (env_key,) if env_key is not None else ()
    return CliAgentBackend(
        tool=tool,
        roles=frozenset(roles),
        allowed_roles=frozenset(ROLES),
        edits_files=True,
        env_allow=(*CODEX_ENV, *key, *env_allow),
        secret_env=key,
        timeout_s=timeout_s,
        heartbeat_s=heartbeat_s,
        kill_grace_s=kill_grace_s,
        allow_untested_version=allow_untested_version,
        sandbox=sandbox,
        sandbox_network=sandbox_network,
        sandbox_writable=tuple(sandbox_writable),
        ignore=ignore,
    )


def aider(
    *,
    executable: str = "aider",
    model: str | None = None,
    roles: Iterable[Role] = ("executor",),
    edit_format: str | None = None,
    stream: bool = True,
    extra_args: Iterable[str] = (),
    env_allow: Iterable[str] = (),
    timeout_s: float = 1800.0,
    heartbeat_s: float = 5.0,
    kill_grace_s: float = 2.0,
    allow_untested_version: bool = False,
    sandbox: str = "none",
    sandbox_network: bool = True,
    sandbox_writable: Iterable[str] = (),
    ignore: Iterable[str] = (),
) -> CliAgentBackend:
    """Aider (``aider --message-file <prompt> --yes-always --no-auto-commits ...``).

    Args:
        executable: The program to run.
        model: Its ``--model``.
        roles: The roles it plays: ``executor`` (the default) and
            ``reviewer`` (answering in ``--chat-mode ask``).
        edit_format: Its ``--edit-format`` for work that edits; the model's
            usual one when ``None``.
        stream: Stream the model's replies: progress on its output while
            the model writes, and tokens as aider counts them; ``False``
            gives the provider's counts and silence during each call.
        extra_args: Further arguments (none that sets what the preset sets:
            the prompt, the model, the edit format, streaming, its logs,
            committing).
        env_allow: Further environment variables to pass through.
        timeout_s: Seconds before it is killed.
        heartbeat_s: The least time between two heartbeats, which it sends
            when it shows progress (new lines of output, changes in its
            worktree), and between two scans of its worktree.
        kill_grace_s: Seconds it has to exit after ``SIGTERM``.
        allow_untested_version: Run a release outside the tested range
            (``SUPPORTED`` of its module) instead of refusing it.
        sandbox: ``bwrap`` to run the tool sandboxed (see
            ``CliAgentBackend``); ``none`` by default.
        sandbox_network: In the sandbox, whether the tool keeps the network.
        sandbox_writable: In the sandbox, further paths the tool may write
            (its own state: ``~/.claude``, ``~/.codex``...).
        ignore: Gitignore patterns of further files it writes for itself
            where it works, ignored there besides the tool's own.

    Returns:
        The backend (named ``aider``; edits files, reports usage parsed from
        its text; ignores ``.aider*``).

    Raises:
        BackendConfigError: An option cannot work (a planner or verifier
            role, extra arguments that set what the preset sets).
    """
    tool = AiderTool(
        executable=executable,
        model=model,
        edit_format=edit_format,
        stream=stream,
        extra_args=tuple(extra_args),
    )
    return CliAgentBackend(
        tool=tool,
        roles=frozenset(roles),
        allowed_roles=AIDER_ROLES,
        edits_files=True,
        env_allow=(*AIDER_ENV, *env_allow),
        env=dict(AIDER_FIXED_ENV),
        timeout_s=timeout_s,
        heartbeat_s=heartbeat_s,
        kill_grace_s=kill_grace_s,
        allow_untested_version=allow_untested_version,
        sandbox=sandbox,
        sandbox_network=sandbox_network,
        sandbox_writable=tuple(sandbox_writable),
        ignore=ignore,
    )
