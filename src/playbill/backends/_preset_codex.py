"""Codex CLI as a backend: ``codex exec --json [options] <prompt>``.

What this relies on, checked against the real ``codex`` 0.171.0 (the tests
in ``tests/test_real_codex.py`` run it against a scripted Responses API
server):

- ``codex exec`` runs one turn non-interactively (it never asks for an
  approval) and exits; ``--json`` streams JSON Lines events to standard
  output as they happen: ``thread.started``, ``turn.started``,
  ``item.started`` / ``item.updated`` / ``item.completed`` (``item.type``
  ``agent_message`` with its ``text``, ``reasoning``,
  ``command_execution``, ``file_change``, ``error`` for a warning...), then
  ``turn.completed`` (with ``usage``) or ``turn.failed`` (with
  ``error.message``); ``error`` events (``message``) report retries and
  the error a turn failed with. The last ``agent_message`` is the answer.
- ``--sandbox workspace-write`` lets its commands and ``apply_patch`` edit
  the working directory (and the temporary directories) and nothing else;
  ``--sandbox read-only`` lets them edit nothing; ``--sandbox
  danger-full-access`` runs them unsandboxed. (``--full-auto`` is gone: the
  release rejects it.) Its Linux sandbox is a bubblewrap it ships with.
- ``--output-schema FILE`` sends the schema as the request's strict
  ``json_schema`` format; it is strict already (see ``_prompt.result_schema``).
- ``--skip-git-repo-check`` lets it run outside a git repository: in a
  scratch directory, or in a view of the repository (a planner's, a
  verifier step's), which has no ``.git``.
- It ignores ``OPENAI_BASE_URL``. Another endpoint is a model provider:
  ``-c model_providers.<id>.base_url="..."`` (with ``name`` and
  ``env_key``, the variable holding the key it sends as a bearer token) and
  ``-c model_provider="<id>"``. The ids ``openai``, ``ollama``, ``lmstudio``
  and ``amazon-bedrock`` are its own and cannot be redefined; only the
  Responses API is spoken (``wire_api = "chat"`` is refused).
- ``turn.completed``'s ``usage`` is the thread's running total, and exec
  ends after its first completed turn: the last one is the work's usage
  (not a sum). ``input_tokens`` includes ``cached_input_tokens``, and
  ``output_tokens`` includes ``reasoning_output_tokens``, as the API
  reports them. A figure that is not a whole number from 0 to 2**53 - 1
  (it passes on whatever the server said, a negative count included) is
  not trusted: ``agent``/``bad_usage``. Codex reports no cost: it is
  computed from the prices given, and is 0 when none are.

Codex keeps its sessions and logs in ``$CODEX_HOME`` (``~/.codex``) and
writes nothing of its own in the directory it works in (``AGENTS.md`` is
the user's): it declares no tool files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, final

import attrs

from playbill.runtime import Usage

from ._agent_output import fail, json_lines
from ._agent_process import ProcessOutput
from ._backend import BackendConfigError, WorkOrder, string_tuple
from ._cli_agent import ToolAnswer, edits
from ._prompt import schema_text
from ._tool_needs import ToolNeeds, codex_needs
from ._tool_version import Version, VersionRange

SCHEMA_FILE = "schema.json"

SUPPORTED = VersionRange(Version(0, 171, 0), Version(0, 172, 0))
"""The releases this preset was tested with (``tests/agent_clis.toml``)."""

DEFAULT_PROVIDER = "playbill"
"""The id of the model provider defined for ``base_url`` when ``provider`` is not given."""

BUILT_IN_PROVIDERS = frozenset({"openai", "ollama", "lmstudio", "amazon-bedrock"})
"""Provider ids Codex keeps for itself: a ``base_url`` cannot redefine them."""

PROVIDER_ID = re.compile(r"[A-Za-z0-9_-]+")
"""What a provider id may be: a bare TOML key (it is part of a dotted ``-c`` path)."""

MAX_COUNT = 2**53 - 1
"""The largest token count trusted (beyond it, floats and the journal lose exactness)."""

USAGE_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens")
"""The figures of ``turn.completed``'s ``usage`` that are read."""


