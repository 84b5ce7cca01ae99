"""Claude Code as a backend: ``claude -p <prompt> --output-format stream-json``.

What this relies on, read from the pinned release (2.1.332: its ``--help``,
the schemas in its bundle, and runs of the real program against a scripted
model server, ``tests/test_real_claude.py``):

- ``-p``/``--print`` runs one prompt non-interactively.
  ``--output-format stream-json`` prints one JSON event per line while it
  works, and needs ``--verbose`` with ``-p`` (without it the program exits
  1: "--output-format=stream-json requires --verbose");
  ``--include-partial-messages`` adds an event per streamed piece of the
  model's answer, so the tool prints something while a long answer is
  still being written (the output is the agent's progress). These flags
  are playbill's: ``extra_args`` may not change the output format.
- The events: ``system``/``init`` first; ``assistant`` and ``user``
  messages (tool calls and their results); ``stream_event`` (partial
  messages); ``system``/``permission_denied`` when a tool call is refused
  (``tool_name``, ``tool_use_id``, ``decision_reason``, ``message``); and
  last one ``result``::

      {"type": "result", "subtype": "success", "is_error": false,
       "result": "<final text>", "num_turns": 4, "total_cost_usd": 0.0421,
       "usage": {"input_tokens": ..., "cache_creation_input_tokens": ...,
                 "cache_read_input_tokens": ..., "output_tokens": ...},
       "modelUsage": {"claude-opus-5-5": {"inputTokens": ..., "outputTokens": ...,
                      "cacheReadInputTokens": ..., "cacheCreationInputTokens": ...,
                      "costUSD": ...}, "claude-haiku-5-5": {...}},
       "permission_denials": [{"tool_name": "Write", "tool_use_id": "...",
                               "tool_input": {"file_path": "...", ...}}],
       "terminal_reason": "completed", "errors": [...]}

  The ``result`` event is the object ``--output-format json`` prints, so a
  recording of that format parses too.
- ``subtype`` is ``success`` or one of ``error_max_turns``,
  ``error_max_budget_usd``, ``error_during_execution`` and
  ``error_max_structured_output_retries`` (the result schema's whole list);
  an error result has ``errors`` (messages) and no ``result``, and the
  program exits 1. A ``success`` with ``is_error`` is an API error the
  tool gave up on (``terminal_reason`` ``api_error``, ``api_error_status``).
- A refused tool call does *not* make the result an error: Claude Code
  tells the model, the model carries on, and the result is a ``success``
  listing the refusal in ``permission_denials``. For work that edits, that
  is a failure here (``agent``/``permission_denied``): what was asked was
  not all done. Other work (a review) may well be refused things it has no
  business doing; its answer stands.
- ``usage`` counts only the main conversation's calls; ``modelUsage`` has
  every model call of the run per model (sub-agents on a smaller model
  included) and ``total_cost_usd`` is their cost. Tokens in are every
  prompt token read (input, cache creation and cache reads) summed over
  ``modelUsage``; ``usage`` is the fallback when ``modelUsage`` is missing
  or empty. A figure that is negative, not a whole number, or past any
  honest count is ``agent``/``bad_usage``, never trusted.
- ``--permission-mode acceptEdits`` lets it edit files in its working
  directory (the attempt's worktree) with no further flag; a path outside
  it, or under a ``.git`` directory (a "sensitive file"), is refused.
  ``--model`` and ``--max-turns`` are passed when given.

Every flag used here is in every release of ``SUPPORTED`` (checked at its
two ends: 2.1.332 is pinned for the tests; 2.1.0 passed the same checks,
with less detail in its output), so the command line does not depend on
the release.

Claude Code keeps its sessions in ``~/.claude`` (``CLAUDE_CONFIG_DIR``), out
of the worktree: run with ``-p``, 2.1.332 writes nothing where it works. In
the project, ``.claude/settings.json`` (and ``.claude/commands/``,
``agents/``, ``skills/``, ``hooks/``, ``CLAUDE.md``) is configuration a
team commits: a change there is a real change, and the step's scope decides
whether it is allowed. What Claude Code writes for the user alone is its
local scope, ``.claude/settings.local.json`` (permissions it was granted)
and ``CLAUDE.local.md`` (personal memory), which it asks to be kept out of
git: those are ignored in the worktree (``TOOL_FILES``), unless the
repository tracks them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, final

import attrs
import msgspec

from playbill.runtime import Usage

from ._agent_output import fail, json_lines
from ._agent_process import ProcessOutput
from ._backend import BackendConfigError, BackendError, WorkOrder, string_tuple
from ._cli_agent import ToolAnswer, edits
from ._tool_needs import ToolNeeds, claude_login, endpoint_of
from ._tool_version import Version, VersionRange

SUPPORTED = VersionRange(Version(2, 1, 0), Version(2, 2, 0))
"""The releases this preset supports: 2.1.332 is pinned for the tests
(``tests/agent_clis.toml``); 2.1.0 was checked with them too."""

TOOL_FILES: tuple[str, ...] = ("/.claude/settings.local.json", "/CLAUDE.local.md")
"""What Claude Code writes for the user alone in the project it works in."""

PERMISSION_MODES = ("acceptEdits", "auto", "bypassPermissions", "default", "dontAsk", "manual")
"""``--permission-mode`` values that can edit (``plan`` never edits; ``default``
and ``manual`` only what ``--allowedTools`` allows)."""

OUTPUT_OPTIONS = ("-p", "--print", "--output-format", "--input-format")
"""Options playbill sets and ``extra_args`` may not: the output is read as stream-json."""

FAILURE_KINDS: dict[str, str] = {
    "error_max_turns": "max_turns",
    "error_max_budget_usd": "max_budget",
    "error_max_structured_output_retries": "malformed_output",
    "error_during_execution": "agent_error",
}
"""The failure kind (class ``agent``) of each error ``subtype``; any other
error is ``agent_error``."""

MAX_FIGURE = 10**12
"""No honest run reads or writes this many tokens, or costs this many dollars
(the bound also keeps NaN and infinities out)."""

_Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_FIGURE)]
_Dollars = Annotated[float, msgspec.Meta(ge=0, le=MAX_FIGURE)]


class _Tokens(msgspec.Struct, frozen=True):
    """``usage`` of the result: the main conversation's calls only."""

    input_tokens: _Count = 0
    output_tokens: _Count = 0
    cache_creation_input_tokens: _Count = 0
    cache_read_input_tokens: _Count = 0


