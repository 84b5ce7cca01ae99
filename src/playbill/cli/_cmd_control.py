"""Steering a run from another process: pause, resume, cancel, approve, reject.

A request is queued in the journal (``Journal.post_request``); the run's own
writer takes it within a second (``control_requested``) and the policy
carries it out, or refuses it with a note saying why. A run that is not
running takes its queued requests when it is resumed.

``resume`` does more: when no live process holds the run (it was killed, or
its machine rebooted), it continues the run here, from its journal. A
simulated run is rebuilt from its seed and profiles; a real run (``playbill
run``) from its labels: the repository and base commit reopen its
``Workbench``, and the plan file, which must be the one the run started from
(same SHA-256, unless ``--plan-changed-ok``), rebuilds its agents' backends.
The runtime finds the journaled worktrees again and answers the merge
requests left unanswered.
"""

from __future__ import annotations

import getpass
import hashlib
import socket
from pathlib import Path

import click

from playbill._redact import Redactor
from playbill._run_wiring import end_leftovers
from playbill.actors import BASE_LABEL, REPO_LABEL, WORKTREES_LABEL, Workbench
from playbill.backends import AgentBackend
from playbill.demo import demo_backends
from playbill.plans import load_plan, plan_backends, secret_names
from playbill.runtime import (
    AgentSpec,
    ControlRequest,
    ControlRequested,
    Draft,
    FaultPlan,
    InputError,
    Journal,
    RunState,
    WriterConflictError,
    decide,
    parse_faults,
)
from playbill.simulation import ProfileSet, load_profiles

from ._app import Settings, make_console, pass_settings, run_async, say
from ._cmd_run import (
    PLAN_LABEL,
    PLAN_SHA_LABEL,
    execute,
    finish,
    is_live,
    plan_digest,
    require_agents,
)
from ._cmd_sim import _report, _run_simulation
from ._load import opened_journal, require_run

DEMO_LABEL = "demo"
"""A ``playbill demo`` run's label (``real``): resumed with the demo's own team."""


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "someone"
    return f"{user}@{socket.gethostname()}"


async def _post(settings: Settings, run_id: str, request: ControlRequest) -> int:
    async with opened_journal(settings.journal, create=False) as journal:
        return await _post_to(journal, settings, run_id, request)


async def _post_to(
    journal: Journal, settings: Settings, run_id: str, request: ControlRequest
) -> int:
    await require_run(journal, run_id, settings.journal)
    state = await journal.state_at(run_id)
    if state.is_terminal:
        raise InputError(
            str(settings.journal),
            f"run {run_id}",
            f"it already {state.status}; nothing to {request.action}",
        )
    return await journal.post_request(run_id, request)


def _queued(request_id: int, what: str, run_id: str) -> None:
    say(
        make_console(),
        f"Queued request {request_id}: {what} run {run_id}. A live run takes it within a "
        "second; a stopped run, when it is resumed.",
    )


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option("--reason", default="", help="Why, for the journal.")
@pass_settings
def pause(settings: Settings, run_id: str, reason: str) -> None:
    """Pause a run: no new work starts; work in flight finishes."""
    request = ControlRequest(action="pause", reason=reason, by=_who())
    _queued(run_async(_post, settings, run_id, request), "pause", run_id)


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option("--reason", default="", help="Why, for the journal.")
@pass_settings
def cancel(settings: Settings, run_id: str, reason: str) -> None:
    """Cancel a run for good: work in flight is cancelled.

    A run no live process holds (its runner was killed) is cancelled here
    and then, what its dead runner's work left running ended first.
    """
    request = ControlRequest(action="cancel", reason=reason, by=_who())
    state = run_async(_cancel_here, settings, run_id, request)
    if state is None:
        say(
            make_console(),
            f"Queued: cancel run {run_id}. Its live process takes it within a second.",
        )
        return
    say(make_console(), f"Run {run_id} is {state.status} (no process was running it).")


@click.command()
@click.argument("run_id", metavar="RUN")
@click.argument("step", metavar="STEP")
@click.option("--reason", default="", help="Why, for the journal.")
@pass_settings
def approve(settings: Settings, run_id: str, step: str, reason: str) -> None:
    """Approve what a step waits for (a human_approval validator, an escalation)."""
    request = ControlRequest(action="approve", step=step, reason=reason, by=_who())
    _queued(run_async(_post, settings, run_id, request), f"approve step {step} of", run_id)


