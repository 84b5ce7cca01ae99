"""The options of the coding-agent CLIs' backends: Claude Code, Codex, Aider.

Each backend's options are one frozen attrs class (``ClaudeCodeOptions``,
``CodexOptions``, ``AiderOptions``), declared once: the keys of a plan's
``[agents.options]`` table, with their types (checked when the plan loads,
``playbill.backends._option_types``), defaults and meaning. ``build`` makes
the ``CliAgentBackend``, which holds the options whole (the factories of
``_presets`` call it). Only ``BASE_ENV``, the tool's usual credential and
endpoint variables (``*_ENV``) and the names in ``env_allow`` reach the tool.
"""

# No ``from __future__ import annotations``: the plan loader reads the
# ``Annotated`` metadata of each option's type, which must not be a string.

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, final

import attrs

from playbill.runtime import ROLES, Role

from ._backend import string_tuple
from ._cli_agent import CliAgentBackend, CliTool
from ._option_types import (
    BEATS,
    AtLeastOne,
    EnvName,
    IgnorePattern,
    Price,
    Prose,
    ProviderId,
    Sandbox,
    Seconds,
    SecondsOrNone,
    Silence,
    Url,
)
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


def _shared_last(cls: type, fields: "list[attrs.Attribute[Any]]") -> "list[attrs.Attribute[Any]]":
    """A preset's own options first, then the ones every CLI has: the order its plans list them."""
    shared = attrs.fields_dict(_CliAgentOptions)
    return [*(f for f in fields if f.name not in shared), *(f for f in fields if f.name in shared)]


@attrs.frozen(kw_only=True)
class _CliAgentOptions:
    """The options every coding-agent CLI's agent has (``CliOptions``), after its own.

    Each preset's options class (``ClaudeCodeOptions``...) declares and
    documents its own options, which come before these (``_shared_last``).

    Attributes:
        env_allow: Environment variables passed through besides the basic
            ones and the tool's own (its credentials, endpoint and settings).
        timeout_s: Seconds before it is killed.
        heartbeat_s: The least time between two heartbeats, which it sends
            when it shows progress (new lines of output, changes in its
            worktree), and between two scans of its worktree.
        kill_grace_s: Seconds it has to exit after ``SIGTERM``.
        allow_untested_version: Run a release of the tool outside the
            range its preset was tested with, instead of refusing it.
        ignore: Gitignore patterns of further files it writes for itself
            where it works, never committed (besides the tool's own and
            editors' swap files).
        sandbox: ``bwrap`` to run it in a bubblewrap sandbox: only its
            worktree, its scratch directory and a private ``/tmp`` are
            writable (see docs/security-git.md); ``none`` by default.
        sandbox_network: In the sandbox, whether it keeps the network.
        sandbox_writable: In the sandbox, further paths it may write
            (``~`` expanded; missing ones are skipped).
    """

    edits: ClassVar[bool] = True
    env_allow: tuple[EnvName, ...] = attrs.field(default=(), converter=string_tuple)
    timeout_s: Seconds = attrs.field(default=1800.0, converter=float)
    heartbeat_s: Seconds = attrs.field(default=5.0, converter=float)
    kill_grace_s: SecondsOrNone = attrs.field(default=2.0, converter=float)
    allow_untested_version: bool = False
    ignore: tuple[IgnorePattern, ...] = attrs.field(default=(), converter=string_tuple)
    sandbox: Sandbox = "none"
    sandbox_network: bool = True
    sandbox_writable: tuple[str, ...] = attrs.field(default=(), converter=string_tuple)

    def silences(self) -> tuple[Silence, ...]:
        """How long it may show no progress while it works (``heartbeat_s``)."""
        return (("heartbeat_s", self.heartbeat_s, BEATS),)


