"""``playbill run`` and ``playbill integrate``: a plan run for real on a repository.

``run`` loads the plan, builds each agent's backend, refuses a dirty work
tree (unless ``--allow-dirty``), warns about worktrees that runs no longer
running left behind (``--clean-stale`` removes them), and runs the plan with
a ``Workbench``: every executor attempt in a worktree of its own, accepted
work applied onto ``playbill/<run>/integration``. The run's labels hold what
``playbill resume`` needs to rebuild it (the repository, the base commit, the
plan's path and SHA-256). At the end it prints the summary, the merge report
and the next step: ``playbill integrate RUN`` fast-forwards your branch.

Exit status: 0 the run completed; 1 it failed or was cancelled; 4 it waits
for a person (an approval, or it was paused); 2 bad input, as everywhere;
130 and 143 it was stopped by SIGINT or SIGTERM (its agents stopped, the run
paused: ``playbill resume RUN`` continues it; see ``_signals``).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import shlex
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import click
import trio
from rich.live import Live

from playbill._redact import Redactor
from playbill._run import RunSpec, open_run
from playbill.actors import REPO_LABEL, Workbench
from playbill.backends import BackendFactory, require_startable
from playbill.plans import load_plan, plan_backends, secret_names
from playbill.runtime import (
    AgentSpec,
    Entry,
    InputError,
    Journal,
    RunState,
    WorkspaceMerged,
    WriterConflictError,
)
from playbill.workspaces import (
    DirtyTree,
    MergeReport,
    StaleWorktree,
    find_stale,
    integrate_into,
    remove_stale,
    worktrees_dir,
)

from ._app import Settings, make_console, pass_settings, run_async, say
from ._cmd_plans import PLAN_FILE, plan_path
from ._live import LiveView
from ._load import check_run_id, make_journal_dir, opened_journal, require_run
from ._render import print_state
from ._signals import stop_on_signals, stop_signals

EXIT_FAILED = 1
"""``run``/``resume``: the run failed or was cancelled."""

EXIT_WAITING = 4
"""``run``/``resume``: the run waits for a person (an approval), or is paused."""

PLAN_LABEL = "plan"
"""The run label holding the plan file's absolute path."""

PLAN_SHA_LABEL = "plan_sha256"
"""The run label holding the SHA-256 of the plan file the run started from."""

_REFRESH_S = 0.1

WORKTREES_OPTION = click.option(
    "--worktrees",
    type=click.Path(file_okay=False, path_type=Path),
    help=(
        "Where the attempts' worktrees live, outside the repository "
        "(default: the plan's [run] worktrees, else $XDG_DATA_HOME/playbill/worktrees, "
        "~/.local/share/playbill/worktrees)."
    ),
)
"""``--worktrees DIR``: the directory of the attempts' worktrees (``run`` and ``demo``)."""


def repo_top(repo: Path | None) -> Path:
    """The top directory of the repository: ``repo``'s, or the current directory's.

    Raises:
        InputError: It is not inside a git work tree.
    """
    where = repo if repo is not None else Path.cwd()
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=where,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as error:
        raise InputError(str(where), "", f"cannot run git: {error.strerror}") from None
    if done.returncode != 0:
        detail = "not inside a git work tree; expected a repository (or pass --repo PATH)"
        raise InputError(str(where), "", detail)
    return Path(done.stdout.strip()).resolve()


def require_agents(agents: Sequence[AgentSpec], backends: BackendFactory, top: Path) -> None:
    """Refuse agents whose program cannot start, before the journal is touched.

    Raises:
        AgentUnavailableError: A coding-agent CLI or a command's ``argv[0]``
            is missing or not executable, or the CLI's release is not
            supported (one line per agent).
    """
    pairs = [(agent.id, backends(agent)) for agent in agents]

    async def check() -> None:
        await require_startable(pairs, base=top)

    run_async(check)


