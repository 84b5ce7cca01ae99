"""The options of the ``command``, ``openai`` and ``checks`` backends, declared once.

One frozen attrs class per backend: the keys of a plan's
``[agents.options]`` table, with their types (checked when the plan loads,
``playbill.backends._option_types``), the backend's defaults and their
meaning. Each class says, in two class variables, what its backend can do
whatever the plan asks: the roles it can play (``plays``) and whether it
changes files (``edits``); ``build`` makes the backend itself, which
holds the options whole (the factories of ``_presets`` call it).
"""

# No ``from __future__ import annotations``: the plan loader reads the
# ``Annotated`` metadata of each option's type, which must not be a string.

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Annotated, ClassVar, Literal, final

import attrs

from playbill._strict import Choice
from playbill.runtime import ROLES, Role

from ._backend import string_tuple
from ._checks import ChecksBackend
from ._command import CommandBackend
from ._openai import OpenAIBackend
from ._option_types import (
    BEATS,
    Count,
    EnvName,
    IgnorePattern,
    Price,
    Prose,
    Sandbox,
    Seconds,
    SecondsOrNone,
    Silence,
    Temperature,
    TokenCount,
    Url,
)


@final
@attrs.frozen(kw_only=True)
class CommandOptions:
    """The options of a ``command`` agent: any program that prints a JSON result.

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
    plays: ClassVar[frozenset[Role]] = frozenset(ROLES)
    edits: ClassVar[bool] = True
    argv: tuple[str, ...] = attrs.field(converter=string_tuple)
    shell: bool = False
    env_allow: tuple[EnvName, ...] = attrs.field(default=(), converter=string_tuple)
    timeout_s: Seconds = attrs.field(default=1800.0, converter=float)
    result: Annotated[Literal["stdout", "file"], Choice("result source")] = "stdout"
    reports_usage: bool = False
    heartbeat_s: Seconds = attrs.field(default=5.0, converter=float)
    kill_grace_s: SecondsOrNone = attrs.field(default=1.0, converter=float)
    ignore: tuple[IgnorePattern, ...] = attrs.field(default=(), converter=string_tuple)
    sandbox: Sandbox = "none"
    sandbox_network: bool = True
    sandbox_writable: tuple[str, ...] = attrs.field(default=(), converter=string_tuple)

    def silences(self) -> tuple[Silence, ...]:
        """How long it may show no progress while it works (``heartbeat_s``)."""
        return (("heartbeat_s", self.heartbeat_s, BEATS),)

    def build(self, roles: Iterable[Role], edits_files: bool) -> CommandBackend:
        """The ``CommandBackend`` (raises ``BackendConfigError`` for options that cannot work)."""
        return CommandBackend(self, roles=roles, edits_files=edits_files)


@final
@attrs.frozen(kw_only=True)
class OpenAIOptions:
    """The options of an ``openai`` agent: any OpenAI-compatible chat API.

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
    base_url: Url = "https://api.openai.com/v1"
    api_key_env: EnvName = "OPENAI_API_KEY"
    temperature: Temperature | None = attrs.field(
        default=None, converter=attrs.converters.optional(float)
    )
    max_tokens: TokenCount | None = None
    timeout_s: Seconds = attrs.field(default=120.0, converter=float)
    max_retries: Count = 3
    backoff_s: SecondsOrNone = attrs.field(default=1.0, converter=float)
    max_backoff_s: SecondsOrNone = attrs.field(default=60.0, converter=float)
    price_in_per_mtok: Price = attrs.field(default=0.0, converter=float)
    price_out_per_mtok: Price = attrs.field(default=0.0, converter=float)

    def silences(self) -> tuple[Silence, ...]:
        """How long it may show no progress: a request, a wait before a retry."""
        return (
            ("timeout_s", self.timeout_s, "a request shows no progress until its answer"),
            ("max_backoff_s", self.max_backoff_s, "a wait before a retry shows no progress"),
        )

    def build(self, roles: Iterable[Role], edits_files: bool) -> OpenAIBackend:
        """The ``OpenAIBackend`` (it changes no files, whatever ``edits_files`` says)."""
        return OpenAIBackend(self, roles=roles)


@final
@attrs.frozen(kw_only=True)
class ChecksOptions:
    """The options of a ``checks`` agent: a verifier that runs the step's validators.

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
    env_allow: tuple[EnvName, ...] = attrs.field(default=(), converter=string_tuple)
    env: Mapping[str, str] = attrs.field(factory=dict, converter=MappingProxyType)
    heartbeat_s: Seconds = attrs.field(default=10.0, converter=float)

    def silences(self) -> tuple[Silence, ...]:
        """How long it may show no progress while validators run (``heartbeat_s``)."""
        return (("heartbeat_s", self.heartbeat_s, "it sends a heartbeat this often"),)

    def build(self, roles: Iterable[Role], edits_files: bool) -> ChecksBackend:
        """The ``ChecksBackend`` (a verifier that changes no files, whatever the arguments)."""
        return ChecksBackend(self)