@final
@attrs.frozen(kw_only=True)
class CodexTool:
    """How to run Codex and read its JSON Lines events.

    Attributes:
        executable: The program (``codex``, or a path).
        model: ``--model``, when given.
        provider: The model provider's id: with ``base_url``, the id of the
            provider defined for it (``playbill`` when not given); without,
            a provider of Codex's own or of the user's ``config.toml``
            selected with ``-c model_provider=...``.
        base_url: The base URL of a Responses API (``http://host/v1``) to
            use instead of the configured provider's.
        env_key: The environment variable holding the key Codex sends to
            ``base_url``.
        full_access: Run every piece of work unsandboxed (``--sandbox
            danger-full-access``) instead of ``workspace-write`` for edits
            and ``read-only`` for the rest.
        output_schema: Pass the payload's schema with ``--output-schema``
            for answers that are JSON (everything but an executor's work).
        extra_args: Further arguments, before the prompt.
        price_in_per_mtok: US dollars per million input tokens.
        price_cached_in_per_mtok: US dollars per million cached input
            tokens (``price_in_per_mtok`` when ``None``).
        price_out_per_mtok: US dollars per million output tokens.

    Raises:
        BackendConfigError: A provider id that is not a bare key, one of
            Codex's own with a ``base_url``, or an ``env_key`` without one.
    """

    executable: str = "codex"
    model: str | None = None
    provider: str | None = None
    base_url: str | None = None
    env_key: str | None = None
    full_access: bool = False
    output_schema: bool = True
    extra_args: tuple[str, ...] = attrs.field(default=(), converter=string_tuple)
    price_in_per_mtok: float = 0.0
    price_cached_in_per_mtok: float | None = None
    price_out_per_mtok: float = 0.0

    def __attrs_post_init__(self) -> None:
        if self.provider is not None and not PROVIDER_ID.fullmatch(self.provider):
            raise BackendConfigError(
                "codex", "provider", "expected an id of letters, digits, '_' and '-'"
            )
        if self.base_url is not None and self.provider in BUILT_IN_PROVIDERS:
            raise BackendConfigError(
                "codex",
                "provider",
                f"{self.provider!r} is a provider of Codex's own, which a base_url cannot "
                "redefine; name the provider for base_url otherwise (or leave it out)",
            )
        if self.env_key is not None and self.base_url is None:
            raise BackendConfigError(
                "codex",
                "env_key",
                "names the key of the provider defined for base_url: give base_url too",
            )

    @property
    def name(self) -> str:
        """``codex``."""
        return "codex"

    @property
    def supported(self) -> VersionRange:
        """The releases tested: see ``SUPPORTED``."""
        return SUPPORTED

    @property
    def tool_files(self) -> tuple[str, ...]:
        """None: Codex writes nothing of its own where it works."""
        return ()

    def files(self, order: WorkOrder) -> dict[str, str]:
        """The payload's schema, when it is passed with ``--output-schema``."""
        if self.output_schema and not edits(order):
            return {SCHEMA_FILE: schema_text(order.role, order.kind)}
        return {}

    def provider_overrides(self) -> list[str]:
        """The ``-c`` arguments that choose the model provider (none: the user's config)."""
        if self.base_url is None:
            if self.provider is None:
                return []
            return ["-c", f"model_provider={_toml(self.provider)}"]
        pid = self.provider or DEFAULT_PROVIDER
        table = {"name": pid, "base_url": self.base_url}
        if self.env_key is not None:
            table["env_key"] = self.env_key
        argv = []
        for key, value in table.items():
            argv += ["-c", f"model_providers.{pid}.{key}={_toml(value)}"]
        return [*argv, "-c", f"model_provider={_toml(pid)}"]

    def command_line(
        self, order: WorkOrder, prompt: str, scratch: Path, version: Version
    ) -> list[str]:
        """``codex exec --json [options] <prompt>``.

        The flags used are the same in every release tested, so ``version``
        chooses nothing yet.
        """
        argv = [self.executable, "exec", "--json"]
        if self.model is not None:
            argv += ["--model", self.model]
        if self.full_access:
            sandbox = "danger-full-access"
        else:
            sandbox = "workspace-write" if edits(order) else "read-only"
        argv += ["--sandbox", sandbox]
        if order.workspace is None or order.view:
            # a scratch directory, or a view of the repository (no .git)
            argv.append("--skip-git-repo-check")
        argv += self.provider_overrides()
        if SCHEMA_FILE in self.files(order):
            argv += ["--output-schema", str(scratch / SCHEMA_FILE)]
        return [*argv, *self.extra_args, prompt]

    def parse(self, out: ProcessOutput) -> ToolAnswer | None:
        """The last agent message, the turn's usage and a failed turn's error.

        The last turn decides: completed, no error (an ``error`` event it
        recovered from, a reconnect say, does not count); failed, its
        error. With no turn ended, an ``error`` event is the error, and
        without one there is no answer at all.

        Raises:
            BackendError: ``agent``/``bad_usage``: a usage figure
                that cannot be trusted.
        """
        usage: dict[str, Any] = {}
        message: str | None = None
        last_turn: str | None = None
        failure = stray = None
        edits: dict[str, str] = {}  # path: the status of its last file change
        for event in json_lines(out.text()):
            match event.get("type"):
                case "turn.completed":
                    last_turn = "completed"
                    usage = _usage_object(event.get("usage"), out)
                case "turn.failed":
                    last_turn = "failed"
                    failure = _message(event.get("error")) or "the turn failed"
                case "error":
                    stray = _message(event) or "error"
                case "item.completed":
                    item = event.get("item")
                    if not isinstance(item, dict):
                        continue
                    if item.get("type") == "agent_message" and isinstance(item.get("text"), str):
                        message = item["text"]
                    _file_changes(item, edits)
                case _:
                    pass
        if last_turn is None and stray is None:
            return None
        error = {"completed": None, "failed": failure, None: stray}[last_turn]
        kind = "agent_error"
        failed = [path for path, status in edits.items() if status == "failed"]
        if error is None and failed:
            kind, error = "edit_failed", _unwritten(failed)
        return ToolAnswer(
            text=message or "", usage=self._usage(usage, out), error=error, error_kind=kind
        )

    def _usage(self, reported: dict[str, Any], out: ProcessOutput) -> Usage:
        counts = {}
        for field in USAGE_FIELDS:
            value = reported.get(field, 0)
            if type(value) is not int or not 0 <= value <= MAX_COUNT:
                raise fail(
                    "agent",
                    "bad_usage",
                    f"codex reported {field} = {_shown(value)} in its usage, "
                    f"which is not a count of tokens (a whole number from 0 to {MAX_COUNT})",
                    usage=Usage(wall_s=out.wall_s),
                )
            counts[field] = value
        tokens_in, cached = counts["input_tokens"], counts["cached_input_tokens"]
        tokens_out = counts["output_tokens"]
        if cached > tokens_in:
            raise fail(
                "agent",
                "bad_usage",
                f"codex reported {cached} cached input tokens of {tokens_in} input tokens",
                usage=Usage(wall_s=out.wall_s),
            )
        cached_price = self.price_cached_in_per_mtok
        if cached_price is None:
            cached_price = self.price_in_per_mtok
        cost = (
            (tokens_in - cached) * self.price_in_per_mtok
            + cached * cached_price
            + tokens_out * self.price_out_per_mtok
        ) / 1_000_000
        return Usage(tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=cost)

    # What `playbill doctor` checks (see _tool_needs): kept at the end of the class.
    def needs(self, env: Mapping[str, str]) -> ToolNeeds:
        """The provider's key and endpoint (the ``-c`` overrides of ``provider``, too)."""
        return codex_needs(env, [*self.provider_overrides(), *self.extra_args])


