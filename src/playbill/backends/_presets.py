"""One factory per built-in backend, named as plans name the backend.

Each factory takes the backend's options (``ClaudeCodeOptions``...,
``CommandOptions``...), whole or one by one, and builds the backend from
them; every backend holds its options. The coding-agent CLIs' (Claude
Code, Codex, Aider) return a ``CliAgentBackend`` that builds the tool's
command line and reads its documented non-interactive output (see
``_preset_claude``, ``_preset_codex`` and ``_preset_aider`` for the formats
relied on).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import attrs

from playbill.runtime import ROLES, Role

from ._backend_options import ChecksOptions, CommandOptions, OpenAIOptions
from ._checks import ChecksBackend
from ._cli_agent import CliAgentBackend
from ._command import CommandBackend
from ._openai import OpenAIBackend
from ._preset_options import AiderOptions, ClaudeCodeOptions, CodexOptions

_O = TypeVar(
    "_O",
    ClaudeCodeOptions,
    CodexOptions,
    AiderOptions,
    CommandOptions,
    OpenAIOptions,
    ChecksOptions,
)


def _given(cl: type[_O], options: _O | None, fields: dict[str, Any]) -> _O:
    """``options`` (the defaults when ``None``) with the ``fields`` given one by one."""
    return cl(**fields) if options is None else attrs.evolve(options, **fields)


def claude_code(
    options: ClaudeCodeOptions | None = None, /, *, roles: Iterable[Role] = ROLES, **fields: Any
) -> CliAgentBackend:
    """Claude Code (``claude -p <prompt> --output-format stream-json --verbose ...``).

    Args:
        options: Its options (the defaults when ``None``).
        roles: The roles it plays (any).
        **fields: Options given one by one, over ``options``
            (``claude_code(model="sonnet")``); see ``ClaudeCodeOptions``.

    Returns:
        The backend (named ``claude_code``; edits files, reports usage;
        ignores ``.claude/settings.local.json`` and ``CLAUDE.local.md``).

    Raises:
        BackendConfigError: An option cannot work (an unknown permission
            mode, ``extra_args`` that change the output format).
        TypeError: A field that ``ClaudeCodeOptions`` does not have.
    """
    return _given(ClaudeCodeOptions, options, fields).build(roles)


def codex(
    options: CodexOptions | None = None, /, *, roles: Iterable[Role] = ROLES, **fields: Any
) -> CliAgentBackend:
    """Codex CLI (``codex exec --json <prompt>``).

    Args:
        options: Its options (the defaults when ``None``).
        roles: The roles it plays (any).
        **fields: Options given one by one, over ``options``
            (``codex(model="gpt-5.5")``); see ``CodexOptions``.

    Returns:
        The backend (named ``codex``; edits files, reports usage).

    Raises:
        BackendConfigError: An option cannot work.
        TypeError: A field that ``CodexOptions`` does not have.
    """
    return _given(CodexOptions, options, fields).build(roles)


def aider(
    options: AiderOptions | None = None,
    /,
    *,
    roles: Iterable[Role] = ("executor",),
    **fields: Any,
) -> CliAgentBackend:
    """Aider (``aider --message-file <prompt> --yes-always --no-auto-commits ...``).

    Args:
        options: Its options (the defaults when ``None``).
        roles: The roles it plays: ``executor`` (the default) and
            ``reviewer`` (answering in ``--chat-mode ask``).
        **fields: Options given one by one, over ``options``
            (``aider(model="gpt-4.1")``); see ``AiderOptions``.

    Returns:
        The backend (named ``aider``; edits files, reports usage parsed from
        its text; ignores ``.aider*``).

    Raises:
        BackendConfigError: An option cannot work (a planner or verifier
            role, extra arguments that set what the preset sets).
        TypeError: A field that ``AiderOptions`` does not have.
    """
    return _given(AiderOptions, options, fields).build(roles)


def command(
    options: CommandOptions | None = None,
    /,
    *,
    roles: Iterable[Role] = ROLES,
    edits_files: bool = True,
    **fields: Any,
) -> CommandBackend:
    """Any program that reads a prompt and prints a JSON result (``playbill.backends._command``).

    Args:
        options: Its options; ``argv`` is required, so when ``None`` it
            must be among ``fields``.
        roles: The roles it plays (any).
        edits_files: Whether it changes files.
        **fields: Options given one by one, over ``options``
            (``command(argv=["./agent", "{prompt_file}"], timeout_s=60)``);
            see ``CommandOptions``.

    Returns:
        The backend (named ``command``; it returns typed results).

    Raises:
        BackendConfigError: An option cannot work (an unknown placeholder,
            a timeout that is not positive...).
        TypeError: A field that ``CommandOptions`` does not have, or no ``argv``.
    """
    return _given(CommandOptions, options, fields).build(roles, edits_files)


def openai(
    options: OpenAIOptions | None = None,
    /,
    *,
    roles: Iterable[Role] = ("planner", "reviewer"),
    **fields: Any,
) -> OpenAIBackend:
    """An OpenAI-compatible chat completions API (``playbill.backends._openai``).

    Args:
        options: Its options; ``model`` is required, so when ``None`` it
            must be among ``fields``.
        roles: The roles it plays: ``planner`` and ``reviewer`` by default;
            ``executor`` too, for steps that change no files.
        **fields: Options given one by one, over ``options``
            (``openai(model="gpt-5.5", max_retries=0)``); see ``OpenAIOptions``.

    Returns:
        The backend (named ``openai``; edits no files, reports usage).

    Raises:
        BackendConfigError: An option cannot work (a base URL that is not
            HTTP, a timeout that is not positive...).
        TypeError: A field that ``OpenAIOptions`` does not have, or no ``model``.
    """
    return _given(OpenAIOptions, options, fields).build(roles, edits_files=False)


def checks(options: ChecksOptions | None = None, /, **fields: Any) -> ChecksBackend:
    """A verifier that runs the step's validators (``playbill.backends._checks``).

    Args:
        options: Its options (the defaults when ``None``).
        **fields: Options given one by one, over ``options``
            (``checks(env={"PYTEST_ADDOPTS": "-x"})``); see ``ChecksOptions``.

    Returns:
        The backend (named ``checks``; a verifier that edits no files).

    Raises:
        TypeError: A field that ``ChecksOptions`` does not have.
    """
    return _given(ChecksOptions, options, fields).build(("verifier",), edits_files=False)