def plan_digest(path: Path) -> str:
    """The SHA-256 of a plan file, hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def is_live(journal: Journal, run_id: str) -> bool:
    """Whether a live process holds the run's write lease."""
    try:
        async with journal.writer(run_id):
            return False
    except WriterConflictError:
        return True


async def stale_worktrees(
    journal: Journal, top: Path, but: str, worktrees: Path | None = None
) -> list[StaleWorktree]:
    """Worktrees of the repository of runs other than ``but`` that no process runs.

    ``worktrees`` is the directory of worktrees the run uses (``find_stale``).
    """
    found = await trio.to_thread.run_sync(functools.partial(find_stale, top, worktrees=worktrees))
    live = set()
    for run_id in sorted({s.run for s in found} - {but}):
        if await journal.run_exists(run_id) and await is_live(journal, run_id):
            live.add(run_id)
    return [s for s in found if s.run != but and s.run not in live]


def report_stale(
    stale: Sequence[StaleWorktree], top: Path, *, clean: bool, worktrees: Path | None = None
) -> None:
    """Warn about stale worktrees on stderr, or remove them (``--clean-stale``)."""
    if not stale:
        return
    err = make_console(stderr=True)
    runs = sorted({s.run for s in stale})
    if clean:
        removed = remove_stale(top, stale, worktrees=worktrees)
        say(err, f"playbill: removed {removed} stale worktree(s) of {', '.join(runs)}")
        return
    listed = ", ".join(f"{r} ({sum(1 for s in stale if s.run == r)})" for r in runs)
    say(
        err,
        f"playbill: warning: {len(stale)} worktree(s) of runs that are not running: {listed}; "
        "remove them with `playbill run --clean-stale` (their branches stay), "
        "or continue such a run with `playbill resume RUN`",
    )


def check_clean(bench: Workbench, ignore: Sequence[Path], *, allow_dirty: bool) -> None:
    """Refuse a dirty work tree (playbill's own journal and the plan file do not count).

    Raises:
        DirtyTree: Uncommitted changes, and not ``allow_dirty``.
    """
    top = bench.workspaces.repo_path
    own = set()
    for path in ignore:
        try:
            own.add(path.resolve().relative_to(top).as_posix())
        except ValueError:
            continue  # outside the repository: it cannot make it dirty
    dirty = [
        p
        for p in bench.workspaces.check_clean(allow_dirty=True)
        if p not in own and not any(p.startswith(f"{o}-") for o in own)
    ]
    if not dirty:
        return
    if not allow_dirty:
        raise DirtyTree(str(top), dirty)
    say(
        make_console(stderr=True),
        f"playbill: warning: {len(dirty)} uncommitted change(s) left out of the run "
        f"(it starts from {bench.workspaces.base_commit[:12]})",
    )


async def _new_run_id(journal: Journal, given: str | None) -> str:
    if given is not None:
        check_run_id(given, "--run-id")
        if await journal.run_exists(given):
            detail = f"run {given} already exists; continue it with `playbill resume {given}`"
            raise InputError("--run-id", "", detail)
        return given
    stamp = datetime.datetime.now(datetime.UTC).strftime("run-%Y%m%d-%H%M%S")
    candidate, n = stamp, 1
    while await journal.run_exists(candidate):
        n += 1
        candidate = f"{stamp}-{n}"
    return candidate


def _took(request_id: int) -> Callable[[RunState], bool]:
    """Whether a run has taken the control request ``request_id`` (and those before it)."""
    return lambda state: state.last_request_id >= request_id


