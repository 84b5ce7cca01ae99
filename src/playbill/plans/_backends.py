"""The ``[agents.options]`` tables of the real backends, key for key their constructors.

One frozen attrs class per backend (``command``, ``claude_code``, ``codex``,
``aider``, ``openai``, ``checks``), with the constructor's defaults; the
``simulated`` backend's table lives with the model. Each class says, in two
class variables, what its backend can do whatever the plan asks: the roles
it can play (``plays``) and whether it changes files (``edits``). The checks
of ``playbill.plans._backend_checks`` refuse a plan whose agent asks for more,
so the supervisor never assigns a backend work it cannot do.

``build`` makes the backend itself, with the agent's roles.
"""

# No ``from __future__ import annotations``: the loader reads the
# ``Annotated`` metadata of each attribute's type, which must not be a string.

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal, final

import attrs
from attrs import AttrsInstance

from playbill.actors import (
    AgentBackend,
    ChecksBackend,
    CommandBackend,
    OpenAIBackend,
    aider,
    claude_code,
    codex,
)
from playbill.actors._preset_aider import AiderTool
from playbill.actors._presets import AIDER_ROLES
from playbill.actors._profiles import Range
from playbill.runtime import ROLES, Role

from ._types import (
    AtLeastOne,
    Choice,
    Count,
    IgnorePattern,
    Prose,
    Seconds,
    SecondsOrNone,
    Text,
    Tokens,
)

EnvName = Annotated[
    str,
    Text(
        "an environment variable name: letters, digits and '_', not starting with a digit",
        r"[A-Za-z_][A-Za-z0-9_]*",
    ),
]
"""The name of an environment variable."""

Price = Annotated[float, Range(0, 1e6, "US dollars per million tokens, 0 or more (0: unknown)")]
"""A price per million tokens."""

Temperature = Annotated[float, Range(0, 2, "a sampling temperature from 0 to 2")]
"""A sampling temperature."""

Url = Annotated[str, Text("an http:// or https:// URL", r"https?://\S+")]
"""The base URL of an API."""

ProviderId = Annotated[
    str, Text("a model provider id: letters, digits, '_' and '-'", r"[A-Za-z0-9_-]+")
]
"""The id of a Codex model provider (a key of its ``model_providers``)."""

Silence = tuple[str, float, str]
"""How long an agent may show no progress while it works: ``(option, seconds, why)``."""

_BEATS = "it sends a heartbeat at most this often, when it shows progress"

ALL_ROLES: frozenset[Role] = frozenset(ROLES)
_CMD = CommandBackend(argv=("true",))
_AI = OpenAIBackend(model="-")


def _roles(roles: Iterable[Role]) -> frozenset[Role]:
    return frozenset(roles)


@final
@attrs.frozen
class CommandOptions:
    """``[agents.options]`` of a ``command`` agent: any program that prints a JSON result.

    Attributes:
        argv: The command line template, one argument per item (see
            docs/backends.md for the placeholders); with ``shell``, one
            shell command line.
        shell: Run ``argv[0]`` through ``/bin/sh -c`` (placeholders are then
            substituted shell-quoted).
        env_allow: Environment variables passed through besides the basic ones.
        timeout_s: Seconds before the command is killed.
        result: Where the result is read: ``stdout`` (its last JSON line) or
            ``file`` (``{result_file}``).
        reports_usage: Whether its results carry tokens and cost.
        heartbeat_s: The least time between two heartbeats, which it sends
            when it shows progress (new lines of output, changes in its
            worktree), and between two scans of its worktree.
        kill_grace_s: Seconds it has to exit after ``SIGTERM``.
        ignore: Gitignore patterns of the files it writes for itself where
            it works (caches, logs), never committed (besides editors' swap
            files, always ignored).
    """

    backend: ClassVar[str] = "command"
    plays: ClassVar[frozenset[Role]] = ALL_ROLES
    edits: ClassVar[bool] = True
    argv: tuple[str, ...]
    shell: bool = False
    env_allow: tuple[EnvName, ...] = ()
    timeout_s: Seconds = _CMD.timeout_s
    result: Annotated[Literal["stdout", "file"], Choice("result source")] = "stdout"
    reports_usage: bool = False
    heartbeat_s: Seconds = _CMD.heartbeat_s
    kill_grace_s: SecondsOrNone = _CMD.kill_grace_s
    ignore: tuple[IgnorePattern, ...] = ()

    def silences(self) -> tuple[Silence, ...]:
        """How long it may show no progress while it works (``heartbeat_s``)."""
        return (("heartbeat_s", self.heartbeat_s, _BEATS),)

    def build(self, roles: Iterable[Role], edits_files: bool) -> AgentBackend:
        """The ``CommandBackend`` (raises ``BackendConfigError`` for options that cannot work)."""
        return CommandBackend(roles=_roles(roles), edits_files=edits_files, **_options(self))


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

    def silences(self) -> tuple[Silence, ...]:
        """How long it may show no progress while it works (``heartbeat_s``)."""
        return (("heartbeat_s", self.heartbeat_s, _BEATS),)

    def build(self, roles: Iterable[Role], edits_files: bool) -> AgentBackend:
        """The Claude Code backend (``claude_code()``)."""
        return claude_code(roles=roles, **_options(self))


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

    def silences(self) -> tuple[Silence, ...]:
        """How long it may show no progress while it works (``heartbeat_s``)."""
        return (("heartbeat_s", self.heartbeat_s, _BEATS),)

    def build(self, roles: Iterable[Role], edits_files: bool) -> AgentBackend:
        """The Codex backend (``codex()``)."""
        return codex(roles=roles, **_options(self))


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

    def silences(self) -> tuple[Silence, ...]:
        """How long it may show no progress while it works (``heartbeat_s``)."""
        return (("heartbeat_s", self.heartbeat_s, _BEATS),)

    def build(self, roles: Iterable[Role], edits_files: bool) -> AgentBackend:
        """The aider backend (``aider()``)."""
        return aider(roles=roles, **_options(self))