@final
@attrs.frozen(kw_only=True, field_transformer=_shared_last)
class ClaudeCodeOptions(_CliAgentOptions):
    """The options of a ``claude_code`` agent (``claude -p``): its ``[agents.options]``.

    Its own, then the ones every CLI has (``env_allow``, ``timeout_s``,
    ``sandbox``...). Besides ``env_allow``, it gets ``CLAUDE_ENV``
    (``ANTHROPIC_API_KEY``...); besides ``ignore``,
    ``.claude/settings.local.json`` and ``CLAUDE.local.md`` are never committed.

    Attributes:
        executable: The program to run.
        model: Its ``--model``; the tool's default when ``None``.
        permission_mode: Its ``--permission-mode`` for work that edits files
            (``acceptEdits``, ``auto``, ``bypassPermissions``, ``dontAsk``,
            ``default``, ``manual``; ``plan`` never edits).
        max_turns: Its ``--max-turns``, when given.
        extra_args: Further arguments, after the others (not ``-p`` or
            ``--output-format``: playbill reads its stream-json output).
    """

    backend: ClassVar[str] = "claude_code"
    plays: ClassVar[frozenset[Role]] = frozenset(ROLES)
    executable: Prose = "claude"
    model: Prose | None = None
    permission_mode: Prose = "acceptEdits"
    max_turns: AtLeastOne | None = None
    extra_args: tuple[str, ...] = attrs.field(default=(), converter=string_tuple)

    def build(self, roles: Iterable[Role] = ROLES, edits_files: bool = True) -> CliAgentBackend:
        """The backend, playing ``roles`` (it always edits files).

        Raises:
            BackendConfigError: An option cannot work (an unknown permission
                mode, ``extra_args`` that change the output format).
        """
        tool = ClaudeCodeTool(
            executable=self.executable,
            model=self.model,
            permission_mode=self.permission_mode,
            max_turns=self.max_turns,
            extra_args=self.extra_args,
        )
        return _backend(self, tool, roles, CLAUDE_ENV, env=CLAUDE_SETTINGS)


@final
@attrs.frozen(kw_only=True, field_transformer=_shared_last)
class CodexOptions(_CliAgentOptions):
    """The options of a ``codex`` agent (``codex exec --json``): its ``[agents.options]``.

    Its own, then the ones every CLI has (``env_allow``, ``timeout_s``,
    ``sandbox``...). Besides ``env_allow``, it gets ``CODEX_ENV``
    (``OPENAI_API_KEY``...) and ``env_key``.

    Attributes:
        executable: The program to run.
        model: Its ``--model``; the tool's default when ``None``.
        provider: The model provider: the id given to ``base_url``'s
            (``playbill`` when not given), or, without ``base_url``, one of
            Codex's own or of the user's ``config.toml``. Neither: the
            user's configured provider and login.
        base_url: The base URL of a Responses API (``http://host/v1``) to
            use, passed as a model provider (Codex ignores ``OPENAI_BASE_URL``).
        env_key: The name of the environment variable holding
            ``base_url``'s key (passed through; its value is redacted).
        full_access: Run without Codex's sandbox (``--sandbox
            danger-full-access``), where its sandbox cannot start.
        output_schema: Pass JSON answers' schema with ``--output-schema``.
        price_in_per_mtok: US dollars per million input tokens (Codex
            reports no cost; 0 leaves it unknown).
        price_cached_in_per_mtok: US dollars per million cached input
            tokens; ``price_in_per_mtok`` when not given.
        price_out_per_mtok: US dollars per million output tokens.
        extra_args: Further arguments, before the prompt.
    """

    backend: ClassVar[str] = "codex"
    plays: ClassVar[frozenset[Role]] = frozenset(ROLES)
    executable: Prose = "codex"
    model: Prose | None = None
    provider: ProviderId | None = None
    base_url: Url | None = None
    env_key: EnvName | None = None
    full_access: bool = False
    output_schema: bool = True
    price_in_per_mtok: Price = attrs.field(default=0.0, converter=float)
    price_cached_in_per_mtok: Price | None = attrs.field(
        default=None, converter=attrs.converters.optional(float)
    )
    price_out_per_mtok: Price = attrs.field(default=0.0, converter=float)
    extra_args: tuple[str, ...] = attrs.field(default=(), converter=string_tuple)

    def build(self, roles: Iterable[Role] = ROLES, edits_files: bool = True) -> CliAgentBackend:
        """The backend, playing ``roles`` (it always edits files).

        Raises:
            BackendConfigError: An option cannot work.
        """
        tool = CodexTool(
            executable=self.executable,
            model=self.model,
            provider=self.provider,
            base_url=self.base_url,
            env_key=self.env_key,
            full_access=self.full_access,
            output_schema=self.output_schema,
            extra_args=self.extra_args,
            price_in_per_mtok=self.price_in_per_mtok,
            price_cached_in_per_mtok=self.price_cached_in_per_mtok,
            price_out_per_mtok=self.price_out_per_mtok,
        )
        key = (self.env_key,) if self.env_key is not None else ()
        return _backend(self, tool, roles, (*CODEX_ENV, *key), secret_env=key)


