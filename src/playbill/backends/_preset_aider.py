"""Aider as a backend: ``aider --message-file <prompt> --yes-always ...``.

Aider has no JSON output: its standard output is banners, warnings, the
model's words (re-wrapped to 80 columns), applied-edit lines and usage
reports, in one stream a model can write into. So the answer and the usage
are read from two logs aider writes on request into the scratch directory,
out of the worktree (``_aider_logs``): ``--llm-history-file``, where every
line of every model reply is prefixed ``ASSISTANT`` under an ``LLM
RESPONSE`` header, and ``--analytics-log``, where aider logs a JSON
``message_send`` event per model call with its tokens and cost (locally:
with ``--no-analytics`` nothing is sent anywhere). Standard output is only
progress, and the end of it the detail of a failure.

The command line (aider's options reference, checked against ``aider --help``
of 0.86.2; the source of ``aider/main.py``, ``io.py`` and
``coders/base_coder.py`` for what they do):

- ``--message-file`` sends one message, applies the reply and exits (the
  prompt in a file: no limit on an argument's length applies);
- ``--yes-always`` answers every question yes, which is needed to edit
  files not in the chat yet, but also opens every URL aider offers (model
  warnings, errors) in a browser: ``BROWSER=true`` makes that a no-op;
- ``--no-auto-commits``, ``--no-dirty-commits``: playbill commits;
- ``--no-gitignore``: it never adds ``.aider*`` to ``.gitignore``;
- history files (``--input-history-file``, ``--chat-history-file``) in the
  scratch directory instead of the worktree, ``--no-restore-chat-history``;
- ``--no-pretty``, ``--no-fancy-input``: plain text, no terminal expected;
- ``--stream`` (the default) prints the reply as it comes, which is the
  only sign of progress aider gives during a model call; the usage it
  reports is then its own count of the tokens (it cannot read the
  provider's while streaming). ``stream = false`` gets the provider's
  figures, and silence until each call ends;
- ``--edit-format`` when given for edits; ``--chat-mode ask`` for work that
  changes nothing (a review), which answers without editing. Both set the
  same option of aider, so the preset refuses them in ``extra_args``;
- off the network but for the model: ``--no-check-update``,
  ``--no-show-release-notes``, ``--no-analytics``, ``--no-detect-urls``
  (it would fetch URLs the prompt names), ``--disable-playwright`` (from
  0.83), ``--no-gui``, and ``LITELLM_LOCAL_MODEL_COST_MAP=True`` (litellm
  fetches its price list from GitHub when imported otherwise).
  ``--no-suggest-shell-commands``: it never runs them unattended anyway.

What aider 0.86 still writes, and where:

- in the worktree: its repository map's cache ``.aider.tags.cache.v4/``
  (a SQLite database; ``--map-tokens 0`` turns the map off, and the cache
  with it, but the map is how the model sees the files not in the chat).
  ``TOOL_FILES`` declares it, so that it is never committed;
- in ``$HOME/.aider/``: ``installs.json``, ``analytics.json`` (an id, never
  sent), and ``caches/model_prices_and_context_window.json`` when it
  fetched litellm's price list from GitHub (it does, with a 5 s timeout, for
  a model its own list does not know: give such a model's context window
  and prices with ``--model-metadata-file``, which also gives it a cost);
- in the repository's shared git configuration, ``user.name = Your Name``
  and ``user.email = you@example.com`` when git has no identity: an
  identity in its environment (``GIT_CONFIG_*``, never used for a commit
  since aider commits nothing) stops that.

Aider reads ``.aider.conf.yml`` and ``.env`` from ``$HOME``, the repository
and the current directory: what they set reaches it whatever playbill's
environment allowlist says.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final, final

import attrs

from playbill._redact import tail

from ._agent_output import fail
from ._agent_process import ProcessOutput
from ._aider_logs import ANALYTICS_LOG, LLM_HISTORY, read_logs
from ._backend import BackendConfigError, WorkOrder, string_tuple
from ._cli_agent import ToolAnswer, edits
from ._prompt import render_prompt
from ._tool_needs import ToolNeeds, aider_needs
from ._tool_version import Version, VersionRange

SUPPORTED = VersionRange(Version(0, 86, 0), Version(0, 87, 0))
"""The releases this preset was tested with: 0.86.2 (``tests/agent_clis.toml``)
runs in the tests; 0.86.0 and 0.86.1 have the same options, ``io.py``,
``analytics.py`` and ``coders/base_coder.py`` (aider's git history)."""

TOOL_FILES: Final[tuple[str, ...]] = (".aider*",)
"""What aider writes for itself into the worktree, as gitignore patterns: its
repository map's cache ``.aider.tags.cache.v4/``, and its history files
(``.aider.chat.history.md``, ``.aider.input.history``) should a user's
``extra_args`` put them back there. To be excluded from every commit."""

ENV: Final[Mapping[str, str]] = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "BROWSER": "true",
    "GIT_CONFIG_COUNT": "2",
    "GIT_CONFIG_KEY_0": "user.name",
    "GIT_CONFIG_VALUE_0": "playbill agent",
    "GIT_CONFIG_KEY_1": "user.email",
    "GIT_CONFIG_VALUE_1": "agent@playbill.invalid",
}
"""Variables aider runs with: litellm's bundled price list instead of
GitHub's, no browser (``true`` is run instead), and a git identity so that
aider never writes one into the repository's configuration."""

PROMPT_FILE = "prompt.md"
"""The prompt, in the scratch directory (``--message-file``)."""

