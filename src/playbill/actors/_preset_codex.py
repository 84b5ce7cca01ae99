"""Codex CLI as a backend: ``codex exec --json <prompt>``.

What this relies on (``docs/exec.md`` of openai/codex, "JSON output mode"):
``codex exec`` runs non-interactively; with ``--json`` it streams JSON Lines
events to standard output: ``thread.started``, ``turn.started``,
``turn.completed`` (with ``usage``: ``input_tokens``,
``cached_input_tokens``, ``output_tokens``), ``turn.failed`` (with
``error.message``), ``error`` (with ``message``) and ``item.started`` /
``item.updated`` / ``item.completed`` whose ``item.type`` is
``agent_message`` (its ``text`` is the assistant's message), ``reasoning``,
``command_execution``, ``file_change``... "Typically, an ``agent_message``
is added at the end of the turn": the last one is the final answer.
``--full-auto`` allows file edits (the default sandbox is read-only);
``--output-schema FILE`` makes the final message JSON matching a strict
schema; ``--skip-git-repo-check`` lets it run outside a git repository.

Tokens are summed over ``turn.completed`` events (``cached_input_tokens`` are
part of ``input_tokens``). Codex reports no cost: it is computed from the
prices given, and is 0 when none are.

Codex keeps its sessions and logs in ``$CODEX_HOME`` (``~/.codex``) and
writes nothing of its own in the directory it works in (``AGENTS.md`` is
the user's): it declares no tool files.
"""

from __future__ import annotations

from pathlib import Path
from typing import final

import attrs

from playbill.runtime import Usage

from ._agent_output import json_lines
from ._agent_process import ProcessOutput
from ._backend import WorkOrder, string_tuple
from ._cli_agent import ToolAnswer, edits
from ._prompt import schema_text

SCHEMA_FILE = "schema.json"


@final
@attrs.frozen(kw_only=True)
class CodexTool:
    """How to run Codex and read its JSON Lines events.

    Attributes:
        executable: The program (``codex``, or a path).
        model: ``--model``, when given.
        output_schema: Pass the payload's schema with ``--output-schema``
            for answers that are JSON (everything but an executor's work).
        extra_args: Further arguments, before the prompt.
        price_in_per_mtok: US dollars per million input tokens.
        price_out_per_mtok: US dollars per million output tokens.
    """

    executable: str = "codex"
    model: str | None = None
    output_schema: bool = True
    extra_args: tuple[str, ...] = attrs.field(default=(), converter=string_tuple)
    price_in_per_mtok: float = 0.0
    price_out_per_mtok: float = 0.0

    @property
    def name(self) -> str:
        """``codex``."""
        return "codex"

    @property
    def tool_files(self) -> tuple[str, ...]:
        """None: Codex writes nothing of its own where it works."""
        return ()

    def files(self, order: WorkOrder) -> dict[str, str]:
        """The payload's schema, when it is passed with ``--output-schema``."""
        if self.output_schema and not edits(order):
            return {SCHEMA_FILE: schema_text(order.role, order.kind)}
        return {}

    def command_line(self, order: WorkOrder, prompt: str, scratch: Path) -> list[str]:
        """``codex exec --json [options] <prompt>``."""
        argv = [self.executable, "exec", "--json"]
        if self.model is not None:
            argv += ["--model", self.model]
        argv += ["--full-auto"] if edits(order) else ["--sandbox", "read-only"]
        if order.workspace is None:
            argv.append("--skip-git-repo-check")
        if SCHEMA_FILE in self.files(order):
            argv += ["--output-schema", str(scratch / SCHEMA_FILE)]
        return [*argv, *self.extra_args, prompt]

    def parse(self, out: ProcessOutput) -> ToolAnswer | None:
        """The last agent message, the summed usage and a failed turn's error.

        The last turn decides: completed, no error (an ``error`` event it
        recovered from, a reconnect say, does not count); failed, its
        error. With no turn ended, an ``error`` event is the error, and
        without one there is no answer at all.
        """
        tokens_in = tokens_out = 0
        message: str | None = None
        last_turn: str | None = None
        failure = stray = None
        for event in json_lines(out.text()):
            match event.get("type"):
                case "turn.completed":
                    last_turn = "completed"
                    usage = event.get("usage") or {}
                    tokens_in += _count(usage.get("input_tokens"))
                    tokens_out += _count(usage.get("output_tokens"))
                case "turn.failed":
                    last_turn = "failed"
                    failure = _message(event.get("error")) or "the turn failed"
                case "error":
                    stray = _message(event) or "error"
                case "item.completed":
                    item = event.get("item") or {}
                    if item.get("type") == "agent_message" and isinstance(item.get("text"), str):
                        message = item["text"]
                case _:
                    pass
        if last_turn is None and stray is None:
            return None
        error = {"completed": None, "failed": failure, None: stray}[last_turn]
        usage = Usage(
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost_usd=(tokens_in * self.price_in_per_mtok + tokens_out * self.price_out_per_mtok)
            / 1_000_000,
        )
        return ToolAnswer(text=message or "", usage=usage, error=error)


def _count(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _message(value: object) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        return str(value["message"])
    return None
