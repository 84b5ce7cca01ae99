"""Claude Code as a backend: ``claude -p <prompt> --output-format json``.

What this relies on (Claude Code's headless mode, as documented in its CLI
reference and "headless mode" guide): ``-p``/``--print`` runs one prompt
non-interactively; ``--output-format json`` prints, when the work is done,
one JSON object::

    {"type": "result", "subtype": "success", "is_error": false,
     "result": "<final text>", "session_id": "...", "num_turns": 4,
     "duration_ms": 8123, "total_cost_usd": 0.0421,
     "usage": {"input_tokens": 12, "cache_creation_input_tokens": 5120,
               "cache_read_input_tokens": 20480, "output_tokens": 310}}

``is_error`` is true (and ``subtype`` names the error, e.g.
``error_max_turns`` or ``error_during_execution``) when the agent failed.
``--permission-mode acceptEdits`` lets it edit files without asking;
``--model`` and ``--max-turns`` are passed through when given. Unknown
fields are ignored, so newer versions keep working.

Tokens in are all the prompt tokens the model read: ``input_tokens`` plus
the cache's creation and read tokens; the cost is ``total_cost_usd``.

Claude Code keeps its sessions in ``~/.claude``, out of the worktree. In the
project, ``.claude/settings.json`` (and ``.claude/commands/``,
``agents/``, ``skills/``, ``hooks/``, ``CLAUDE.md``) is configuration a
team commits: a change there is a real change, and the step's scope decides
whether it is allowed. What Claude Code writes for the user alone is its
local scope, ``.claude/settings.local.json`` (permissions it was granted)
and ``CLAUDE.local.md`` (personal memory), which it asks to be kept out of
git: those are ignored in the worktree (``TOOL_FILES``), unless the
repository tracks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, final

import attrs
import msgspec

from playbill.runtime import Usage

from ._agent_output import last_json_line, last_json_object
from ._agent_process import ProcessOutput
from ._backend import WorkOrder, string_tuple
from ._cli_agent import ToolAnswer, edits
from ._tool_needs import ToolNeeds, claude_login, endpoint_of
from ._tool_version import Version, VersionRange

TOOL_FILES: tuple[str, ...] = ("/.claude/settings.local.json", "/CLAUDE.local.md")
"""What Claude Code writes for the user alone in the project it works in."""


class _ClaudeUsage(msgspec.Struct, frozen=True):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


class _ClaudeResult(msgspec.Struct, frozen=True):
    type: str
    subtype: str = ""
    is_error: bool = False
    result: str = ""
    total_cost_usd: float = 0.0
    usage: _ClaudeUsage | None = None
    session_id: str = ""
    num_turns: int = 0


SUPPORTED = VersionRange(Version(2, 1, 0), Version(2, 2, 0))
"""The releases this preset was tested with (``tests/agent_clis.toml``)."""


@final
@attrs.frozen(kw_only=True)
class ClaudeCodeTool:
    """How to run Claude Code and read its JSON result.

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
        """``claude -p <prompt> --output-format json [options]``."""
        argv = [self.executable, "-p", prompt, "--output-format", "json"]
        if self.model is not None:
            argv += ["--model", self.model]
        if edits(order):
            argv += ["--permission-mode", self.permission_mode]
        if self.max_turns is not None:
            argv += ["--max-turns", str(self.max_turns)]
        return [*argv, *self.extra_args]

    def parse(self, out: ProcessOutput) -> ToolAnswer | None:
        """The result object's text, tokens, cost and error, if it printed one."""
        text = out.text()
        value = last_json_line(text) or last_json_object(text)
        if value is None or value.get("type") != "result":
            return None
        try:
            result = msgspec.convert(value, type=_ClaudeResult)
        except msgspec.ValidationError:
            return None
        tokens = result.usage if result.usage is not None else _ClaudeUsage()
        usage = Usage(
            tokens_in=tokens.input_tokens
            + tokens.cache_creation_input_tokens
            + tokens.cache_read_input_tokens,
            tokens_out=tokens.output_tokens,
            cost_usd=result.total_cost_usd,
        )
        error = None
        if result.is_error or result.subtype not in ("", "success"):
            error = f"{result.subtype or 'error'}: {result.result}".rstrip(": ")
        return ToolAnswer(text=result.result, usage=usage, error=error)

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