class _ModelTokens(msgspec.Struct, frozen=True, rename="camel"):
    """One model's entry of ``modelUsage`` (``inputTokens``...): every call made on it."""

    input_tokens: _Count = 0
    output_tokens: _Count = 0
    cache_read_input_tokens: _Count = 0
    cache_creation_input_tokens: _Count = 0


class _Figures(msgspec.Struct, frozen=True):
    """The result's usage figures, each checked (unknown fields ignored)."""

    total_cost_usd: _Dollars = 0.0
    usage: _Tokens | None = None
    model_usage: dict[str, _ModelTokens] | None = msgspec.field(default=None, name="modelUsage")


class _Denial(msgspec.Struct, frozen=True):
    tool_name: str = "?"
    tool_use_id: str = ""
    tool_input: dict[str, Any] = {}


class _Result(msgspec.Struct, frozen=True):
    """The ``result`` event, less its usage figures (see ``_Figures``)."""

    type: str
    subtype: str = ""
    is_error: bool = False
    result: str | None = None
    errors: list[str] | None = None
    permission_denials: list[_Denial] | None = None
    terminal_reason: str | None = None
    api_error_status: int | None = None


def permission_mode_problem(mode: str) -> str | None:
    """What is wrong with ``mode`` as the permission mode for edits, or None."""
    if mode in PERMISSION_MODES:
        return None
    if mode == "plan":
        return "'plan' never edits files; expected one of " + ", ".join(PERMISSION_MODES)
    return f"expected one of {', '.join(PERMISSION_MODES)}, got {mode!r}"


