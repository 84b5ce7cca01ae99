"""The ``playbill`` command group: global options and the one place errors are handled.

Every command runs its async work in one ``trio.run`` (``run_async``). A
``PlaybillError`` raised by a command becomes one line on stderr and exit
status 2, with no traceback; ``--debug`` re-raises it instead, traceback and
all. Anything else is a bug and is never caught here.

The group loads a command's module only when that command is run (or its own
help is asked for): ``playbill --help`` lists every command from its one-line
summary, and this module imports neither trio nor playbill's runtime until a
function needs them.
"""

from __future__ import annotations

import importlib
import os
import shlex
import shutil
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar, TypeVarTuple, final

import attrs
import click
from rich.console import Console

from ._escape import printable

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from playbill.runtime import PlaybillError

DEFAULT_JOURNAL = Path(".playbill") / "journal.db"
"""Where the journal is when neither ``--journal`` nor ``PLAYBILL_JOURNAL`` says."""

JOURNAL_ENV = "PLAYBILL_JOURNAL"
"""The environment variable that names the journal."""

EXIT_OK = 0
"""The command did what it was asked."""

EXIT_INPUT = 2
"""Bad input: a usage error, a bad file, an unknown run, a corrupt journal."""

EXIT_MISMATCH = 3
"""Reserved for ``replay --check``: the recorded decisions differ from the code's."""

EXIT_SIGINT = 130
"""``run``, ``resume``, ``demo``: SIGINT (Ctrl-C) stopped the run (128 + 2)."""

EXIT_SIGTERM = 143
"""``run``, ``resume``, ``demo``: SIGTERM stopped the run (128 + 15)."""


def stopped_status(signum: int) -> int:
    """The exit status of a command stopped by a signal: 128 + its number (130, 143)."""
    return 128 + signum


_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")


@final
@attrs.frozen
class Settings:
    """What the global options chose, handed to every command.

    Attributes:
        journal: The journal file, ``:memory:``, or a database URL
            (``postgresql://...``, kept as a string: a ``Path`` would mangle it).
        debug: Show tracebacks instead of one-line errors.
    """

    journal: Path | str
    debug: bool = False

    @property
    def where(self) -> str:
        """The journal as shown to people: an absolute path, or the URL without its password."""
        if isinstance(self.journal, Path):
            return (
                str(self.journal)
                if str(self.journal) == ":memory:"
                else str(self.journal.absolute())
            )
        from playbill.runtime import redact_url

        return redact_url(self.journal)

    @property
    def is_default_journal(self) -> bool:
        """Whether the journal is the default one (hints then need no ``--journal``)."""
        return self.journal == DEFAULT_JOURNAL


class CommandFailed(click.ClickException):
    """A command failed on bad input; shown as one line, exit status 2."""

    exit_code = EXIT_INPUT

    def show(self, file: IO[Any] | None = None) -> None:
        """Print ``playbill: error: <message>`` on stderr."""
        click.echo(f"playbill: error: {printable(self.format_message())}", file=file, err=True)


def describe(error: PlaybillError, journal: Path | str) -> str:
    """One readable line for an error, naming the journal when the error does not.

    A database URL's password never shows, wherever the error quotes the URL.
    """
    from playbill.runtime import is_journal_url, redact_url

    line = _describe(error, journal)
    if isinstance(journal, str) and is_journal_url(journal):
        shown = redact_url(journal)
        line = line.replace(journal, shown)
        if line.startswith(f"{shown}: ") and shown in line[len(shown) + 2 :]:
            line = line[len(shown) + 2 :]  # the error names it already
    return line


def _describe(error: PlaybillError, journal: Path | str) -> str:
    from playbill.runtime import InputError, JournalError, NotAJournalError, UnknownRunError

    if isinstance(error, InputError | NotAJournalError):
        return str(error)
    if isinstance(error, UnknownRunError) and error.where:
        return str(error)
    if isinstance(error, JournalError):
        return f"{journal}: {error}"
    return str(error)