FLAGS: Final[tuple[str, ...]] = (
    "--yes-always",
    "--no-auto-commits",
    "--no-dirty-commits",
    "--no-gitignore",
    "--no-restore-chat-history",
    "--no-pretty",
    "--no-fancy-input",
    "--no-check-update",
    "--no-show-release-notes",
    "--no-analytics",
    "--no-detect-urls",
    "--no-suggest-shell-commands",
    "--no-gui",
)
"""What every run passes (see the module documentation)."""

SINCE: Final[Mapping[str, Version]] = {"--disable-playwright": Version(0, 83, 0)}
"""Flags passed only to the releases that know them."""

OWNED: Final[tuple[str, ...]] = (
    "--message",
    "--msg",
    "--message-file",
    "--model",
    "--edit-format",
    "--chat-mode",
    "--architect",
    "--llm-history-file",
    "--analytics-log",
    "--auto-commits",
    "--dirty-commits",
    "--stream",
    "--no-stream",
    "--gui",
    "--browser",
)
"""Flags ``extra_args`` may not set: the preset sets them, or they would
break what it relies on (a review in ``ask`` mode, its logs, no commits)."""


def _owned(arg: str) -> str | None:
    """The preset's flag ``arg`` sets (an abbreviation argparse accepts counts), if any."""
    if arg.startswith("--"):
        name = arg.split("=", 1)[0]
        if len(name) > 2:
            return next((flag for flag in OWNED if flag.startswith(name)), None)
        return None
    if arg[:2] in ("-m", "-f"):
        return "--message" if arg[:2] == "-m" else "--message-file"
    return None


def _check_extra_args(tool: AiderTool, attribute: object, value: tuple[str, ...]) -> None:
    for arg in value:
        owned = _owned(arg)
        if owned is not None:
            raise BackendConfigError(
                "aider",
                "extra_args",
                f"{arg!r} sets {owned}, which the preset sets itself "
                "(use the model, edit_format and stream options)",
            )


@final
@attrs.frozen(kw_only=True)
class AiderTool:
    """How to run aider and read its logs.

    Attributes:
        executable: The program (``aider``, or a path).
        model: ``--model``, when given.
        edit_format: ``--edit-format`` for work that edits (``diff``,
            ``whole``, ``udiff``...); aider's choice for the model when
            ``None``.
        stream: Stream replies (progress while the model writes; aider's own
            token counts) or not (the provider's token counts).
        extra_args: Further arguments, after the others; none may set what
            the preset sets (``OWNED``).
    """

    executable: str = "aider"
    model: str | None = None
    edit_format: str | None = None
    stream: bool = True
    extra_args: tuple[str, ...] = attrs.field(
        default=(), converter=string_tuple, validator=_check_extra_args
    )

    @property
    def name(self) -> str:
        """``aider``."""
        return "aider"

    @property
    def supported(self) -> VersionRange:
        """The releases tested: see ``SUPPORTED``."""
        return SUPPORTED

    @property
    def tool_files(self) -> tuple[str, ...]:
        """Its caches and history files, ``.aider*`` (``TOOL_FILES``)."""
        return TOOL_FILES

    def files(self, order: WorkOrder) -> dict[str, str]:
        """The prompt, read with ``--message-file``."""
        return {PROMPT_FILE: render_prompt(order)}

    def command_line(
        self, order: WorkOrder, prompt: str, scratch: Path, version: Version
    ) -> list[str]:
        """``aider --message-file <prompt> --yes-always ... [options]``."""
        argv = [self.executable, "--message-file", str(scratch / PROMPT_FILE), *FLAGS]
        argv += [flag for flag, since in SINCE.items() if version >= since]
        argv.append("--stream" if self.stream else "--no-stream")
        argv += [
            "--input-history-file",
            str(scratch / "aider.input.history"),
            "--chat-history-file",
            str(scratch / "aider.chat.history.md"),
            "--llm-history-file",
            str(scratch / LLM_HISTORY),
            "--analytics-log",
            str(scratch / ANALYTICS_LOG),
        ]
        if self.model is not None:
            argv += ["--model", self.model]
        if not edits(order):
            argv += ["--chat-mode", "ask"]
        elif self.edit_format is not None:
            argv += ["--edit-format", self.edit_format]
        return [*argv, *self.extra_args]

    def parse(self, out: ProcessOutput) -> ToolAnswer | None:
        """The model's replies, the usage of its calls, and a failed call's error.

        ``None`` when aider never got as far as its first log line (it could
        not start: its exit status tells), or when it ended without calling
        the model and with a failing status.

        Raises:
            BackendError: ``agent``/``bad_usage``: a usage figure that
                is not a count (or an amount) within reason.
        """
        if out.scratch is None:
            return None
        logs = read_logs(out.scratch)
        if logs.bad_usage is not None:
            raise fail(
                "agent",
                "bad_usage",
                f"aider logged a usage that cannot be trusted: {logs.bad_usage}",
            )
        if not logs.started:
            return None
        why = None
        if logs.failed_call is not None:
            why = f"its model call failed ({tail(logs.failed_call, 200)})"
        elif logs.calls == 0:
            if out.returncode != 0:
                return None
            why = "it ended without calling the model"
        error = None if why is None else f"{why}; aider said:\n{tail(out.text().strip(), 700)}"
        return ToolAnswer(text=logs.text, usage=logs.usage, error=error)

    # What `playbill doctor` checks (see _tool_needs): kept at the end of the class.
    def needs(self, env: Mapping[str, str]) -> ToolNeeds:
        """The key of its model's provider, and that provider's endpoint."""
        return aider_needs(env, self.model, self.extra_args)