def _usage_object(value: object, out: ProcessOutput) -> dict[str, Any]:
    """``turn.completed``'s ``usage``: an object, or none at all (no figures)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail(
            "agent",
            "bad_usage",
            f"codex reported a usage that is not an object: {_shown(value)}",
            usage=Usage(wall_s=out.wall_s),
        )
    return value


def _unwritten(paths: list[str]) -> str:
    """Why an answer whose edits did not all reach the disk fails, and what to do."""
    return (
        f"it could not write {', '.join(paths[:5])}. Its sandbox refused the write; if "
        "none of its edits can be written, the sandbox cannot run here: Codex uses the "
        "bubblewrap on PATH when there is one, and one older than 0.9 (Debian 12's) "
        "does not work with it. Remove or upgrade it, or run Codex unsandboxed "
        "(full_access = true)"
    )


def _file_changes(item: dict[str, Any], edits: dict[str, str]) -> None:
    """Note the status of each path a ``file_change`` item changed (the last one counts)."""
    if item.get("type") != "file_change":
        return
    changes = item.get("changes")
    status = item.get("status")
    if not isinstance(changes, list) or not isinstance(status, str):
        return
    for change in changes:
        if isinstance(change, dict) and isinstance(change.get("path"), str):
            edits[change["path"]] = status


def _toml(value: str) -> str:
    """``value`` as a TOML basic string (a JSON string is one, non-ASCII left as is)."""
    return json.dumps(value, ensure_ascii=False)


def _shown(value: object) -> str:
    """A reported figure for a failure's detail: short, whatever it is."""
    return json.dumps(value)[:40]


def _message(value: object) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        return str(value["message"])
    return None
