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
from typing import Annotated, ClassVar, Literal, final

import attrs

from playbill.actors import (
    AgentBackend,
    ChecksBackend,
    CommandBackend,
    OpenAIBackend,
)
from playbill.runtime import ROLES, Role

from ._cli_options import (
    ALL_ROLES,
    AiderOptions,
    ClaudeCodeOptions,
    CodexOptions,
    option_kwargs,
)
from ._types import (
    BEATS,
    Choice,
    Count,
    EnvName,
    IgnorePattern,
    Price,
    Prose,
    Seconds,
    SecondsOrNone,
    Silence,
    Temperature,
    Tokens,
    Url,
)

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
        sandbox: ``bwrap`` to run it in a bubblewrap sandbox: only its
            worktree, its scratch directory and a private ``/tmp`` are
            writable (see docs/security-git.md); ``none`` by default.
        sandbox_network: In the sandbox, whether it keeps the network.
        sandbox_writable: In the sandbox, further paths it may write
            (``~`` expanded; missing ones are skipped).
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
    sandbox: Annotated[Literal["none", "bwrap"], Choice("sandbox")] = "none"
    sandbox_network: bool = True
    sandbox_writable: tuple[str, ...] = ()

    def silences(self) -> tuple[Silence, ...]:
        """How long it may show no progress while it works (``heartbeat_s``)."""
        return (("heartbeat_s", self.heartbeat_s, BEATS),)

    def build(self, roles: Iterable[Role], edits_files: bool) -> AgentBackend:
        """The ``CommandBackend`` (raises ``BackendConfigError`` for options that cannot work)."""
        return CommandBackend(roles=_roles(roles), edits_files=edits_files, **option_kwargs(self))


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
        return OpenAIBackend(roles=_roles(roles), **option_kwargs(self))


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
        return ChecksBackend(**option_kwargs(self))


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


@final
@attrs.frozen
class SimulatedOptions:
    """``[agents.options]`` of a ``simulated`` agent.

    Attributes:
        profile: The name of the agent profile it plays (a built-in:
            ``default``, ``reliable``, ``flaky``, ``slow``, ``perfect``, or
            one of a profile file). ``None``: the profile set's default.
    """

    backend: ClassVar[str] = "simulated"
    plays: ClassVar[frozenset[Role]] = frozenset(ROLES)
    edits: ClassVar[bool] = True
    profile: str | None = None