def execute(
    settings: Settings,
    run_id: str,
    backends: BackendFactory,
    bench: Workbench,
    *,
    spec: RunSpec | None,
    quiet: bool,
) -> tuple[RunState, MergeReport]:
    """Run (``spec``) or resume a real run until it settles; its state and merge report."""
    console = make_console()
    view = LiveView()
    live = Live(view.renderable(), console=console, auto_refresh=False, transient=False)
    show = console.is_terminal and not quiet
    shown = [0.0]

    def observe(entries: Sequence[Entry]) -> None:
        for entry in entries:
            view.add(entry)
        now = time.monotonic()
        if show and (now - shown[0] >= _REFRESH_S or view.state.is_terminal):
            shown[0] = now
            live.update(view.renderable(), refresh=True)

    async def go() -> tuple[RunState, MergeReport]:
        async with opened_journal(settings.journal, create=True) as journal:
            if spec is None:
                for entry in await journal.read(run_id):
                    view.add(entry)
            with stop_signals() as signals:
                async with open_run(
                    journal, run_id, backends, spec=spec, workbench=bench, observe=observe
                ) as run:

                    async def settled() -> RunState:
                        while True:
                            state = await run.wait()
                            # A request queued while the run was stopped (an approval
                            # before `resume`) is taken within a poll: not settled yet.
                            queued = await journal.requests_after(run_id, state.last_request_id)
                            if not queued:
                                return state
                            await run.wait(_took(queued[-1][0]))

                    hint = resume_hint(settings, run_id)
                    state = await stop_on_signals(signals, run, settled, hint)
            merged = [
                e.msg for e in await journal.read(run_id) if isinstance(e.msg, WorkspaceMerged)
            ]
            return state, MergeReport.from_messages(merged)

    if show:
        live.start()
    try:
        return run_async(go)
    finally:
        if show:
            live.update(view.renderable(), refresh=True)
            live.stop()


def resume_hint(settings: Settings, run_id: str) -> str:
    """What continues a stopped run: ``playbill resume`` (``--journal`` unless the default)."""
    shown = shlex.quote(settings.where)  # a URL's password is never printed
    journal = "" if settings.is_default_journal else f" --journal {shown}"
    return f"continue it with `playbill{journal} resume {run_id}`"


def finish(
    ctx: click.Context, settings: Settings, state: RunState, report: MergeReport, branch: str
) -> None:
    """Print the run's summary, merge report and next step; exit with the run's status."""
    console = make_console()
    print_state(console, state)
    say(console, "")
    for line in report.render().splitlines():
        say(console, line)
    journal = "" if settings.is_default_journal else f" --journal {settings.journal}"
    say(console, f"outcome: {state.status}" + (f" ({state.reason})" if state.reason else ""))
    if report.applied:
        say(console, f"integration branch: {branch}")
    if state.status == "completed":
        if report.applied:
            say(console, f"Next: playbill{journal} integrate {state.run_id}")
        return
    if state.is_terminal:
        ctx.exit(EXIT_FAILED)
    pending = state.pending_approvals()
    if pending:
        for approval in pending:
            say(
                console,
                f"Waiting for a person: playbill{journal} approve {state.run_id} {approval.step}",
            )
    say(console, f"Then continue it: playbill{journal} resume {state.run_id}")
    ctx.exit(EXIT_WAITING)


