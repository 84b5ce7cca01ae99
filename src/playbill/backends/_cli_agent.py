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

from collections.abc import Mapping
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
    check_ignore,
    role_set,
    string_tuple,
)
from ._prompt import payload_type, render_prompt
from ._sandbox import SANDBOXES, Sandboxable, wrap
from ._tool_needs import ToolNeeds
from ._tool_version import ToolVersionError, Version, VersionRange

SUMMARY_LIMIT = 4000
"""Characters of a tool's final text kept as an executor's summary."""

DENIALS_SHOWN = 10
"""Refused tool calls named in a ``permission_denied`` failure; the rest are counted."""


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
        error_kind: The failure's kind (class ``agent``): ``agent_error``,
            or one the tool tells apart (``max_turns``, ``malformed_output``...).
        denied: The tool calls the tool refused the agent, one line each
            (the tool, what it was for, why): work that edits fails with
            ``agent``/``permission_denied`` when there is any.
    """

    text: str
    usage: Usage = attrs.field(factory=Usage)
    error: str | None = None
    error_kind: str = "agent_error"
    denied: tuple[str, ...] = ()


class CliTool(Protocol):
    """One coding-agent CLI: its command line and its output format."""

    @property
    def name(self) -> str:
        """The backend's name (``claude_code``, ``codex``, ``aider``)."""

    @property
    def executable(self) -> str:
        """The program (a name looked up on ``PATH``, or a path)."""

    @property
    def supported(self) -> VersionRange:
        """The releases this tool's flags and output format were tested with."""

    @property
    def tool_files(self) -> tuple[str, ...]:
        """Gitignore patterns of what the tool writes for itself where it works."""

    def files(self, order: WorkOrder) -> dict[str, str]:
        """Files (name to text) to write into the scratch directory first."""

    def command_line(
        self, order: WorkOrder, prompt: str, scratch: Path, version: Version
    ) -> list[str]:
        """The command line for ``order``; ``scratch`` holds ``files(order)``.

        ``version`` is the installed release (flags that changed across
        releases are chosen by it).
        """

    def parse(self, out: ProcessOutput) -> ToolAnswer | None:
        """Read the output; ``None`` when it holds no recognizable answer.

        ``out.scratch`` is the scratch directory, still there: a tool told
        to write logs into it is read from them. Runs in a worker thread.

        Raises:
            BackendError: ``agent``/``malformed_output``, for output that
                cannot be trusted (an impossible usage report).
        """

    def needs(self, env: Mapping[str, str]) -> ToolNeeds:
        """What it needs besides its executable (a credential, an endpoint).

        ``env`` is the environment the tool gets; its own files (a stored
        login, a configuration) may be read. For ``playbill doctor``.
        """


class CliOptions(Sandboxable, Protocol):
    """The options every coding-agent CLI's backend has (``ClaudeCodeOptions``...).

    Each preset's options class declares them (with its own), in the order
    its plans list them; ``CliAgentBackend`` reads them from it.
    """

    @property
    def plays(self) -> frozenset[Role]:
        """The roles the tool can play at all."""

    @property
    def edits(self) -> bool:
        """Whether it changes files."""

    @property
    def env_allow(self) -> tuple[str, ...]:
        """Environment variables passed through besides ``BASE_ENV`` and the tool's own."""

    @property
    def timeout_s(self) -> float:
        """Seconds before the tool is killed."""

    @property
    def heartbeat_s(self) -> float:
        """The least time between two heartbeats, and between two scans of its worktree."""

    @property
    def kill_grace_s(self) -> float:
        """Seconds it has to exit after ``SIGTERM``."""

    @property
    def allow_untested_version(self) -> bool:
        """Run a release outside ``CliTool.supported`` instead of refusing it."""

    @property
    def ignore(self) -> tuple[str, ...]:
        """Gitignore patterns of further files it writes for itself."""


