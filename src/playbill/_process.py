"""What every process playbill starts shares: environment, process group, output, end.

Agents' processes and validators' commands run code an agent wrote or
chose, so they get a clean environment: ``BASE_ENV`` and the names the
plan allows, never the whole environment (API keys and tokens stay out of
reach). Each starts in a session of its own, so its pid is its process
group's id and ``signal_group`` reaches its children too. Only the end of
its output is kept in memory (``OutputTail``).

**No process outlives its runner.** Each is started through a launcher
(``playbill/_guard.py``, see ``open_guarded_process``) that leaves a guard
in the process group: the guard holds the read end of the runner's
*lifeline*, a pipe whose write end only the runner holds, and when a read
returns end-of-file (the runner died, even by ``SIGKILL``) it ends the whole
group: ``SIGTERM``, a grace period, ``SIGKILL``.

Why not ``PR_SET_PDEATHSIG``: it kills only the direct child (not the
command's own children, nor theirs), exists only on Linux, and fires when
the *thread* that forked the child exits, not the process. trio forks in a
worker thread (``trio.lowlevel.open_process`` runs ``subprocess.Popen``
through ``trio.to_thread.run_sync``, ``trio/_subprocess.py``), and a cached
worker thread exits after 10 idle seconds (``IDLE_TIMEOUT``,
``trio/_core/_thread_cache.py``): a parent-death signal set in the child
would kill a healthy agent ten seconds after the runner's last thread job.
A pipe's end-of-file depends on no thread, works on every POSIX system, and
the guard, a member of the group, can reach every process in it.

What the guard cannot catch (its own ``SIGKILL``, a command that leaves its
group), a resumed run catches: every process is journaled with its pid and
start time (``process_info``), and ``end_leftover`` kills the group of one
that is still the same process.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final, final

import attrs
import trio

from playbill.runtime import ProcessEnd, ProcessInfo

logger = logging.getLogger(__name__)

BASE_ENV: tuple[str, ...] = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TERM",
    "TMPDIR",
    "SYSTEMROOT",
    "VIRTUAL_ENV",
    "PYTHONPATH",
)
"""Environment variables every process playbill starts gets, when they are set."""


def base_env(
    allow: Iterable[str] = (),
    extra: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A process's environment: ``BASE_ENV`` and ``allow`` names that are set, then ``extra``.

    Args:
        allow: Further names to pass through.
        extra: Variables to set whatever the environment holds.
        environ: Where to pick from (``os.environ`` when ``None``).
    """
    env = os.environ if environ is None else environ
    wanted = {*BASE_ENV, *allow}
    picked = {name: value for name, value in env.items() if name in wanted}
    picked.update(extra or {})
    return picked


@final
@attrs.define(eq=False)
class OutputTail:
    """The last ``keep`` bytes written to it, and how many earlier ones were dropped."""

    keep: int
    data: bytearray = attrs.field(factory=bytearray)
    dropped: int = 0

    def add(self, chunk: bytes | bytearray) -> None:
        """Append ``chunk``, dropping the oldest bytes past ``keep``."""
        self.data += chunk
        excess = len(self.data) - self.keep
        if excess > 0:
            del self.data[:excess]
            self.dropped += excess


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to a process group; a group already gone (or not ours) is left be."""
    with contextlib.suppress(OSError):
        os.killpg(pgid, sig)


GUARD: Final = Path(__file__).with_name("_guard.py")
"""The launcher every process playbill starts runs through (see the module)."""

_COERCED_ENV: Final = ("LC_CTYPE",)
"""Variables the launcher's own interpreter may set (locale coercion, PEP 538)."""

_lifeline: tuple[int, int] | None = None
"""This process's lifeline: (read end, write end), made on first use."""

_POLL_S: Final = 0.02
"""How often ``end_leftover`` looks whether a group it signalled is gone."""

_groups: dict[int, None] = {}
"""Process groups this process started and has not yet seen ended."""


def _forget_lifeline() -> None:
    """In a child forked (without exec) from a runner: let go of the runner's lifeline.

    Otherwise the child would hold the write end, and the runner's guards
    would wait for the child's death instead of the runner's.
    """
    global _lifeline
    if _lifeline is not None:
        for fd in _lifeline:
            with contextlib.suppress(OSError):
                os.close(fd)
        _lifeline = None
    _groups.clear()


os.register_at_fork(after_in_child=_forget_lifeline)


def lifeline() -> int:
    """The read end of this process's lifeline, made on first use.

    Both ends are close-on-exec: only the processes it is passed to hold
    the read end, and only this process holds the write end, which it never
    writes to and never closes. Its end-of-file tells the guards that this
    process died.
    """
    global _lifeline
    if _lifeline is None:
        _lifeline = os.pipe()
    return _lifeline[0]