@click.command()
@click.argument("plan", type=click.Path(path_type=Path), required=False, metavar="[PLAN]")
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    help="The repository (default: the one the current directory is in).",
)
@click.option("--allow-dirty", is_flag=True, help="Run even with uncommitted changes (left out).")
@click.option("--run-id", help="The run's id (default: run-YYYYMMDD-HHMMSS, UTC).")
@click.option("--clean-stale", is_flag=True, help="Remove worktrees of runs no longer running.")
@click.option("--quiet", is_flag=True, help="No live display; only the summary at the end.")
@WORKTREES_OPTION
@pass_settings
@click.pass_context
def run(
    ctx: click.Context,
    settings: Settings,
    plan: Path | None,
    repo: Path | None,
    allow_dirty: bool,
    run_id: str | None,
    clean_stale: bool,
    quiet: bool,
    worktrees: Path | None,
) -> None:
    """Run a plan (default: playbill.toml at the repository's top) with real agents.

    Every executor attempt works in a git worktree of its own, outside the
    repository (--worktrees DIR, or the plan's [run] worktrees; by default
    under ~/.local/share/playbill/worktrees); accepted work lands on the
    branch playbill/RUN/integration, never on yours, until `playbill
    integrate RUN`. Refuses a work tree with uncommitted changes unless
    --allow-dirty, and an agent whose program is missing or of an
    unsupported release (see `playbill doctor`). Exit status: 0 completed,
    1 failed or cancelled, 4 waiting for a person, 2 bad input, 130/143
    stopped by SIGINT/SIGTERM (Ctrl-C stops the agents and pauses the run; a
    second Ctrl-C kills them at once; `playbill resume RUN` continues it).
    """
    top = repo_top(repo)
    plan_file = plan_path(plan) if plan is not None else top / PLAN_FILE
    loaded = load_plan(plan_file)
    backends = plan_backends(loaded, source=str(plan_file))
    require_agents([a.to_agent_spec() for a in loaded.agents], backends, top)
    labels = {PLAN_LABEL: str(plan_file.resolve()), PLAN_SHA_LABEL: plan_digest(plan_file)}
    chosen = worktrees if worktrees is not None else loaded.run.worktrees_dir(top)
    dirs = worktrees_dir(top, chosen)  # refused before anything starts

    async def prepare() -> tuple[str, list[StaleWorktree]]:
        await make_journal_dir(settings.journal)
        async with opened_journal(settings.journal, create=True) as journal:
            rid = await _new_run_id(journal, run_id)
            return rid, await stale_worktrees(journal, top, rid, dirs)

    rid, stale = run_async(prepare)
    redactor = Redactor.from_environ().with_names(secret_names(loaded))
    bench = Workbench(top, rid, worktrees=dirs, redactor=redactor)
    journal_path = Path(settings.journal)
    own = [plan_file, journal_path, *(Path(f"{journal_path}-{s}") for s in ("wal", "shm"))]
    check_clean(bench, own, allow_dirty=allow_dirty)
    report_stale(stale, top, clean=clean_stale, worktrees=dirs)
    spec = loaded.to_run_spec(labels=labels)
    say(
        make_console(stderr=True),
        f"playbill: run {rid} on {top} from {bench.workspaces.base_commit[:12]}",
    )
    state, report = execute(settings, rid, backends, bench, spec=spec, quiet=quiet)
    finish(ctx, settings, state, report, bench.integration_branch)


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option("--branch", help="The branch to move (default: the one checked out).")
@click.option(
    "--partial",
    is_flag=True,
    help="Integrate a run that failed or was cancelled: what it applied so far.",
)
@pass_settings
def integrate(settings: Settings, run_id: str, branch: str | None, partial: bool) -> None:
    """Fast-forward your branch to a completed run's integration branch.

    Never merges: a branch that moved on since the run started is refused
    (merge playbill/RUN/integration yourself), and so is a checked-out
    branch whose work tree has uncommitted changes. A run that failed or was
    cancelled is refused unless --partial.
    """

    async def labels() -> RunState:
        async with opened_journal(settings.journal, create=False, read_only=True) as journal:
            await require_run(journal, run_id, settings.journal)
            return await journal.state_at(run_id)

    state = run_async(labels)
    repo = state.labels.get(REPO_LABEL)
    if repo is None:
        raise InputError(str(settings.journal), f"run {run_id}", "it ran on no repository")
    if not state.is_terminal:
        detail = (
            f"it is {state.status}; integrate it once it has ended (`playbill resume {run_id}`)"
        )
        raise InputError(str(settings.journal), f"run {run_id}", detail)
    if state.status != "completed" and not partial:
        detail = f"it {state.status}: its work is partial (integrate it with --partial)"
        raise InputError(str(settings.journal), f"run {run_id}", detail)
    commit = integrate_into(repo, run_id, branch)
    console = make_console()
    name = branch if branch is not None else "the checked-out branch"
    say(console, f"{name} is at {commit[:12]}: the work of run {run_id} ({state.status}) in {repo}")
