"""The command backend: any program that reads a prompt and prints a JSON result.

The command line is a template. Each argument may hold placeholders,
substituted per argument (``str.format_map`` over a fixed set of names; an
unknown name is an error when the backend is made):

=================  =====================================================
``{prompt_file}``  the rendered prompt (markdown), outside the worktree
``{schema_file}``  the JSON schema of the expected payload
``{result_file}``  where ``result="file"`` commands write their result
``{worktree}``     the directory the command runs in
``{run}``          the run id
``{agent}``        the agent id
``{role}``         the role played
``{kind}``         ``work``, ``review`` or ``verify``
``{step}``         the step id
``{attempt}``      the attempt number
=================  =====================================================

The same values are in the environment as ``PLAYBILL_PROMPT_FILE``,
``PLAYBILL_SCHEMA_FILE``, ``PLAYBILL_RESULT_FILE``, ``PLAYBILL_WORKTREE``,
``PLAYBILL_RUN``, ``PLAYBILL_AGENT``, ``PLAYBILL_ROLE``, ``PLAYBILL_KIND``,
``PLAYBILL_STEP`` and ``PLAYBILL_ATTEMPT``; of the caller's environment only
``BASE_ENV`` and the names in ``env_allow`` reach the command.

The result is one JSON object (see ``CommandResult``)::

    {"payload": {"kind": "review", "verdict": "pass", "findings": []},
     "usage": {"tokens_in": 1200, "tokens_out": 80, "cost_usd": 0.002},
     "evidence": [], "gaps": [], "blockers": []}

With ``result="stdout"`` it is the last line of standard output that parses
as a JSON object (logs may come first); with ``result="file"`` it is the
whole content of ``{result_file}``.
"""

from __future__ import annotations

import shlex
import string
from pathlib import Path
from typing import TYPE_CHECKING, Any, final

import attrs
import msgspec
import trio

from playbill._inputs import InputRefused, read_input
from playbill._redact import Redactor
from playbill.runtime import ROLES, ResultEnvelope, Role, Usage

from ._agent_output import (
    decode_command_result,
    envelope,
    fail,
    last_json_line,
    missing_json_line,
    unsupported_role,
)
from ._agent_process import Scratch, agent_env, run_agent_process
from ._backend import (
    BackendConfigError,
    BackendError,
    Capabilities,
    Reporter,
    WorkOrder,
    check_ignore,
    role_set,
)
from ._prompt import render_prompt, schema_text
from ._sandbox import SANDBOXES, wrap

if TYPE_CHECKING:
    from ._backend_options import CommandOptions

PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "prompt_file",
        "schema_file",
        "result_file",
        "worktree",
        "run",
        "agent",
        "role",
        "kind",
        "step",
        "attempt",
    }
)
"""The names a command line template may use."""

_NOT_FOUND = 127  # the shell's exit status for a command it cannot find

RESULT_FILE_LIMIT = 16 * 1024 * 1024
"""Bytes a result file may have (``result = "file"``); a larger one is malformed output."""


def placeholders_of(template: str) -> set[str]:
    """The placeholder names used in one argument of a template.

    Raises:
        ValueError: The argument is not a valid format string, or uses a
            positional (``{}``), indexed or attribute placeholder, a
            conversion or a format specification.
    """
    names: set[str] = set()
    for _, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{field}}} is not a plain name")
        names.add(field)
    return names


