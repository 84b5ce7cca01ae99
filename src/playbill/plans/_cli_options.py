"""The ``[agents.options]`` tables of the coding-agent CLIs: ``claude_code``, ``codex``, ``aider``.

Like the other backends' tables (``playbill.plans._backends``), each is key
for key its preset factory (``playbill.actors.claude_code``...), with the
factory's defaults, and says what its backend can do (``plays``,
``edits``). ``option_kwargs`` turns any table into its factory's keyword
arguments.
"""

# No ``from __future__ import annotations``: the loader reads the
# ``Annotated`` metadata of each attribute's type, which must not be a string.

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, ClassVar, Literal, final

import attrs
from attrs import AttrsInstance

from playbill.actors import AgentBackend, aider, claude_code, codex
from playbill.actors._preset_aider import AiderTool
from playbill.actors._presets import AIDER_ROLES
from playbill.runtime import ROLES, Role

from ._types import (
    BEATS,
    AtLeastOne,
    Choice,
    EnvName,
    IgnorePattern,
    Price,
    Prose,
    ProviderId,
    Seconds,
    SecondsOrNone,
    Silence,
    Url,
)

ALL_ROLES: frozenset[Role] = frozenset(ROLES)
"""Every role: what an agent that can do anything plays."""


@final
@attrs.frozen
class ClaudeCodeOptions:
    """``[agents.options]`` of a ``claude_code`` agent (``claude -p``).

    Attributes:
        executable: The program to run.
        model: Its ``--model``; the tool's default when ``None``.
        permission_mode: Its ``--permission-mode`` for work that edits files
            (``acceptEdits``, ``auto``, ``bypassPermissions``, ``dontAsk``,
            ``default``, ``manual``; ``plan`` never edits).
        max_turns: Its ``--max-turns``, when given.
        extra_args: Further arguments, after the others (not ``-p`` or
            ``--output-format``: playbill reads its stream-json output).
        env_allow: Environment variables passed through besides the basic
            ones and Claude Code's own (``ANTHROPIC_API_KEY``...).
        timeout_s: Seconds before it is killed.
        heartbeat_s: The least time between two heartbeats, which it sends
            when it shows progress (new lines of output, changes in its
            worktree), and between two scans of its worktree.
        kill_grace_s: Seconds it has to exit after ``SIGTERM``.
        allow_untested_version: Run a release of the tool outside the
            range its preset was tested with, instead of refusing it.
        ignore: Gitignore patterns of further files it writes for itself
            where it works, never committed (besides
            ``.claude/settings.local.json``, ``CLAUDE.local.md`` and editors'
            swap files).
        sandbox: ``bwrap`` to run it in a bubblewrap sandbox: only its
            worktree, its scratch directory and a private ``/tmp`` are
            writable (see docs/security-git.md); ``none`` by default.
        sandbox_network: In the sandbox, whether it keeps the network.
        sandbox_writable: In the sandbox, further paths it may write
            (``~`` expanded; missing ones are skipped).
    """

    backend: ClassVar[str] = "claude_code"
    plays: ClassVar[frozenset[Role]] = ALL_ROLES
    edits: ClassVar[bool] = True
    executable: Prose = "claude"
    model: Prose | None = None
    permission_mode: Prose = "acceptEdits"
    max_turns: AtLeastOne | None = None
    extra_args: tuple[str, ...] = ()
    env_allow: tuple[EnvName, ...] = ()
    timeout_s: Seconds = 1800.0
    heartbeat_s: Seconds = 5.0
    kill_grace_s: SecondsOrNone = 2.0
    allow_untested_version: bool = False
    ignore: tuple[IgnorePattern, ...] = ()
    sandbox: Annotated[Literal["none", "bwrap"], Choice("sandbox")] = "none"
    sandbox_network: bool = True
    sandbox_writable: tuple[str, ...] = ()

    def silences(self) -> tuple[Silence, ...]:
        """How long it may show no progress while it works (``heartbeat_s``)."""
        return (("heartbeat_s", self.heartbeat_s, BEATS),)

    def build(self, roles: Iterable[Role], edits_files: bool) -> AgentBackend:
        """The Claude Code backend (``claude_code()``)."""
        return claude_code(roles=roles, **option_kwargs(self))