def extra_args_problem(args: tuple[str, ...]) -> str | None:
    """Why ``args`` cannot go on Claude Code's command line, or None."""
    for arg in args:
        if arg.split("=", 1)[0] in OUTPUT_OPTIONS:
            return f"{arg!r} is playbill's to set: it reads the tool's stream-json output"
    return None


@final
@attrs.frozen(kw_only=True)
class ClaudeCodeTool:
    """How to run Claude Code and read its stream-json events.

    Attributes:
        executable: The program (``claude``, or a path).
        model: ``--model``, when given.
        permission_mode: ``--permission-mode`` for work that edits files.
        max_turns: ``--max-turns``, when given.
        extra_args: Further arguments, after the others.
    """

    executable: str = "claude"
    model: str | None = None
    permission_mode: str = "acceptEdits"
    max_turns: int | None = None
    extra_args: tuple[str, ...] = attrs.field(default=(), converter=string_tuple)

    def __attrs_post_init__(self) -> None:
        problem = permission_mode_problem(self.permission_mode)
        if problem is not None:
            raise BackendConfigError(self.name, "permission_mode", problem)
        problem = extra_args_problem(self.extra_args)
        if problem is not None:
            raise BackendConfigError(self.name, "extra_args", problem)

    @property
    def name(self) -> str:
        """``claude_code``."""
        return "claude_code"

    @property
    def supported(self) -> VersionRange:
        """The releases tested: see ``SUPPORTED``."""
        return SUPPORTED

    @property
    def tool_files(self) -> tuple[str, ...]:
        """Its local-scope files (``TOOL_FILES``)."""
        return TOOL_FILES

    def files(self, order: WorkOrder) -> dict[str, str]:
        """None: the prompt goes on the command line."""
        return {}

    def command_line(
        self, order: WorkOrder, prompt: str, scratch: Path, version: Version
    ) -> list[str]:
        """``claude -p <prompt> --output-format stream-json --verbose ... [options]``.

        The same for every supported ``version``.
        """
        argv = [
            self.executable,
            "-p",
            prompt,
            "--output-format",
            "stream-json",
            "--verbose",
            "--include-partial-messages",
        ]
        if self.model is not None:
            argv += ["--model", self.model]
        if edits(order):
            argv += ["--permission-mode", self.permission_mode]
        if self.max_turns is not None:
            argv += ["--max-turns", str(self.max_turns)]
        return [*argv, *self.extra_args]

    def parse(self, out: ProcessOutput) -> ToolAnswer | None:
        """The ``result`` event's text, usage, error and refused tool calls.

        ``None`` when the output holds no ``result`` event.

        Raises:
            BackendError: ``agent``/``malformed_output``: a result of the
                wrong shape; ``agent``/``bad_usage``: a usage figure that
                cannot be true.
        """
        events = _events(out.text())
        found = next((e for e in reversed(events) if e.get("type") == "result"), None)
        if found is None:
            return None
        try:
            result = msgspec.convert(found, type=_Result)
        except msgspec.ValidationError as exc:
            raise _malformed(f"printed a result event it does not document: {exc}") from None
        try:
            usage = _usage(msgspec.convert(found, type=_Figures))
        except msgspec.ValidationError as exc:
            why = f"claude_code printed a usage figure that cannot be true: {exc}"
            raise fail("agent", "bad_usage", why) from None
        text = result.result or ""
        if result.is_error or result.subtype not in ("", "success"):
            return ToolAnswer(
                text=text,
                usage=usage,
                error=_error_text(result),
                error_kind=FAILURE_KINDS.get(result.subtype, "agent_error"),
            )
        reasons = _denial_reasons(events)
        denied = tuple(
            _denial_text(d, reasons.get(d.tool_use_id)) for d in result.permission_denials or ()
        )
        return ToolAnswer(text=text, usage=usage, denied=denied)

    # What `playbill doctor` checks (see _tool_needs): kept at the end of the class.
    key_env: ClassVar[tuple[str, ...]] = (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "CLAUDE_CODE_OAUTH_TOKEN",
    )
    """Variables any one of which holds a credential (else a stored login)."""
    endpoint_env: ClassVar[str] = "ANTHROPIC_BASE_URL"
    """The variable that moves the API's base URL."""
    default_endpoint: ClassVar[str] = "https://api.anthropic.com"
    """The API's base URL when ``endpoint_env`` is not set."""

    def needs(self, env: Mapping[str, str]) -> ToolNeeds:
        """A key in ``key_env`` or a stored login; the endpoint (``env``: what the tool gets)."""
        endpoint, source = endpoint_of(env, (self.endpoint_env,), self.default_endpoint)
        return ToolNeeds(
            keys=self.key_env,
            login=claude_login(env),
            login_hint="`claude`, then /login",
            endpoint=endpoint,
            endpoint_from=source,
        )


