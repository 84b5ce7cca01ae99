"""A run's agent processes through ``open_run``: journaled, stopped by ``Run.interrupt``,
and reaped on resume when a dead runner left them running (never a recycled pid).

Real processes and signals; the journal is in memory, and a "dead runner" is
an ``open_run`` block left without any chance to stop what it started.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import attrs
import msgspec
import pytest
import trio

from playbill import RunSpec, open_run
from playbill.backends import (
    AgentBackend,
    Capabilities,
    Reporter,
    WorkOrder,
    command,
    process_info,
)
from playbill.runtime import (
    AgentSpec,
    ImplementationPayload,
    MemoryJournal,
    Plan,
    PolicySettings,
    ProcessEnded,
    ProcessInfo,
    ProcessStarted,
    ResultEnvelope,
    RunPaused,
    RunResumed,
    StepAssigned,
    StepInterrupted,
    StepSpec,
)
from process_helpers import kill_all, linux_only, pids_in, running, wait_until

pytestmark = linux_only

FIX_AGENT = Path(__file__).parent / "fixtures" / "agents" / "fix_agent.py"

PLAN = Plan(
    steps=(StepSpec(id="fix", goal="fix add"),),
    agents=(AgentSpec(id="ex", roles=("executor",)),),
)
SPEC = RunSpec(goal="fix calc", plan=PLAN, policy=PolicySettings(backoff_base_s=0.01))


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    made = tmp_path / "agent-state"
    made.mkdir()
    yield made
    kill_all(pids_in(made / "pids"))  # should a test fail half-way


async def test_interrupt_stops_the_agents_processes_and_resume_gives_the_work_out_again(
    state_dir: Path,
) -> None:
    argv = (sys.executable, str(FIX_AGENT), "spawn-then-fix", "{prompt_file}", str(state_dir))
    fixer = command(argv=argv, heartbeat_s=0.5, kill_grace_s=1.0)
    journal = MemoryJournal()
    async with open_run(journal, "i1", lambda agent: fixer, spec=SPEC) as run:
        state = await run.wait(lambda s: bool(s.processes))
        [record] = state.processes
        while len(pids_in(state_dir / "pids")) < 2:  # noqa: ASYNC110 - files send no event
            await trio.sleep(0.01)
        agent, child = pids_in(state_dir / "pids")
        assert record.process.pid == agent and running(agent) and running(child)
        paused = await run.interrupt("interrupted by a test")
        # its group got SIGTERM, the leader was waited for, then the group SIGKILL
        assert not running(agent)
        wait_until(lambda: not running(child), "the agent's child is gone")
        assert paused.status == "paused" and paused.reason == "interrupted by a test"
        assert paused.agents["ex"].status == "restarting"
        assert paused.processes == ()
        assert await run.interrupt("again") == run.state  # nothing more
    entries = await journal.read("i1")
    [pause] = [e.msg for e in entries if isinstance(e.msg, RunPaused)]
    assert pause.stopped == ("ex",)
    [lost] = [e.msg for e in entries if isinstance(e.msg, StepInterrupted)]
    assert (lost.step, lost.attempt, lost.reason) == ("fix", 1, "work_lost")

    async with open_run(journal, "i1", lambda agent: fixer) as run:
        done = await run.wait()
    assert done.status == "completed", done.reason
    assert [a.status for a in done.steps["fix"].attempts] == ["interrupted", "passed"]
    assert done.steps["fix"].attempts[0].lost


@attrs.define
class ReportsProcesses:
    """An executor that reports the given processes as its own, then works for ever.

    The processes are the test's: reporting them makes the journal say that
    this agent's work started them, as a real backend would have.
    """

    processes: list[ProcessInfo]
    name: ClassVar[str] = "reports-processes"
    capabilities: ClassVar[Capabilities] = Capabilities(
        roles=frozenset({"executor"}), edits_files=True
    )

    async def run(self, order: WorkOrder, report: Reporter) -> ResultEnvelope:
        for process in self.processes:
            await report.process_started(process)
        await trio.sleep_forever()
        raise AssertionError("unreachable")


@attrs.define
class Fixes:
    """An executor that does the step at once."""

    name: ClassVar[str] = "fixes"
    capabilities: ClassVar[Capabilities] = Capabilities(
        roles=frozenset({"executor"}), edits_files=True
    )

    async def run(self, order: WorkOrder, report: Reporter) -> ResultEnvelope:
        return ResultEnvelope(
            agent=order.agent,
            role=order.role,
            step=order.step.id,
            attempt=order.attempt,
            exit_status="ok",
            payload=ImplementationPayload(summary="fixed"),
        )


def sleepers(count: int) -> list[subprocess.Popen[bytes]]:
    """Processes the test starts: no runner, no guard, each in a session of its own."""
    return [subprocess.Popen(["sleep", "300"], start_new_session=True) for _ in range(count)]


async def test_resume_reaps_a_journaled_process_still_running_but_never_a_recycled_pid() -> None:
    same, recycled = procs = sleepers(2)
    try:
        leftover = process_info(same.pid, label="sleep")
        other = process_info(recycled.pid, label="sleep")
        assert other.start_ticks is not None
        # journaled with another start time: the pid now names another process
        before = msgspec.structs.replace(other, start_ticks=other.start_ticks - 1)
        reporting: AgentBackend = ReportsProcesses([leftover, before])
        journal = MemoryJournal()
        async with open_run(journal, "d1", lambda agent: reporting, spec=SPEC) as run:
            await run.wait(lambda s: len(s.processes) == 2)
        # the block is left as a killed runner leaves it: nothing says the work ended
        assert running(same.pid) and running(recycled.pid)

        async with open_run(journal, "d1", lambda agent: Fixes()) as run:
            done = await run.wait()
        assert done.status == "completed", done.reason
        assert same.wait(timeout=60) == -signal.SIGTERM  # reaped: the same process
        assert recycled.poll() is None  # spared: not the process that was journaled
        entries = await journal.read("d1")
        ended = [e for e in entries if isinstance(e.msg, ProcessEnded)]
        assert [(e.msg.pid, e.msg.how) for e in ended] == [
            (same.pid, "reaped"),
            (recycled.pid, "gone"),
        ]
        resumed = next(e for e in entries if isinstance(e.msg, RunResumed))
        again = next(e for e in entries if isinstance(e.msg, StepAssigned) and e.msg.attempt == 2)
        assert max(e.seq for e in ended) < resumed.seq < again.seq  # before any new work
        started = [e.msg for e in entries if isinstance(e.msg, ProcessStarted)]
        assert [s.process for s in started] == [leftover, before]
        assert done.processes == ()
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