@click.command()
@click.argument("run_id", metavar="RUN")
@click.argument("step", metavar="STEP")
@click.option("--reason", required=True, help="Why, for the journal and the agents.")
@pass_settings
def reject(settings: Settings, run_id: str, step: str, reason: str) -> None:
    """Reject what a step waits for; the step fails with your reason."""
    request = ControlRequest(action="reject", step=step, reason=reason, by=_who())
    _queued(run_async(_post, settings, run_id, request), f"reject step {step} of", run_id)


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option(
    "--profile",
    "profile_file",
    type=click.Path(dir_okay=False, exists=True),
    help="For a simulated run started with --profile: the same profiles file.",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0),
    default=0.0,
    help="For a simulated run: virtual seconds per real second (0: at once).",
)
@click.option(
    "--plan-changed-ok",
    is_flag=True,
    help="For a real run: rebuild its backends from the plan file even if it changed.",
)
@click.option("--quiet", is_flag=True, help="For a real run: no live display.")
@click.option(
    "--worktrees",
    type=click.Path(file_okay=False, path_type=Path),
    help=(
        "For a real run: where new worktrees go (default: where the run started them). "
        "Worktrees it already has are found where they are."
    ),
)
@pass_settings
@click.pass_context
def resume(
    ctx: click.Context,
    settings: Settings,
    run_id: str,
    profile_file: str | None,
    speed: float,
    plan_changed_ok: bool,
    quiet: bool,
    worktrees: Path | None,
) -> None:
    """Resume a run: ask its live process to, or continue it here from its journal.

    A paused run that still runs in another process is asked to resume. A run
    whose process died (killed, crashed, rebooted) is continued here: the
    dead writer's lease is taken over, attempts that were in flight are
    interrupted and handed out again, and finished work is not redone. A real
    run (`playbill run`) needs its plan file unchanged (--plan-changed-ok
    takes it as it is now) and every agent's program able to start; it
    exits as `playbill run` does.
    """
    state, live = run_async(_inspect, settings, run_id)
    if state.is_terminal:
        raise InputError(str(settings.journal), f"run {run_id}", f"it already {state.status}")
    if live:
        request = ControlRequest(action="resume", by=_who())
        _queued(run_async(_post, settings, run_id, request), "resume", run_id)
        return
    if REPO_LABEL in state.labels:
        _resume_real(
            ctx, settings, state, plan_changed_ok=plan_changed_ok, quiet=quiet, worktrees=worktrees
        )
        return
    if state.labels.get("simulated") != "true" or state.seed is None:
        raise InputError(
            str(settings.journal),
            f"run {run_id}",
            "it is neither simulated nor run on a repository, so it cannot be continued here",
        )
    profiles = _profiles_of(state, profile_file)
    faults = _agent_faults(state)
    result = _run_simulation(settings, state.seed, run_id, profiles, faults, {}, speed, resume=True)
    _report(settings, result)


def _resume_real(
    ctx: click.Context,
    settings: Settings,
    state: RunState,
    *,
    plan_changed_ok: bool,
    quiet: bool,
    worktrees: Path | None,
) -> None:
    """Continue a real run from its labels: its repository, base commit, plan file, worktrees.

    New worktrees go to ``worktrees`` if given, else where the run started
    them (its ``worktrees`` label), else — a run journaled before the label
    existed — where the plan or the default says. Worktrees the run already
    has are found where git has them (under ``.git/playbill-worktrees`` for
    such an old run).
    """
    labels, run_id = state.labels, state.run_id
    where = f"run {run_id}"
    if labels.get(DEMO_LABEL) == "real" and BASE_LABEL in labels:
        _resume_demo(ctx, settings, state, quiet=quiet, worktrees=worktrees)
        return
    if PLAN_LABEL not in labels or BASE_LABEL not in labels:
        detail = "it has no plan file or base commit in its labels, so it cannot be rebuilt"
        raise InputError(str(settings.journal), where, detail)
    plan_file = Path(labels[PLAN_LABEL])
    loaded = load_plan(plan_file)
    if plan_digest(plan_file) != labels.get(PLAN_SHA_LABEL) and not plan_changed_ok:
        detail = (
            f"the plan file changed since run {run_id} started (its SHA-256 differs); "
            "restore it, or pass --plan-changed-ok to rebuild the agents' backends from it "
            "as it is now (the run keeps its journaled steps)"
        )
        raise InputError(str(plan_file), "", detail)
    agents = state.plan.agents if state.plan is not None else ()
    backends = plan_backends(loaded, source=str(plan_file), agents=agents)
    repo = labels[REPO_LABEL]
    require_agents(agents, backends, Path(repo))
    chosen: Path | str | None = worktrees
    if chosen is None:
        chosen = labels.get(WORKTREES_LABEL) or loaded.run.worktrees_dir(repo)
    redactor = Redactor.from_environ().with_names(secret_names(loaded))
    bench = Workbench(
        repo, run_id, base_commit=labels[BASE_LABEL], worktrees=chosen, redactor=redactor
    )
    # A paused run (`playbill pause`, or stopped by SIGINT/SIGTERM) needs no
    # request: the run_resumed its new process journals resumes it.
    say(make_console(stderr=True), f"playbill: resuming run {run_id} on {labels[REPO_LABEL]}")
    after, report = execute(settings, run_id, backends, bench, spec=None, quiet=quiet)
    finish(ctx, settings, after, report, bench.integration_branch)