@final
@attrs.frozen
class CommandBackend:
    """Runs a command per piece of work and reads its JSON result.

    See the module documentation for the placeholders, the environment and
    the result's shape; ``command(...)`` makes one from its options given
    one by one.

    Attributes:
        options: Its options (``CommandOptions``): the command line, where
            the result is read, its timeouts, its sandbox...
        roles: The roles it can play.
        edits_files: Whether it changes files.

    Raises:
        BackendConfigError: An option cannot work (no command line, an
            unknown placeholder, a timeout that is not positive...).
    """

    options: CommandOptions
    roles: frozenset[Role] = attrs.field(default=frozenset(ROLES), converter=role_set, kw_only=True)
    edits_files: bool = attrs.field(default=True, kw_only=True)

    def __attrs_post_init__(self) -> None:
        o = self.options
        if not o.argv or not all(isinstance(a, str) for a in o.argv):
            raise BackendConfigError("command", "argv", "must be a non-empty list of strings")
        if o.shell and len(o.argv) != 1:
            raise BackendConfigError("command", "argv", "with shell, give exactly one string")
        for arg in o.argv:
            try:
                unknown = placeholders_of(arg) - PLACEHOLDERS
            except ValueError as exc:
                raise BackendConfigError("command", "argv", f"{arg!r}: {exc}") from None
            if unknown:
                raise BackendConfigError(
                    "command",
                    "argv",
                    f"{arg!r}: unknown placeholder {', '.join(sorted(unknown))}"
                    f" (known: {', '.join(sorted(PLACEHOLDERS))})",
                )
        if o.result not in ("stdout", "file"):
            raise BackendConfigError("command", "result", "must be 'stdout' or 'file'")
        if not self.roles or not self.roles <= set(ROLES):
            raise BackendConfigError("command", "roles", f"must be among {', '.join(ROLES)}")
        for option in ("timeout_s", "heartbeat_s"):
            if not getattr(o, option) > 0:
                raise BackendConfigError("command", option, "must be positive")
        if o.kill_grace_s < 0:
            raise BackendConfigError("command", "kill_grace_s", "must not be negative")
        check_ignore("command", o.ignore)
        if o.sandbox not in SANDBOXES:
            raise BackendConfigError("command", "sandbox", f"must be one of {', '.join(SANDBOXES)}")

    @property
    def name(self) -> str:
        """``command``."""
        return "command"

    @property
    def capabilities(self) -> Capabilities:
        """Its roles; it returns typed results (JSON checked against the payload); ``ignore``."""
        return Capabilities(
            roles=self.roles,
            edits_files=self.edits_files,
            reports_usage=self.options.reports_usage,
            structured_output=True,
            tool_files=self.options.ignore,
        )

    def command_line(self, values: dict[str, str]) -> list[str]:
        """The command line with ``values`` substituted (quoted under ``shell``)."""
        if self.options.shell:
            quoted = {k: shlex.quote(v) for k, v in values.items()}
            return ["/bin/sh", "-c", self.options.argv[0].format_map(quoted)]
        return [arg.format_map(values) for arg in self.options.argv]

    def _label(self) -> str:
        argv, shell = self.options.argv, self.options.shell
        words = argv[0].split() if shell else [argv[0]]
        return f"command {Path(words[0]).name}" if words else "command"

    async def run(self, order: WorkOrder, report: Reporter) -> ResultEnvelope:
        """Run the command for ``order`` and return its result.

        Reports the result's usage (with the measured wall time) before
        returning; a failure carries what was consumed in its ``usage``.

        Raises:
            BackendError: ``policy``/``unsupported_role``;
                ``policy``/``backend_unavailable`` (cannot start, or the
                shell's exit status 127); ``agent``/``exit_status``
                (non-zero exit, with the redacted output tail);
                ``transient``/``timeout``; ``agent``/``malformed_output``
                (no result, not JSON, or not the expected payload, with the
                path of the mismatch).
        """
        if order.role not in self.roles:
            raise unsupported_role(self.name, order)
        o = self.options
        redactor = Redactor.from_environ()
        label = self._label()
        with Scratch() as scratch:
            prompt_file = scratch.io / "prompt.md"
            schema_file = scratch.io / "schema.json"
            result_file = scratch.io / "result.json"
            await trio.Path(prompt_file).write_text(render_prompt(order), encoding="utf-8")
            await trio.Path(schema_file).write_text(
                schema_text(order.role, order.kind), encoding="utf-8"
            )
            cwd = order.workspace if order.workspace is not None else str(scratch.work)
            values = {
                "prompt_file": str(prompt_file),
                "schema_file": str(schema_file),
                "result_file": str(result_file),
                "worktree": cwd,
                "run": order.run_id,
                "agent": order.agent,
                "role": order.role,
                "kind": order.kind,
                "step": order.step.id,
                "attempt": str(order.attempt),
            }
            env = agent_env(o.env_allow, {f"PLAYBILL_{k.upper()}": v for k, v in values.items()})
            argv = wrap(self.command_line(values), o, cwd=cwd, scratch=scratch.io.parent)
            out = await run_agent_process(
                argv,
                cwd=cwd,
                env=env,
                timeout_s=o.timeout_s,
                heartbeat_s=o.heartbeat_s,
                report=report,
                label=label,
                redactor=redactor,
                kill_grace_s=o.kill_grace_s,
            )
            spent = Usage(wall_s=out.wall_s)
            if o.shell and out.returncode == _NOT_FOUND:
                raise fail(
                    "policy",
                    "backend_unavailable",
                    f"{label}: the shell could not find the command (exit status 127)",
                    usage=spent,
                    output=out.combined(),
                    redactor=redactor,
                )
            if out.returncode != 0:
                raise fail(
                    "agent",
                    "exit_status",
                    f"{label} exited with status {out.returncode}",
                    usage=spent,
                    output=out.combined(),
                    redactor=redactor,
                )
            value: dict[str, Any] | None
            if o.result == "file":
                value = await _read_result_file(trio.Path(result_file), label, spent, redactor)
            else:
                value = last_json_line(out.text())
                if value is None:
                    raise fail(
                        "agent",
                        "malformed_output",
                        f"{label} {missing_json_line(out.text())}",
                        usage=spent,
                        output=out.combined(),
                        redactor=redactor,
                    )
        try:
            result = decode_command_result(value, order)
        except BackendError as bad:
            raise BackendError(bad.failure, spent) from None
        usage = msgspec.structs.replace(result.usage, wall_s=out.wall_s)
        await report.usage(usage)
        return envelope(
            order,
            result.payload,
            usage,
            exit_code=out.returncode,
            evidence=result.evidence,
            gaps=result.gaps,
            blockers=result.blockers,
        )


async def _read_result_file(
    path: trio.Path, label: str, spent: Usage, redactor: Redactor
) -> dict[str, Any]:
    # The agent wrote it, so it may be anything: a FIFO (which would block an
    # ordinary open), a link to /dev/zero, a file of any size.
    try:
        raw = await trio.to_thread.run_sync(read_input, str(path), RESULT_FILE_LIMIT)
    except InputRefused as refused:
        what = (
            "wrote no result file" if refused.missing else f"wrote a result file that is {refused}"
        )
        raise fail(
            "agent", "malformed_output", f"{label} {what}", usage=spent, redactor=redactor
        ) from None
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise fail(
            "agent",
            "malformed_output",
            f"{label} wrote a result file that is not JSON: {exc}",
            usage=spent,
            output=raw.decode("utf-8", errors="replace"),
            redactor=redactor,
        ) from None
    if not isinstance(value, dict):
        raise fail(
            "agent",
            "malformed_output",
            f"{label} wrote a result file that is not a JSON object",
            usage=spent,
            redactor=redactor,
        )
    return value