@final
@attrs.frozen(kw_only=True)
class CliAgentBackend:
    """Runs a coding-agent CLI per piece of work (see the module documentation).

    Made by the preset factories (``claude_code``, ``codex``, ``aider``).

    Attributes:
        options: The preset's options (``ClaudeCodeOptions``...): the ones
            every CLI has (``CliOptions``: its timeouts, its sandbox...)
            are read from them; the tool holds the others.
        tool: The CLI.
        roles: The roles it can play (among ``options.plays``).
        tool_env: Environment variables the tool gets besides ``BASE_ENV``
            and ``options.env_allow``: its credentials, endpoint and
            settings.
        secret_env: Names of variables whose values are secrets whatever
            their names look like (a key's variable the user named): they
            are redacted like ``*_KEY`` ones.
        env: Variables set for the tool whatever the environment holds
            (switches that keep it off the network, say).
    """

    options: CliOptions
    tool: CliTool
    roles: frozenset[Role] = attrs.field(converter=role_set)
    tool_env: tuple[str, ...] = attrs.field(default=(), converter=string_tuple)
    secret_env: tuple[str, ...] = attrs.field(default=(), converter=string_tuple)
    env: Mapping[str, str] = attrs.field(factory=dict)
    _probed: dict[str, Version] = attrs.field(init=False, factory=dict, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        name, o = self.tool.name, self.options
        if not self.roles or not self.roles <= o.plays:
            raise BackendConfigError(name, "roles", f"must be among {', '.join(sorted(o.plays))}")
        check_ignore(name, o.ignore)
        if o.sandbox not in SANDBOXES:
            raise BackendConfigError(name, "sandbox", f"must be one of {', '.join(SANDBOXES)}")
        for option in ("timeout_s", "heartbeat_s"):
            if not getattr(o, option) > 0:
                raise BackendConfigError(name, option, "must be positive")
        if o.kill_grace_s < 0:
            raise BackendConfigError(name, "kill_grace_s", "must not be negative")

    @property
    def passed_env(self) -> tuple[str, ...]:
        """The variables passed through on top of ``BASE_ENV``: ``tool_env``, ``env_allow``."""
        return (*self.tool_env, *self.options.env_allow)

    @property
    def name(self) -> str:
        """The tool's name."""
        return self.tool.name

    @property
    def capabilities(self) -> Capabilities:
        """Its roles; it reports usage; its results are parsed from prose; its tool's files."""
        return Capabilities(
            roles=self.roles,
            edits_files=self.options.edits,
            reports_usage=True,
            structured_output=False,
            tool_files=(*self.tool.tool_files, *self.options.ignore),
        )

    async def probe(self) -> Version:
        """The installed release of the tool, read once from ``--version``.

        Returns:
            The release (checked against ``tool.supported`` unless
            ``allow_untested_version``).

        Raises:
            ToolVersionError: The program is missing or cannot be run, prints
                no release number, or its release is not supported.
        """
        cached = self._probed.get("version")
        if cached is not None:
            return cached
        tool = self.tool
        try:
            done = await trio.run_process(
                [tool.executable, "--version"],
                capture_stdout=True,
                capture_stderr=True,
                check=False,
                stdin=b"",
                env=agent_env(self.passed_env, self.env),
                start_new_session=True,
            )
        except FileNotFoundError:
            raise ToolVersionError(
                tool.name, tool.executable, None, tool.supported, "not found"
            ) from None
        except OSError as exc:
            raise ToolVersionError(
                tool.name,
                tool.executable,
                None,
                tool.supported,
                f"cannot be run: {exc.strerror or exc}",
            ) from None
        printed = (done.stdout + b"\n" + done.stderr).decode("utf-8", errors="replace")
        version = Version.parse(printed) if done.returncode == 0 else None
        if version is None:
            raise ToolVersionError(
                tool.name,
                tool.executable,
                None,
                tool.supported,
                f"`--version` printed no release number (exit status {done.returncode})",
            )
        if version not in tool.supported and not self.options.allow_untested_version:
            raise ToolVersionError(
                tool.name,
                tool.executable,
                version,
                tool.supported,
                f"release {version} is not supported (supported: {tool.supported}); "
                "set allow_untested_version = true to run it anyway",
            )
        self._probed["version"] = version
        return version

    async def run(self, order: WorkOrder, report: Reporter) -> ResultEnvelope:
        """Run the tool for ``order`` and return its result.

        Reports the usage (tokens, cost, wall time) before returning; a
        failure carries it in its ``usage`` instead.

        Raises:
            BackendError: ``policy``/``unsupported_role``;
                ``agent``/``permission_denied`` (work that edits was refused
                tool calls: it did not do all it was asked);
                ``policy``/``backend_unavailable`` (the executable cannot be
                started); ``policy``/``unsupported_version`` (its release is
                outside ``tool.supported``); ``transient``/``timeout``; ``agent``/``agent_error``
                (the tool reports an error; or the kind it tells apart,
                ``ToolAnswer.error_kind``); ``agent``/``exit_status``
                (non-zero exit); ``agent``/``malformed_output`` (no answer,
                or no valid payload in it).
        """
        if order.role not in self.roles:
            raise unsupported_role(self.name, order)
        redactor = Redactor.from_environ(extra=self.secret_env)
        try:
            version = await self.probe()
        except ToolVersionError as bad:
            code = "backend_unavailable" if bad.found is None else "unsupported_version"
            raise fail("policy", code, str(bad), redactor=redactor) from None
        prompt = render_prompt(order)
        with Scratch() as scratch:
            for name, text in self.tool.files(order).items():
                await trio.Path(scratch.io / name).write_text(text, encoding="utf-8")
            cwd = order.workspace if order.workspace is not None else str(scratch.work)
            argv = wrap(
                self.tool.command_line(order, prompt, scratch.io, version),
                self.options,
                cwd=cwd,
                scratch=scratch.io.parent,
            )
            out = await run_agent_process(
                argv,
                cwd=cwd,
                env=agent_env(self.passed_env, self.env),
                timeout_s=self.options.timeout_s,
                heartbeat_s=self.options.heartbeat_s,
                report=report,
                label=self.name,
                redactor=redactor,
                kill_grace_s=self.options.kill_grace_s,
            )
            # the tool's logs in the scratch directory are read before it goes
            try:
                answer = await trio.to_thread.run_sync(
                    self.tool.parse, attrs.evolve(out, scratch=scratch.io)
                )
            except BackendError as bad:  # its detail may quote the output: redacted again
                failure = redactor.redact_value(bad.failure)
                raise BackendError(failure, Usage(wall_s=out.wall_s)) from None
        usage = msgspec.structs.replace(
            answer.usage if answer is not None else Usage(), wall_s=out.wall_s
        )
        if answer is not None and answer.error is not None:
            said = "reported an error" if answer.error_kind == "agent_error" else "failed"
            raise fail(
                "agent",
                answer.error_kind,
                f"{self.name} {said}: {tail(answer.error, 1000)}",
                usage=usage,
                output=out.stderr.decode("utf-8", errors="replace"),
                redactor=redactor,
            )
        if answer is not None and answer.denied and edits(order):
            raise fail(
                "agent",
                "permission_denied",
                _refused(self.name, answer.denied),
                usage=usage,
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
            raise BackendError(redactor.redact_value(bad.failure), usage) from None
        await report.usage(usage)
        return redactor.redact_value(envelope(order, payload, usage, exit_code=out.returncode))

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


def _refused(name: str, denied: tuple[str, ...]) -> str:
    shown = "\n".join(f"- {line}" for line in denied[:DENIALS_SHOWN])
    more = len(denied) - DENIALS_SHOWN
    if more > 0:
        shown += f"\n- and {more} more"
    calls = "call" if len(denied) == 1 else "calls"
    return f"{name} was refused {len(denied)} tool {calls} while editing:\n{shown}"
