"""Shared pieces of the real-backend tests: a recording reporter, orders, processes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import trio

from playbill.backends._backend import WorkKind, WorkOrder
from playbill.runtime import (
    CommandPasses,
    Failure,
    FileChanged,
    ImplementationPayload,
    ProcessInfo,
    ResultEnvelope,
    Role,
    StepSpec,
    Usage,
)

FIXTURES = Path(__file__).parent / "fixtures" / "backends"


@attrs.define
class RecordingReporter:
    heartbeats: list[str] = attrs.Factory(list)
    usages: list[Usage] = attrs.Factory(list)
    processes: list[ProcessInfo] = attrs.Factory(list)

    async def heartbeat(self, progress: str = "") -> None:
        self.heartbeats.append(progress)

    async def usage(self, usage: Usage) -> None:
        self.usages.append(usage)

    async def process_started(self, process: ProcessInfo) -> None:
        self.processes.append(process)


STEP = StepSpec(
    id="greet",
    goal="Add a hello.txt file saying hello.",
    scope=("hello.txt", "docs/**"),
    validators=(
        CommandPasses(argv=("python", "-m", "pytest", "-q")),
        FileChanged(path="hello.txt"),
    ),
)

SUBJECT = ResultEnvelope(
    agent="exec-1",
    role="executor",
    step="greet",
    attempt=2,
    exit_status="ok",
    payload=ImplementationPayload(
        summary="Added hello.txt.", changed_files=("hello.txt",), commit="abc123"
    ),
)


def order(
    role: Role = "executor",
    kind: WorkKind = "work",
    *,
    workspace: Path | None = None,
    feedback: Failure | None = None,
    agent: str = "agent-1",
    step: StepSpec = STEP,
) -> WorkOrder:
    return WorkOrder(
        run_id="run-1",
        agent=agent,
        role=role,
        kind=kind,
        step=step,
        attempt=2,
        feedback=feedback,
        subject=SUBJECT if kind != "work" else None,
        workspace=str(workspace) if workspace is not None else None,
    )


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting to be reaped does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def wait_dead(pid: int) -> bool:
    """Wait (boundedly) for a killed process to be gone."""
    for _ in range(500):
        if not alive(pid):
            return True
        await trio.sleep(0.01)
    return False


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def _written(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0


async def wait_for_file(path: Path) -> None:
    for _ in range(1000):
        if _written(path):
            return
        await trio.sleep(0.01)
    raise AssertionError(f"{path} never appeared")
