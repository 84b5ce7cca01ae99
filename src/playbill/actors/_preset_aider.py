"""Aider as a backend: ``aider --message <prompt> --yes-always ...``.

Aider has no JSON output. What this relies on (aider's options reference
and ``aider/coders/base_coder.py``): ``--message`` sends one message, applies
the reply and exits; ``--yes-always`` answers every question; with
``--no-auto-commits`` and ``--no-dirty-commits`` it leaves committing to the
runtime; ``--no-pretty`` and ``--no-stream`` print plain text, the whole
reply at once; ``--chat-mode ask`` answers without editing (for reviews).
After each reply it prints a usage report::

    Tokens: 2.1k sent, 300 received. Cost: $0.0081 message, $0.0081 session.
    Tokens: 12k sent, 1.5k cache write, 9.6k cache hit, 250 received.
    Cost: $0.02 message, $0.03 session.

(counts as ``format_tokens`` writes them: ``950``, ``2.1k``, ``12k``; the
cost part only when the model's price is known, on the next line when both
cache figures are shown). Tokens are summed over the reports ("sent" is
aider's own count of the prompt tokens, cache writes included); the cost is
the last session figure. Its history files are kept in the scratch
directory, out of the worktree, and ``--no-gitignore`` stops it from editing
``.gitignore``. What it still writes in the worktree (its repository map's
cache ``.aider.tags.cache.v4/``, and any ``.aider*`` file a configuration
adds) is ignored there (``TOOL_FILES``).

A run with no usage report never reached the model: it has no answer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import final

import attrs

from playbill.runtime import Usage

from ._agent_process import ProcessOutput
from ._backend import WorkOrder, string_tuple
from ._cli_agent import ToolAnswer, edits

TOOL_FILES: tuple[str, ...] = (".aider*",)
"""What aider writes for itself where it works: ``.aider.tags.cache.v4/``,
``.aider.chat.history.md``, ``.aider.input.history``, ``.aider.llm.history``."""

_COUNT = r"[\d.,]+[kKmM]?"
TOKENS = re.compile(
    rf"Tokens: (?P<sent>{_COUNT}) sent"
    rf"(?:, (?P<write>{_COUNT}) cache write)?"
    rf"(?:, (?P<hit>{_COUNT}) cache hit)?"
    rf", (?P<received>{_COUNT}) received\."
)
"""Aider's token report."""

COST = re.compile(r"Cost: \$(?P<message>[\d.,]+) message, \$(?P<session>[\d.,]+) session\.")
"""Aider's cost report."""


def parse_count(text: str) -> int:
    """A token count as aider prints it (``950``, ``2.1k``, ``12,450``, ``1.2M``)."""
    text = text.replace(",", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    number = text[:-1] if scale != 1 else text
    return round(float(number) * scale)


@final
@attrs.frozen(kw_only=True)
class AiderTool:
    """How to run aider and read its plain-text output.

    Attributes:
        executable: The program (``aider``, or a path).
        model: ``--model``, when given.
        extra_args: Further arguments, after the others.
    """

    executable: str = "aider"
    model: str | None = None
    extra_args: tuple[str, ...] = attrs.field(default=(), converter=string_tuple)

    @property
    def name(self) -> str:
        """``aider``."""
        return "aider"

    @property
    def tool_files(self) -> tuple[str, ...]:
        """Its caches and history files, ``.aider*`` (``TOOL_FILES``)."""
        return TOOL_FILES

    def files(self, order: WorkOrder) -> dict[str, str]:
        """None: the prompt goes on the command line."""
        return {}

    def command_line(self, order: WorkOrder, prompt: str, scratch: Path) -> list[str]:
        """``aider --message <prompt> --yes-always --no-auto-commits ... [options]``."""
        argv = [
            self.executable,
            "--message",
            prompt,
            "--yes-always",
            "--no-auto-commits",
            "--no-dirty-commits",
            "--no-pretty",
            "--no-stream",
            "--no-check-update",
            "--no-analytics",
            "--no-gitignore",
            "--input-history-file",
            str(scratch / "aider.input.history"),
            "--chat-history-file",
            str(scratch / "aider.chat.history.md"),
        ]
        if not edits(order):
            argv += ["--chat-mode", "ask"]
        if self.model is not None:
            argv += ["--model", self.model]
        return [*argv, *self.extra_args]

    def parse(self, out: ProcessOutput) -> ToolAnswer | None:
        """Its output without the usage reports, and the usage they add up to."""
        text = out.text()
        reports = list(TOKENS.finditer(text))
        if not reports:
            return None
        costs = list(COST.finditer(text))
        usage = Usage(
            tokens_in=sum(parse_count(m["sent"]) for m in reports),
            tokens_out=sum(parse_count(m["received"]) for m in reports),
            cost_usd=float(costs[-1]["session"].replace(",", "")) if costs else 0.0,
        )
        kept = []
        for line in text.splitlines():
            stripped = COST.sub("", TOKENS.sub("", line))
            if stripped == line or stripped.strip():
                kept.append(stripped.rstrip())
        return ToolAnswer(text="\n".join(kept).strip(), usage=usage)
