"""Running one validator command: its own process group, a deadline, a bounded output.

Every command starts in a new session, so it leads its own process group.
When the deadline passes (or the caller is cancelled) the whole group gets
``SIGKILL`` at once: the command, its children and theirs, with no polite
``SIGTERM`` a hung test suite could ignore. The command itself is reaped
here; killed descendants are re-parented to init (or the nearest
subreaper), which reaps them. A descendant that starts a session of its own
(a daemon) leaves the group and is out of reach; validator commands should
not daemonize.

Like an agent's process, it starts through the guard launcher
(``open_guarded_process``): if the runner dies, even by ``SIGKILL``, the
guard kills the group at once; and the caller is told of it
(``on_start``) to journal it.

When the command exits on its own, whatever is left of its group (a
background ``sleep &``) is killed too: it would otherwise hold the output
pipe open, and a validator leaves nothing running behind it.

stderr is merged into stdout, so the output keeps the order the command wrote
it in. Only the last ``KEEP_BYTES`` bytes are kept in memory.
"""

from __future__ import annotations

import logging
import signal
import subprocess
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeAlias, final

import attrs
import trio

from playbill._process import (
    OutputTail,
    forget_group,
    open_guarded_process,
    process_info,
    signal_group,
)
from playbill.runtime import ProcessInfo

logger = logging.getLogger(__name__)

KEEP_BYTES = 1 << 20
"""Bytes of a command's output kept in memory (the end of it)."""


@final
@attrs.frozen
class Exited:
    """The command ran and exited.

    Attributes:
        returncode: Its exit status; negative when a signal killed it.
        output: The end of its output.
        dropped: Bytes of earlier output that were not kept.
    """

    returncode: int
    output: bytes
    dropped: int


@final
@attrs.frozen
class TimedOut:
    """The command outlived its deadline and its process group was killed.

    Attributes:
        output: The end of what it wrote before it was killed.
        dropped: Bytes of earlier output that were not kept.
    """

    output: bytes
    dropped: int


@final
@attrs.frozen
class NotStarted:
    """The command could not be started (no such executable, permission denied).

    Attributes:
        reason: What the operating system said.
    """

    reason: str


Outcome: TypeAlias = Exited | TimedOut | NotStarted
"""How running a command ended."""


async def _read(stream: trio.abc.ReceiveStream, tail: OutputTail) -> None:
    async with stream:
        async for chunk in stream:
            tail.add(chunk)


async def run_command(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
    shell: bool = False,
    keep_bytes: int = KEEP_BYTES,
    on_start: Callable[[ProcessInfo], Awaitable[None]] | None = None,
) -> Outcome:
    """Run a command to completion or to its deadline.

    Args:
        argv: The command. With ``shell`` its elements are joined with spaces
            into the one command line the shell runs.
        cwd: Where it runs (already confined by the caller).
        env: Its whole environment.
        timeout_s: Seconds before its process group is killed.
        shell: Run through ``/bin/sh -c``.
        keep_bytes: Bytes of output to keep (the end).
        on_start: Told of the command's process as soon as it runs.

    Returns:
        How it ended, with the end of its output.
    """
    command = ["/bin/sh", "-c", " ".join(argv)] if shell else list(argv)
    tail = OutputTail(keep_bytes)
    proc: trio.Process | None = None
    with trio.move_on_after(timeout_s) as deadline:
        try:
            proc = await open_guarded_process(
                command,
                grace_s=0.0,
                cwd=cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            return NotStarted(reason=exc.strerror or repr(exc))
        try:
            assert proc.stdout is not None
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_read, proc.stdout, tail)
                if on_start is not None:
                    await on_start(process_info(proc.pid, label=command[0]))
                await proc.wait()
                # what the command left running would hold the pipe open
                signal_group(proc.pid, signal.SIGKILL)
        finally:
            # Whatever happened (deadline, cancellation, a normal exit), nothing
            # of the group may outlive the validator, its guard included.
            with trio.CancelScope(shield=True):
                signal_group(proc.pid, signal.SIGKILL)
                await proc.wait()
            forget_group(proc.pid)
            logger.debug("process %d ended: status %s", proc.pid, proc.returncode)
    if deadline.cancelled_caught or proc is None or proc.returncode is None:
        return TimedOut(output=bytes(tail.data), dropped=tail.dropped)
    return Exited(returncode=proc.returncode, output=bytes(tail.data), dropped=tail.dropped)


def describe_exit(returncode: int) -> str:
    """``exit 3``, or ``killed by SIGSEGV`` for a negative status."""
    if returncode >= 0:
        return f"exit {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    return f"killed by {name}"