@final
@attrs.frozen(kw_only=True, field_transformer=_shared_last)
class AiderOptions(_CliAgentOptions):
    """The options of an ``aider`` agent (``aider --message-file``): its ``[agents.options]``.

    Aider edits, or reviews in ``--chat-mode ask``; it cannot plan or verify.
    Its tokens and cost come from its own usage reports. Its own options,
    then the ones every CLI has (``env_allow``, ``timeout_s``, ``sandbox``...).
    Besides ``env_allow``, it gets ``AIDER_ENV`` (``OPENAI_API_KEY``,
    ``ANTHROPIC_API_KEY``...); besides ``ignore``, ``.aider*`` is never committed.

    Attributes:
        executable: The program to run.
        model: Its ``--model``; the tool's default when ``None``.
        edit_format: Its ``--edit-format`` for work that edits (``diff``,
            ``whole``...); the model's usual one when ``None``.
        stream: Stream the model's replies (progress while it writes,
            tokens as aider counts them) or not (the provider's counts).
        extra_args: Further arguments (none that sets the prompt, the model,
            the edit format, streaming, aider's logs or committing).
    """

    backend: ClassVar[str] = "aider"
    plays: ClassVar[frozenset[Role]] = AIDER_ROLES
    executable: Prose = "aider"
    model: Prose | None = None
    edit_format: Prose | None = None
    stream: bool = True
    extra_args: tuple[str, ...] = attrs.field(default=(), converter=string_tuple)

    def build(
        self, roles: Iterable[Role] = ("executor",), edits_files: bool = True
    ) -> CliAgentBackend:
        """The backend, playing ``roles`` (it always edits files).

        Raises:
            BackendConfigError: An option cannot work (a planner or verifier
                role, extra arguments that set what the preset sets).
        """
        tool = AiderTool(
            executable=self.executable,
            model=self.model,
            edit_format=self.edit_format,
            stream=self.stream,
            extra_args=self.extra_args,
        )
        return _backend(self, tool, roles, AIDER_ENV, env=dict(AIDER_FIXED_ENV))


def _backend(
    options: ClaudeCodeOptions | CodexOptions | AiderOptions,
    tool: CliTool,
    roles: Iterable[Role],
    tool_env: tuple[str, ...],
    *,
    env: Mapping[str, str] | None = None,
    secret_env: tuple[str, ...] = (),
) -> CliAgentBackend:
    """The ``CliAgentBackend`` running ``tool`` with ``options``; ``tool_env`` is the tool's own."""
    return CliAgentBackend(
        options=options,
        tool=tool,
        roles=frozenset(roles),
        tool_env=tool_env,
        secret_env=secret_env,
        env={} if env is None else env,
    )
