"""Claude Code as a backend: ``claude -p <prompt> --output-format stream-json --verbose``.

What this relies on (Claude Code's headless mode, as documented in its CLI
reference and "headless mode" guide): ``-p``/``--print`` runs one prompt
non-interactively; ``--output-format stream-json`` prints one JSON event per
line as it works (``system``, ``assistant``, ``user`` messages: each line is
evidence of progress, a heartbeat), and requires ``--verbose`` with
``--print``. Its last event is the result, the very object that
``--output-format json`` would print alone::

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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, final

import attrs
import msgspec

from playbill.runtime import Usage

from ._agent_output import last_json_line, last_json_object
from ._agent_process import ProcessOutput
from ._backend import WorkOrder, string_tuple
from ._cli_agent import ToolAnswer, edits


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

    def files(self, order: WorkOrder) -> dict[str, str]:
        """None: the prompt goes on the command line."""
        return {}

    def command_line(self, order: WorkOrder, prompt: str, scratch: Path) -> list[str]:
        """``claude -p <prompt> --output-format stream-json --verbose [options]``."""
        argv = [self.executable, "-p", prompt, "--output-format", "stream-json", "--verbose"]
        if self.model is not None:
            argv += ["--model", self.model]
        if edits(order):
            argv += ["--permission-mode", self.permission_mode]
        if self.max_turns is not None:
            argv += ["--max-turns", str(self.max_turns)]
        return [*argv, *self.extra_args]

    def parse(self, out: ProcessOutput) -> ToolAnswer | None:
        """The result event's text, tokens, cost and error, if it printed one.

        The result is the last event of type ``result`` (the output of
        ``--output-format json``, one object, reads the same).
        """
        text = out.text()
        value = last_json_line(text, where=_is_result) or last_json_object(text)
        if value is None or not _is_result(value):
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


def _is_result(event: dict[str, Any]) -> bool:
    return event.get("type") == "result"