async def open_guarded_process(
    argv: Sequence[str],
    *,
    grace_s: float,
    cwd: str | os.PathLike[str],
    env: Mapping[str, str],
    stdout: int,
    stderr: int,
) -> trio.Process:
    """Start ``argv`` in a session of its own, through the guard launcher.

    The process leads its process group (its pid is the group's id); a guard
    in the group ends the group if this process dies (see the module). The
    group is tracked until ``forget_group``; ``kill_groups`` kills every
    tracked group at once.

    Args:
        argv: The command line (no shell).
        grace_s: Seconds the guard gives the group between ``SIGTERM`` and
            ``SIGKILL``.
        cwd: Where it runs.
        env: Its whole environment.
        stdout: As ``subprocess.Popen``'s.
        stderr: As ``subprocess.Popen``'s.

    Returns:
        The process, once its command was executed.

    Raises:
        OSError: The command could not be executed (no such file, not
            executable...), as ``subprocess.Popen`` raises it.
    """
    drop = ",".join(name for name in _COERCED_ENV if name not in env)
    status_read, status_write = os.pipe()
    read_end = lifeline()
    command = [
        sys.executable,
        "-I",
        "-S",
        str(GUARD),
        str(read_end),
        str(status_write),
        repr(float(grace_s)),
        drop,
        "--",
        *argv,
    ]
    try:
        process = await trio.lowlevel.open_process(
            command,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
            pass_fds=(read_end, status_write),
        )
    except BaseException:
        os.close(status_read)
        raise
    finally:
        os.close(status_write)
    _groups[process.pid] = None
    try:
        failure = await _read_to_end(status_read)
    except BaseException:
        with trio.CancelScope(shield=True):
            signal_group(process.pid, signal.SIGKILL)
            await process.wait()
        forget_group(process.pid)
        raise
    if failure:
        with trio.CancelScope(shield=True):
            signal_group(process.pid, signal.SIGKILL)  # the guard, already forked
            await process.wait()
        forget_group(process.pid)
        number = int(failure)
        raise OSError(number, os.strerror(number), argv[0])
    # The program's name only: its arguments may carry a prompt or a token.
    logger.debug("process %d started: %s", process.pid, Path(argv[0]).name)
    return process


async def _read_to_end(fd: int) -> bytes:
    """Everything written to a pipe until its end-of-file (takes the descriptor)."""
    data = b""
    async with trio.lowlevel.FdStream(fd) as stream:
        while chunk := await stream.receive_some():
            data += chunk
    return data


def forget_group(pgid: int) -> None:
    """Stop tracking a process group that its starter has seen ended."""
    _groups.pop(pgid, None)


def kill_groups() -> int:
    """``SIGKILL`` every process group this process started and still tracks.

    For a runner that must stop at once (a second Ctrl-C): nothing it started
    is left running. Returns how many groups it signalled.
    """
    groups = list(_groups)
    for pgid in groups:
        signal_group(pgid, signal.SIGKILL)
    _groups.clear()
    return len(groups)


def process_info(pid: int, *, label: str = "") -> ProcessInfo:
    """What identifies a running process for good: pid, group, start time, boot, host.

    Off Linux the start time and boot are unknown (``None`` and empty): such
    a process is never killed by a resumed run, which cannot tell it from
    another that got its pid.
    """
    try:
        pgid = os.getpgid(pid)
    except OSError:
        pgid = pid  # it already ended; it led its own group
    return ProcessInfo(
        pid=pid,
        pgid=pgid,
        start_ticks=start_ticks(pid),
        boot_id=boot_id(),
        host=socket.gethostname(),
        label=label,
    )


def start_ticks(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot; ``None`` if unknown.

    Field 22 of ``/proc/<pid>/stat`` on Linux. The second field (the
    command's name, in parentheses) may hold spaces and parentheses, so the
    fields are counted from the last ``)``.
    """
    try:
        text = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = text[text.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])  # field 3 is fields[0]
    except (IndexError, ValueError):
        return None


@functools.cache
def boot_id() -> str:
    """This boot of the host (Linux); empty where unknown."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return ""


def same_process(info: ProcessInfo) -> bool | None:
    """Whether the pid ``info`` names is still that process, here.

    ``True`` only when the pid's start time and boot are the ones journaled
    (the process runs, or has ended but its parent has not reaped it yet),
    so a pid handed to another process is never mistaken for it. ``None``
    when this host cannot tell: another host, or no start time.
    """
    if info.host != socket.gethostname():
        return None
    if info.boot_id and boot_id() and info.boot_id != boot_id():
        return False  # the host rebooted since: nothing of then runs
    if info.start_ticks is None:
        return None
    return start_ticks(info.pid) == info.start_ticks


def group_alive(pgid: int) -> bool:
    """Whether process group ``pgid`` has a member that is not a zombie.

    On Linux the members are found in ``/proc``; elsewhere any member,
    zombies included, counts.
    """
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True  # there, but not ours to signal
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_bytes()
        except OSError:
            continue  # it ended meanwhile
        fields = text[text.rfind(b")") + 2 :].split()
        if len(fields) > 2 and fields[2] == b"%d" % pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False


async def end_leftover(info: ProcessInfo, grace_s: float) -> ProcessEnd:
    """End what is left of a process a dead runner started, if it is still the same one.

    While the journaled process's pid still names it (running, or a zombie
    its new parent has not reaped), no other group can take its group's
    id: whatever runs in that group is its own. The group gets ``SIGTERM``,
    up to ``grace_s`` seconds, then ``SIGKILL``.

    Returns:
        ``reaped`` (something of its group ran, and was killed), ``gone``
        (nothing of it runs) or ``unchecked`` (this host cannot tell it
        from another process; left alone).
    """
    same = same_process(info)
    if same is None:
        return "unchecked"
    if not same or not group_alive(info.pgid):
        return "gone"
    signal_group(info.pgid, signal.SIGTERM)
    # Not our child: nothing to wait on but the group's presence, polled.
    for _ in range(max(1, math.ceil(grace_s / _POLL_S))):
        if not group_alive(info.pgid):
            break
        await trio.sleep(_POLL_S)
    if group_alive(info.pgid):
        signal_group(info.pgid, signal.SIGKILL)
    return "reaped"