def _resume_demo(
    ctx: click.Context,
    settings: Settings,
    state: RunState,
    *,
    quiet: bool,
    worktrees: Path | None,
) -> None:
    """Continue a ``playbill demo`` run: its plan and backends are the demo's own.

    The demo has no plan file: its team is built in (``demo_backends``), so
    the run is rebuilt from its repository and base commit alone.
    """
    labels, run_id = state.labels, state.run_id
    backends = demo_backends()
    missing = [a.id for a in (state.plan.agents if state.plan else ()) if a.id not in backends]
    if missing:
        detail = f"its agents {missing} are not the demo's, so it cannot be rebuilt"
        raise InputError(str(settings.journal), f"run {run_id}", detail)
    chosen: Path | str | None = worktrees if worktrees is not None else labels.get(WORKTREES_LABEL)
    repo = labels[REPO_LABEL]
    bench = Workbench(repo, run_id, base_commit=labels[BASE_LABEL], worktrees=chosen)
    say(make_console(stderr=True), f"playbill: resuming demo run {run_id} on {repo}")

    def backend_of(agent: AgentSpec) -> AgentBackend:
        return backends[agent.id]

    after, report = execute(settings, run_id, backend_of, bench, spec=None, quiet=quiet)
    finish(ctx, settings, after, report, bench.integration_branch)


async def _cancel_here(settings: Settings, run_id: str, request: ControlRequest) -> RunState | None:
    """Queue a cancel; when no live process holds the run, carry it out here.

    Returns the run's state once cancelled here, or ``None`` when a live
    process holds the run (it takes the request). What the dead runner's
    work left running is ended first, as a resume would.
    """
    async with opened_journal(settings.journal, create=False) as journal:
        await _post_to(journal, settings, run_id, request)
        try:
            async with journal.writer(run_id, reactor=decide, snapshot_every=1000) as writer:
                state = writer.state
                assert state is not None  # the writer keeps it: it has a reactor
                if state.is_terminal:
                    return state  # ended meanwhile
                await end_leftovers(state, writer.append)
                queued = await journal.requests_after(run_id, state.last_request_id)
                drafts = [
                    Draft(
                        msg=ControlRequested(request_id=request_id, request=queued_request),
                        sender="control",
                        recipient="supervisor",
                    )
                    for request_id, queued_request in queued
                ]
                await writer.append(drafts)
                return writer.state
        except WriterConflictError:
            return None


async def _inspect(settings: Settings, run_id: str) -> tuple[RunState, bool]:
    """The run's state, and whether a live writer holds it."""
    async with opened_journal(settings.journal, create=False) as journal:
        await require_run(journal, run_id, settings.journal)
        return await journal.state_at(run_id), await is_live(journal, run_id)


def _profiles_of(state: RunState, path: str | None) -> ProfileSet:
    """The profiles the run was simulated with: the same agents, or none at all."""
    recorded = state.labels.get("profiles", "builtin")
    chosen = {
        label.removeprefix("profile:"): name
        for label, name in state.labels.items()
        if label.startswith("profile:")
    }
    if recorded == "builtin":
        if path is not None:
            raise InputError(path, "", "the run was simulated with the built-in profiles")
        return ProfileSet(agents=chosen)
    if path is None:
        raise InputError(recorded, "", "the run was simulated with these profiles: pass --profile")
    data = Path(path).read_bytes()
    if hashlib.sha256(data).hexdigest() != state.labels.get("profiles_sha256"):
        raise InputError(path, "", "not the profiles file the run was simulated with")
    base = load_profiles(path)
    return ProfileSet(
        profiles=base.profiles, agents={**base.agents, **chosen}, default=base.default
    )


def _agent_faults(state: RunState) -> FaultPlan:
    """The run's agent faults, without the ones that already happened to the journal."""
    spec = state.labels.get("faults", "")
    faults = parse_faults(spec, source="the run's recorded faults") if spec else FaultPlan()
    return FaultPlan(
        crash=faults.crash,
        hang=faults.hang,
        slow=faults.slow,
        slow_factor=faults.slow_factor,
        transient=faults.transient,
    )