@final
@attrs.frozen
class CodexOptions:
    """``[agents.options]`` of a ``codex`` agent (``codex exec --json``).

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
        env_allow: Environment variables passed through besides the basic
            ones and Codex's own (``OPENAI_API_KEY``...).
        timeout_s: Seconds before it is killed.
        heartbeat_s: The least time between two heartbeats, which it sends
            when it shows progress (new lines of output, changes in its
            worktree), and between two scans of its worktree.
        kill_grace_s: Seconds it has to exit after ``SIGTERM``.
        allow_untested_version: Run a release of the tool outside the
            range its preset was tested with, instead of refusing it.
        ignore: Gitignore patterns of further files it writes for itself
            where it works, never committed (besides editors' swap files).
        sandbox: ``bwrap`` to run it in a bubblewrap sandbox: only its
            worktree, its scratch directory and a private ``/tmp`` are
            writable (see docs/security-git.md); ``none`` by default.
        sandbox_network: In the sandbox, whether it keeps the network.
        sandbox_writable: In the sandbox, further paths it may write
            (``~`` expanded; missing ones are skipped).
    """

    backend: ClassVar[str] = "codex"
    plays: ClassVar[frozenset[Role]] = ALL_ROLES
    edits: ClassVar[bool] = True
    executable: Prose = "codex"
    model: Prose | None = None
    provider: ProviderId | None = None
    base_url: Url | None = None
    env_key: EnvName | None = None
    full_access: bool = False
    output_schema: bool = True
    price_in_per_mtok: Price = 0.0
    price_cached_in_per_mtok: Price | None = None
    price_out_per_mtok: Price = 0.0
    extra_args: tuple[str, ...] = ()
    env_allow: tuple[EnvName, ...] = ()
    timeout_s: Seconds = 1800.0
    heartbeat_s: Seconds = 5.0
    kill_grace_s: SecondsOrNone = 2.0
    allow_untested_version: bool = False
    ignore: tuple[IgnorePattern, ...] = ()
    sandbox: Annotated[Literal["none", "bwrap"], Choice("sandbox")] = "none"
    sandbox_network: bool = True
    sandbox_writable: tuple[str, ...] = ()

    def silences(self) -> tuple[Silence, ...]:
        """How long it may show no progress while it works (``heartbeat_s``)."""
        return (("heartbeat_s", self.heartbeat_s, BEATS),)

    def build(self, roles: Iterable[Role], edits_files: bool) -> AgentBackend:
        """The Codex backend (``codex()``)."""
        return codex(roles=roles, **option_kwargs(self))


_AIDER = AiderTool()


@final
@attrs.frozen
class AiderOptions:
    """``[agents.options]`` of an ``aider`` agent (``aider --message-file``).

    Aider edits, or reviews in ``--chat-mode ask``; it cannot plan or verify.
    Its tokens and cost come from its own usage reports.

    Attributes:
        executable: The program to run.
        model: Its ``--model``; the tool's default when ``None``.
        edit_format: Its ``--edit-format`` for work that edits (``diff``,
            ``whole``...); the model's usual one when ``None``.
        stream: Stream the model's replies (progress while it writes,
            tokens as aider counts them) or not (the provider's counts).
        extra_args: Further arguments (none that sets the prompt, the model,
            the edit format, streaming, aider's logs or committing).
        env_allow: Environment variables passed through besides the basic
            ones and aider's own (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``...).
        timeout_s: Seconds before it is killed.
        heartbeat_s: The least time between two heartbeats, which it sends
            when it shows progress (new lines of output, changes in its
            worktree), and between two scans of its worktree.
        kill_grace_s: Seconds it has to exit after ``SIGTERM``.
        allow_untested_version: Run a release of the tool outside the
            range its preset was tested with, instead of refusing it.
        ignore: Gitignore patterns of further files it writes for itself
            where it works, never committed (besides ``.aider*`` and editors'
            swap files).
        sandbox: ``bwrap`` to run it in a bubblewrap sandbox: only its
            worktree, its scratch directory and a private ``/tmp`` are
            writable (see docs/security-git.md); ``none`` by default.
        sandbox_network: In the sandbox, whether it keeps the network.
        sandbox_writable: In the sandbox, further paths it may write
            (``~`` expanded; missing ones are skipped).
    """

    backend: ClassVar[str] = "aider"
    plays: ClassVar[frozenset[Role]] = AIDER_ROLES
    edits: ClassVar[bool] = True
    executable: Prose = _AIDER.executable
    model: Prose | None = None
    edit_format: Prose | None = None
    stream: bool = _AIDER.stream
    extra_args: tuple[str, ...] = ()
    env_allow: tuple[EnvName, ...] = ()
    timeout_s: Seconds = 1800.0
    heartbeat_s: Seconds = 5.0
    kill_grace_s: SecondsOrNone = 2.0
    allow_untested_version: bool = False
    ignore: tuple[IgnorePattern, ...] = ()
    sandbox: Annotated[Literal["none", "bwrap"], Choice("sandbox")] = "none"
    sandbox_network: bool = True
    sandbox_writable: tuple[str, ...] = ()

    def silences(self) -> tuple[Silence, ...]:
        """How long it may show no progress while it works (``heartbeat_s``)."""
        return (("heartbeat_s", self.heartbeat_s, BEATS),)

    def build(self, roles: Iterable[Role], edits_files: bool) -> AgentBackend:
        """The aider backend (``aider()``)."""
        return aider(roles=roles, **option_kwargs(self))


def option_kwargs(options: AttrsInstance) -> dict[str, Any]:
    """An options table's keys as its backend's keyword arguments.

    The tables mirror the constructors key for key; seconds and prices,
    which TOML may give as whole numbers, are passed as floats, and tables
    (``env``) as plain dicts.
    """
    kwargs: dict[str, Any] = {}
    for field in attrs.fields(type(options)):
        value = getattr(options, field.name)
        if (
            field.name.endswith("_s")
            or field.name.startswith("price_")
            or field.name == "temperature"
        ):
            value = None if value is None else float(value)
        elif isinstance(value, Mapping):
            value = dict(value)
        kwargs[field.name] = value
    return kwargs