class Interrupted(Exception):
    """A signal stopped a live run (see ``_signals``): one line, exit status ``128 + signal``.

    Not an error of the command: the run is paused, its agents are stopped.

    Attributes:
        signum: The signal.
        run_id: The run.
        then: What to do next (``continue it with `playbill resume RUN```).
    """

    def __init__(self, signum: int, run_id: str, then: str) -> None:
        self.signum = signum
        self.run_id = run_id
        self.then = then
        name = signal.Signals(signum).name
        super().__init__(
            f"interrupted by {name}: run {run_id} is paused and its agents are stopped; {then}"
        )


@final
@attrs.frozen
class LazyCommand:
    """A command of the group, loaded from its module when it is first needed.

    Attributes:
        module: The module that defines it, relative to ``playbill.cli``.
        attribute: The command's name in that module.
        summary: The first paragraph of its help, which ``playbill --help``
            shows (a test checks it against the command's own).
    """

    module: str
    attribute: str
    summary: str


class PlaybillGroup(click.Group):
    """A click group that reports ``PlaybillError`` and ``Interrupted`` in one line.

    Commands added with ``add_lazy_command`` are imported on first use.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, LazyCommand] = {}

    def add_lazy_command(self, name: str, command: LazyCommand) -> None:
        """Add a command that is imported when it is first looked up."""
        self.lazy_commands[name] = command

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command's name, loaded or not, sorted."""
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, imported now if it is a lazy one not loaded yet."""
        lazy = self.lazy_commands.get(cmd_name)
        if cmd_name not in self.commands and lazy is not None:
            module = importlib.import_module(lazy.module, __package__)
            command = getattr(module, lazy.attribute)
            assert isinstance(command, click.Command), lazy
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands, each not loaded yet by its summary (nothing is imported)."""
        listing = click.Group(
            commands={
                name: self.commands.get(name)
                or click.Command(name, help=self.lazy_commands[name].summary)
                for name in self.list_commands(ctx)
            }
        )
        click.Group.format_commands(listing, ctx, formatter)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """Complete a command's name (from its summary: nothing is imported) or an option."""
        from click.shell_completion import CompletionItem

        items = [
            CompletionItem(name, help=self._summary(name))
            for name in self.list_commands(ctx)
            if name.startswith(incomplete)
        ]
        items.extend(click.Command.shell_complete(self, ctx, incomplete))
        return items

    def _summary(self, name: str) -> str:
        loaded = self.commands.get(name)
        if loaded is not None:
            return loaded.get_short_help_str()
        return self.lazy_commands[name].summary

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; report a ``PlaybillError`` in one line (or re-raise with --debug)."""
        from playbill.runtime import PlaybillError

        try:
            try:
                return super().invoke(ctx)
            except BaseExceptionGroup as group:
                # An error that crossed nurseries (a second writer, a full disk):
                # reported like the error itself when it is the only one.
                sole = _sole_exception(group)
                if not isinstance(sole, Interrupted | PlaybillError):
                    raise
                raise sole from group
        except Interrupted as stopped:
            click.echo(f"playbill: {printable(str(stopped))}", err=True)
            ctx.exit(stopped_status(stopped.signum))
        except PlaybillError as error:
            if ctx.params.get("debug"):
                raise
            journal = ctx.params.get("journal") or DEFAULT_JOURNAL
            raise CommandFailed(describe(error, journal)) from error


def run_async(fn: Callable[[*_Ts], Awaitable[_T]], *args: *_Ts) -> _T:
    """Run ``fn(*args)`` in one ``trio.run``.

    A group holding a single exception (an error that crossed a nursery) is
    unwrapped, so that the central handler sees the error itself.
    """
    import trio

    try:
        return trio.run(fn, *args)
    except BaseExceptionGroup as group:
        sole = _sole_exception(group)
        if sole is None:
            raise
        raise sole from None


def _sole_exception(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    if len(group.exceptions) != 1:
        return None
    inner = group.exceptions[0]
    if isinstance(inner, BaseExceptionGroup):
        return _sole_exception(inner)
    return inner


PIPE_WIDTH = 100_000
"""The width output is laid out to when it goes to a file or a pipe: in effect, no limit."""


def make_console(*, stderr: bool = False) -> Console:
    """A console for command output; colours only on a terminal, no guessing highlights.

    On a terminal, tables fit its width. Output to a file or a pipe is never
    cut nor wrapped to fit 80 columns (rich's default there): tables are as
    wide as their widest cell, unless ``COLUMNS`` asks for a width.
    """
    console = Console(stderr=stderr, highlight=False)
    if console.is_terminal or os.environ.get("COLUMNS", "").strip():
        return console
    return Console(stderr=stderr, highlight=False, width=PIPE_WIDTH)


def say(console: Console, line: str) -> None:
    """Print one plain line: no markup, never wrapped (paths and commands stay copyable).

    Control characters are escaped (``printable``): a line may quote journal text.
    """
    console.print(printable(line), markup=False, soft_wrap=True)


def playbill_command() -> str:
    """How the user can run ``playbill`` again, for the commands the CLI suggests.

    ``playbill`` when the console script that runs is the one on ``PATH``;
    else the script's path as it was typed (``.venv/bin/playbill``, when the
    Quickstart's venv is not activated); ``PYTHON -m playbill`` when it runs
    as a module.
    """
    argv0 = sys.argv[0] if sys.argv else ""
    script = Path(argv0)
    if script.name == "__main__.py" and script.parent.name == "playbill":
        return f"{shlex.quote(sys.executable)} -m playbill"
    if script.name != "playbill":
        return "playbill"  # embedded in another program: the plain name
    found = shutil.which("playbill")
    if found is not None and Path(found).resolve() == script.resolve():
        return "playbill"
    return shlex.quote(argv0)


def journal_target(ctx: click.Context, param: click.Parameter, value: object) -> Path | str:
    """``--journal``: a ``Path`` for a file, or a database URL as it is (a ``Path`` mangles it)."""
    if isinstance(value, Path):
        return value
    from playbill.runtime import is_journal_url

    text = str(value)
    if is_journal_url(text):
        return text
    path = Path(text)
    try:
        is_dir = path.is_dir()
    except OSError:  # a directory we cannot enter: opening the journal will say so
        is_dir = False
    if is_dir:
        raise click.BadParameter(f"{text!r} is a directory, not a journal file", ctx, param)
    return path


pass_settings = click.make_pass_decorator(Settings)
"""Decorator handing a command the ``Settings`` of the global options."""


@click.group(cls=PlaybillGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--journal",
    callback=journal_target,
    default=DEFAULT_JOURNAL,
    show_default=True,
    envvar=JOURNAL_ENV,
    show_envvar=True,
    help="The journal: a SQLite file, or a PostgreSQL URL (postgresql://user@host/db).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log what happens on stderr: -v for INFO, -vv for DEBUG too.",
)
@click.option(
    "--log-json",
    is_flag=True,
    help="Log one JSON object per line on stderr (time, level, logger, message, run_id...).",
)
@click.version_option(package_name="playbill", prog_name="playbill")
@click.pass_context
def cli(ctx: click.Context, journal: Path | str, debug: bool, verbose: int, log_json: bool) -> None:
    """Run, simulate, steer and inspect playbill runs, and check plan files.

    \b
    Exit status:
      0    success (`run`, `resume`: the run completed)
      1    `run`, `resume`: the run failed or was cancelled;
           `doctor`: an agent is not ready
      2    bad input: usage, bad file, unknown run, corrupt journal
      3    `replay --check`: today's policy decides differently
      4    `run`, `resume`: the run waits for a person (approve, or a
           decision such as `skip`, then `resume`)
      130  `run`, `resume`, `demo`: stopped by SIGINT (Ctrl-C), the agents
           stopped and the run paused (a second Ctrl-C kills them at once)
      143  `run`, `resume`, `demo`: stopped by SIGTERM, as for SIGINT
    """  # noqa: D301 (click's \b, the backspace character, keeps the lines as they are)
    ctx.obj = Settings(journal=journal, debug=debug)
    from ._logging import start_logging

    stop = start_logging(verbose, log_json)
    if stop is not None:
        ctx.call_on_close(stop)
