"""Ready-made backends for the coding-agent CLIs: Claude Code, Codex, Aider.

Each factory takes the tool's options (``ClaudeCodeOptions``...,
``_preset_options``), whole or one by one, and returns a
``CliAgentBackend`` that builds the tool's command line and reads its
documented non-interactive output (see ``_preset_claude``,
``_preset_codex`` and ``_preset_aider`` for the formats relied on).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import attrs

from playbill.runtime import ROLES, Role

from ._cli_agent import CliAgentBackend
from ._preset_options import AiderOptions, ClaudeCodeOptions, CodexOptions

_O = TypeVar("_O", ClaudeCodeOptions, CodexOptions, AiderOptions)


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