@final
@attrs.frozen
class OpenAIOptions:
    """``[agents.options]`` of an ``openai`` agent: any OpenAI-compatible chat API.

    It answers from the prompt alone: it plans, reviews, or does read-only
    executor steps; it changes no files and runs no checks.

    Attributes:
        model: The model to ask.
        base_url: The API's base URL (``.../v1``).
        api_key_env: Name of the environment variable holding the API key
            (read when a request is made, never stored).
        temperature: Sampling temperature; the server's default when ``None``.
        max_tokens: Completion tokens at most; no limit when ``None``.
        timeout_s: Seconds a request may take in all.
        max_retries: Retries after a 429, a 5xx or a connection error.
        backoff_s: Wait before the first retry; doubled for each further one.
        max_backoff_s: The longest wait between requests.
        price_in_per_mtok: US dollars per million prompt tokens.
        price_out_per_mtok: US dollars per million completion tokens.
    """

    backend: ClassVar[str] = "openai"
    plays: ClassVar[frozenset[Role]] = frozenset({"planner", "executor", "reviewer"})
    edits: ClassVar[bool] = False
    model: Prose
    base_url: Url = _AI.base_url
    api_key_env: EnvName = _AI.api_key_env
    temperature: Temperature | None = None
    max_tokens: Tokens | None = None
    timeout_s: Seconds = _AI.timeout_s
    max_retries: Count = _AI.max_retries
    backoff_s: SecondsOrNone = _AI.backoff_s
    max_backoff_s: SecondsOrNone = _AI.max_backoff_s
    price_in_per_mtok: Price = 0.0
    price_out_per_mtok: Price = 0.0

    def silences(self) -> tuple[Silence, ...]:
        """How long it may show no progress: a request, a wait before a retry."""
        return (
            ("timeout_s", self.timeout_s, "a request shows no progress until its answer"),
            ("max_backoff_s", self.max_backoff_s, "a wait before a retry shows no progress"),
        )

    def build(self, roles: Iterable[Role], edits_files: bool) -> AgentBackend:
        """The ``OpenAIBackend``."""
        return OpenAIBackend(roles=_roles(roles), **_options(self))


@final
@attrs.frozen
class ChecksOptions:
    """``[agents.options]`` of a ``checks`` agent: a verifier that runs the step's validators.

    Attributes:
        env_allow: Environment variables, besides the basic ones, the
            validators' commands may see.
        env: Variables set for the validators' commands (over the allowed
            ones), ``NAME = "value"``; not for secrets, which belong in the
            environment and ``env_allow``.
        heartbeat_s: Seconds between heartbeats while validators run.
    """

    backend: ClassVar[str] = "checks"
    plays: ClassVar[frozenset[Role]] = frozenset({"verifier"})
    edits: ClassVar[bool] = False
    env_allow: tuple[EnvName, ...] = ()
    env: Mapping[str, str] = attrs.field(factory=dict, converter=MappingProxyType)
    heartbeat_s: Seconds = 10.0

    def silences(self) -> tuple[Silence, ...]:
        """How long it may show no progress while validators run (``heartbeat_s``)."""
        return (("heartbeat_s", self.heartbeat_s, "it sends a heartbeat this often"),)

    def build(self, roles: Iterable[Role], edits_files: bool) -> AgentBackend:
        """The ``ChecksBackend``."""
        return ChecksBackend(**_options(self))


def _options(options: AttrsInstance) -> dict[str, Any]:
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


RealOptions = (
    CommandOptions | ClaudeCodeOptions | CodexOptions | AiderOptions | OpenAIOptions | ChecksOptions
)
"""The options of a backend that does real work."""

REAL_BACKENDS: tuple[type[RealOptions], ...] = (
    CommandOptions,
    ClaudeCodeOptions,
    CodexOptions,
    AiderOptions,
    OpenAIOptions,
    ChecksOptions,
)
"""The options classes of the real backends, in the order the docs list them."""