def _events(text: str) -> list[dict[str, Any]]:
    """Every JSON object printed, one a line (or the objects of the one array ``json`` prints)."""
    events = json_lines(text)
    if events:
        return events
    try:  # ``--output-format json --verbose`` prints one array
        whole = json.loads(text)
    except (ValueError, RecursionError):
        return []
    return [e for e in whole if isinstance(e, dict)] if isinstance(whole, list) else []


def _usage(figures: _Figures) -> Usage:
    if figures.model_usage:
        models = figures.model_usage.values()
        tokens_in = sum(
            m.input_tokens + m.cache_creation_input_tokens + m.cache_read_input_tokens
            for m in models
        )
        tokens_out = sum(m.output_tokens for m in models)
    else:
        main = figures.usage if figures.usage is not None else _Tokens()
        tokens_in = (
            main.input_tokens + main.cache_creation_input_tokens + main.cache_read_input_tokens
        )
        tokens_out = main.output_tokens
    return Usage(tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=figures.total_cost_usd)


def _malformed(why: str) -> BackendError:
    return fail("agent", "malformed_output", f"claude_code {why}")


def _error_text(result: _Result) -> str:
    what = result.subtype or "error"
    if result.subtype in ("", "success"):
        what = f"is_error ({result.terminal_reason or 'no terminal_reason'})"
        if result.api_error_status is not None:
            what += f", API status {result.api_error_status}"
    messages = [m for m in result.errors or () if m.strip()] or [result.result or ""]
    said = "; ".join(m.strip() for m in messages if m.strip())
    return f"{what}: {said}" if said else what


def _denial_reasons(events: list[dict[str, Any]]) -> dict[str, str]:
    """Why each refused tool call was refused, from the ``permission_denied`` events."""
    reasons: dict[str, str] = {}
    for event in events:
        if event.get("type") == "system" and event.get("subtype") == "permission_denied":
            use, reason = event.get("tool_use_id"), event.get("decision_reason")
            if isinstance(use, str) and isinstance(reason, str):
                reasons[use] = reason
    return reasons


_TARGETS = ("file_path", "notebook_path", "path", "command", "url", "pattern")
"""The tool input fields that say what a refused call was for, in order of preference."""


def _denial_text(denial: _Denial, reason: str | None) -> str:
    """``Write /tmp/x.txt (Path is outside allowed working directories)``."""
    target = next(
        (str(denial.tool_input[k]) for k in _TARGETS if isinstance(denial.tool_input.get(k), str)),
        "",
    )
    text = denial.tool_name[:80]
    if target:
        text += f" {_clip(target, 300)}"
    if reason:
        text += f" ({_clip(reason, 300)})"
    return text


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
