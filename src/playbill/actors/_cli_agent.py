"""Coding-agent CLIs as backends: one generic runner, one ``CliTool`` per CLI.

A ``CliTool`` knows one program: how to put a prompt on its command line and
how to read its output (the final text, tokens and cost, an error it
reports). ``CliAgentBackend`` does the rest, the same for every tool: checks
the role, renders the prompt, runs the program in the order's workspace with
heartbeats and a timeout, and turns the final text into the role's payload.

An executor's payload is an ``ImplementationPayload`` whose summary is the
tool's final text (the runtime finds the changed files from git). Every
other payload is the last JSON object of the final text (the prompt asks for
one, in a fenced block), checked against the payload's type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, final

import attrs
import msgspec
import trio

from playbill._redact import Redactor, tail
from playbill.runtime import ImplementationPayload, ResultEnvelope, Role, RolePayload, Usage

from ._agent_output import decode_payload, envelope, fail, last_json_object, unsupported_role
from ._agent_process import ProcessOutput, Scratch, agent_env, run_agent_process
from ._backend import (
    BackendConfigError,
    BackendError,
    Capabilities,
    Reporter,
    WorkOrder,
    role_set,
    string_tuple,
)
from ._prompt import payload_type, render_prompt

SUMMARY_LIMIT = 4000
"""Characters of a tool's final text kept as an executor's summary."""


def edits(order: WorkOrder) -> bool:
    """Whether ``order`` asks for a change of files.

    Only an executor's work does, and only on a step with a scope: a step
    without one is read-only.
    """
    return payload_type(order.role, order.kind) is ImplementationPayload and bool(order.step.scope)


@final
@attrs.frozen
class ToolAnswer:
    """What a tool's output says.

    Attributes:
        text: Its final answer.
        usage: Tokens and cost (``wall_s`` is filled in by the backend).
        error: What went wrong, when the tool itself reports a failure.
    """

    text: str
    usage: Usage = attrs.field(factory=Usage)
    error: str | None = None


class CliTool(Protocol):
    """One coding-agent CLI: its command line and its output format."""

    @property
    def name(self) -> str:
        """The backend's name (``claude_code``, ``codex``, ``aider``)."""

    def files(self, order: WorkOrder) -> dict[str, str]:
        """Files (name to text) to write into the scratch directory first."""

    def command_line(self, order: WorkOrder, prompt: str, scratch: Path) -> list[str]:
        """The command line for ``order``; ``scratch`` holds ``files(order)``."""

    def parse(self, out: ProcessOutput) -> ToolAnswer | None:
        """Read the output; ``None`` when it holds no recognizable answer."""


@final
@attrs.frozen(kw_only=True)
class CliAgentBackend:
    """Runs a coding-agent CLI per piece of work (see the module documentation).

    Made by the preset factories (``claude_code``, ``codex``, ``aider``).

    Attributes:
        tool: The CLI.
        roles: The roles it can play.
        allowed_roles: The roles the tool can play at all (``roles`` must be
            among them).
        edits_files: Whether it changes files.
        env_allow: Environment variables passed through on top of
            ``BASE_ENV`` (the tool's credentials, for one).
        timeout_s: Seconds before the tool is killed.
        heartbeat_s: The least time between two heartbeats, which it sends
            when it shows progress (new lines of output, changes in its
            worktree), and between two scans of its worktree.
        kill_grace_s: Seconds it has to exit after ``SIGTERM``.
    """

    tool: CliTool
    roles: frozenset[Role] = attrs.field(converter=role_set)
    allowed_roles: frozenset[Role] = attrs.field(converter=role_set)
    edits_files: bool = True
    env_allow: tuple[str, ...] = attrs.field(default=(), converter=string_tuple)
    timeout_s: float = 1800.0
    heartbeat_s: float = 5.0
    kill_grace_s: float = 2.0

    def __attrs_post_init__(self) -> None:
        name = self.tool.name
        if not self.roles or not self.roles <= self.allowed_roles:
            raise BackendConfigError(
                name, "roles", f"must be among {', '.join(sorted(self.allowed_roles))}"
            )
        for option in ("timeout_s", "heartbeat_s"):
            if not getattr(self, option) > 0:
                raise BackendConfigError(name, option, "must be positive")
        if self.kill_grace_s < 0:
            raise BackendConfigError(name, "kill_grace_s", "must not be negative")

    @property
    def name(self) -> str:
        """The tool's name."""
        return self.tool.name

    @property
    def capabilities(self) -> Capabilities:
        """Its roles; it reports usage; its results are parsed from prose."""
        return Capabilities(
            roles=self.roles,
            edits_files=self.edits_files,
            reports_usage=True,
            structured_output=False,
        )

    async def run(self, order: WorkOrder, report: Reporter) -> ResultEnvelope:
        """Run the tool for ``order`` and return its result.

        Reports the usage (tokens, cost, wall time) before returning; a
        failure carries it in its ``usage`` instead.

        Raises:
            BackendError: ``policy``/``unsupported_role``;
                ``policy``/``backend_unavailable`` (the executable cannot be
                started); ``transient``/``timeout``; ``agent``/``agent_error``
                (the tool reports an error); ``agent``/``exit_status``
                (non-zero exit); ``agent``/``malformed_output`` (no answer,
                or no valid payload in it).
        """
        if order.role not in self.roles:
            raise unsupported_role(self.name, order)
        redactor = Redactor.from_environ()
        prompt = render_prompt(order)
        with Scratch() as scratch:
            for name, text in self.tool.files(order).items():
                await trio.Path(scratch.io / name).write_text(text, encoding="utf-8")
            out = await run_agent_process(
                self.tool.command_line(order, prompt, scratch.io),
                cwd=order.workspace if order.workspace is not None else str(scratch.work),
                env=agent_env(self.env_allow),
                timeout_s=self.timeout_s,
                heartbeat_s=self.heartbeat_s,
                report=report,
                label=self.name,
                redactor=redactor,
                kill_grace_s=self.kill_grace_s,
            )
        answer = self.tool.parse(out)
        usage = msgspec.structs.replace(
            answer.usage if answer is not None else Usage(), wall_s=out.wall_s
        )
        if answer is not None and answer.error is not None:
            raise fail(
                "agent",
                "agent_error",
                f"{self.name} reported an error: {tail(answer.error, 1000)}",
                usage=usage,
                output=out.stderr.decode("utf-8", errors="replace"),
                redactor=redactor,
            )
        if out.returncode != 0:
            raise fail(
                "agent",
                "exit_status",
                f"{self.name} exited with status {out.returncode}",
                usage=usage,
                output=out.combined(),
                redactor=redactor,
            )
        if answer is None:
            raise fail(
                "agent",
                "malformed_output",
                f"{self.name} printed no answer in its documented output format",
                usage=usage,
                output=out.combined(),
                redactor=redactor,
            )
        try:
            payload = self._payload(order, answer.text, redactor)
        except BackendError as bad:
            raise BackendError(bad.failure, usage) from None
        await report.usage(usage)
        return envelope(order, payload, usage, exit_code=out.returncode)

    def _payload(self, order: WorkOrder, text: str, redactor: Redactor) -> RolePayload:
        cls = payload_type(order.role, order.kind)
        if cls is ImplementationPayload:
            return ImplementationPayload(summary=redactor.redact(tail(text.strip(), SUMMARY_LIMIT)))
        value = last_json_object(text)
        if value is None:
            raise fail(
                "agent",
                "malformed_output",
                f"{self.name} ended its answer with no JSON object",
                output=text,
                redactor=redactor,
            )
        return decode_payload(value, cls, where="$answer")
