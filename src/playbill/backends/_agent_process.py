"""Running an agent's process: a clean environment, heartbeats, no orphans.

The process starts in a session (and so a process group) of its own. When it
times out or the work is cancelled, the whole group gets ``SIGTERM``, the
leader a short grace to exit, then the group ``SIGKILL``; when the leader
exits by itself, whatever it left running in its group is killed too. It is
started through the guard launcher (``open_guarded_process``), so its group
also ends when the runner dies, and it is journaled (``process_started``:
pid, group, start time) for a resumed run to find.
Output is captured (the last ``max_output_bytes`` of each stream) while the
reporter gets heartbeats from the process's progress — new lines of output,
changes in its working directory — at most one every ``heartbeat_s`` (see
``_progress``): a process that shows nothing sends none.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import final

import attrs
import trio

from playbill._process import (
    OutputTail,
    base_env,
    forget_group,
    open_guarded_process,
    process_info,
    signal_group,
)
from playbill._redact import Redactor
from playbill.runtime import Usage

from ._agent_output import fail
from ._backend import Reporter
from ._progress import Progress, send_heartbeats, watch_tree

logger = logging.getLogger(__name__)

MAX_OUTPUT_BYTES = 8 * 1024 * 1024
"""Bytes of each output stream kept (the last ones)."""


def agent_env(allow: Iterable[str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of an agent process.

    Args:
        allow: Names to pass through from ``os.environ``, on top of
            ``BASE_ENV``.
        extra: Variables to set whatever the environment holds.

    Returns:
        ``BASE_ENV`` and ``allow`` names that are set, then ``extra``.
    """
    return base_env(allow, extra)


@final
@attrs.frozen
class ProcessOutput:
    """How an agent process ended.

    Attributes:
        returncode: Its exit status (negative: killed by that signal).
        stdout: The tail of its standard output.
        stderr: The tail of its standard error.
        wall_s: Seconds it ran.
        scratch: The scratch directory it was given (``Scratch.io``), while
            its output is read: files the tool was told to write there
            (logs of its own) are part of its output. ``None`` when it had
            none, or once the directory is gone.
    """

    returncode: int
    stdout: bytes
    stderr: bytes
    wall_s: float
    scratch: Path | None = None

    def text(self) -> str:
        """Standard output decoded (UTF-8, undecodable bytes replaced)."""
        return self.stdout.decode("utf-8", errors="replace")

    def combined(self) -> str:
        """Standard output then standard error, decoded: for failure details."""
        return (self.stdout + b"\n" + self.stderr).decode("utf-8", errors="replace")


@final
class Scratch:
    """A private temporary directory outside any worktree, removed on exit.

    Holds the prompt and result files (``io``), for work without a
    workspace the directory the process runs in (``work``), and a private
    temporary directory for a sandboxed process (``tmp``, its ``TMPDIR``).
    """

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="playbill-agent-")
        root = Path(self._dir.name)
        self.io = root / "io"
        self.work = root / "work"
        self.tmp = root / "tmp"
        self.io.mkdir()
        self.work.mkdir()
        self.tmp.mkdir()

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()


async def run_agent_process(
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    timeout_s: float,
    heartbeat_s: float,
    report: Reporter,
    label: str,
    redactor: Redactor,
    kill_grace_s: float = 1.0,
    max_output_bytes: int = MAX_OUTPUT_BYTES,
) -> ProcessOutput:
    """Run ``argv`` to its end, with heartbeats, a timeout and no orphans.

    Args:
        argv: The command line (never run through a shell by this function).
        cwd: Where it runs; must exist. Changes in it count as progress.
        env: Its whole environment.
        timeout_s: Seconds before it is killed.
        heartbeat_s: The least time between two heartbeats, and between two
            scans of ``cwd`` for changes.
        report: Where heartbeats go: one when it starts, then one per burst
            of progress (new output lines, changes in ``cwd``).
        label: Names the process in heartbeats and failures.
        redactor: Keeps secrets out of failure details.
        kill_grace_s: Seconds the leader has to exit after ``SIGTERM``.
        max_output_bytes: Bytes of each stream kept.

    Returns:
        How it ended, whatever its exit status.

    Raises:
        BackendError: ``policy``/``backend_unavailable`` when the executable
            cannot be started; ``policy``/``workspace_missing`` when ``cwd``
            is not a directory; ``transient``/``timeout`` when it ran out of
            time (its usage carries the wall time).
    """
    if not await trio.Path(cwd).is_dir():
        raise fail("policy", "workspace_missing", f"{label}: no directory {cwd}", redactor=redactor)
    try:
        process = await open_guarded_process(
            argv,
            grace_s=kill_grace_s,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        raise fail(
            "policy",
            "backend_unavailable",
            f"{label}: cannot start {argv[0]!r}: {exc.strerror or exc}",
            redactor=redactor,
        ) from None
    started = trio.current_time()
    out, err = OutputTail(max_output_bytes), OutputTail(max_output_bytes)
    progress = Progress()
    timed_out = False
    try:
        await report.process_started(process_info(process.pid, label=label))
        async with trio.open_nursery() as beats:
            beats.start_soon(send_heartbeats, report, heartbeat_s, label, progress)
            beats.start_soon(watch_tree, cwd, heartbeat_s, progress)
            async with trio.open_nursery() as pipes:
                assert process.stdout is not None and process.stderr is not None
                pipes.start_soon(_drain, process.stdout, out, progress)
                pipes.start_soon(_drain, process.stderr, err, progress)
                with trio.move_on_after(timeout_s) as deadline:
                    await process.wait()
                timed_out = deadline.cancelled_caught
                if timed_out:
                    await _end_group(process, kill_grace_s)
                else:
                    # the leader is gone: whatever it left behind goes too
                    signal_group(process.pid, signal.SIGKILL)
                # a descendant that left the group may hold the pipes open
                pipes.cancel_scope.deadline = trio.current_time() + max(kill_grace_s, 1.0)
            beats.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            if process.returncode is None:
                await _end_group(process, kill_grace_s)
            else:
                signal_group(process.pid, signal.SIGKILL)  # what it left, its guard too
            forget_group(process.pid)
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    await stream.aclose()
    wall_s = trio.current_time() - started
    logger.info(
        "%s (pid %d) %s after %.1f s",
        label,
        process.pid,
        "timed out" if timed_out else f"exited with status {process.returncode}",
        wall_s,
        extra={"pid": process.pid},
    )
    if timed_out:
        captured = (bytes(out.data) + b"\n" + bytes(err.data)).decode("utf-8", errors="replace")
        raise fail(
            "transient",
            "timeout",
            f"{label} did not finish within {timeout_s:g} s and was killed",
            usage=Usage(wall_s=wall_s),
            output=captured,
            redactor=redactor,
        )
    assert process.returncode is not None
    return ProcessOutput(
        returncode=process.returncode,
        stdout=bytes(out.data),
        stderr=bytes(err.data),
        wall_s=wall_s,
    )


async def _drain(stream: trio.abc.ReceiveStream, into: OutputTail, progress: Progress) -> None:
    async for chunk in stream:
        into.add(chunk)
        progress.output(chunk)


async def _end_group(process: trio.Process, grace_s: float) -> None:
    """SIGTERM the group, give the leader ``grace_s`` to exit, SIGKILL the group."""
    with trio.CancelScope(shield=True):
        signal_group(process.pid, signal.SIGTERM)
        with trio.move_on_after(grace_s):
            await process.wait()
        signal_group(process.pid, signal.SIGKILL)
        await process.wait()
