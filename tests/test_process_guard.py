"""No process playbill starts outlives its runner: the guard, identities, and reaping leftovers.

Real processes and real signals throughout. A "runner" here is a small
Python program that starts one command through ``open_guarded_process``
(``RUNNER`` below), so that the test can SIGKILL it like a real runner.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import msgspec
import pytest

from playbill import _process
from playbill._process import (
    end_leftover,
    forget_group,
    kill_groups,
    open_guarded_process,
    process_info,
    same_process,
    signal_group,
    start_ticks,
)
from playbill.runtime import ProcessInfo
from process_helpers import (
    cmdline,
    kill_all,
    linux_only,
    members,
    pids_in,
    running,
    wait_until,
)

pytestmark = linux_only

AGENT = """\
import os, subprocess, sys, time
from pathlib import Path
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
out = Path(sys.argv[1])
out.with_suffix(".tmp").write_text(f"{os.getpid()}\\n{child.pid}\\n")
out.with_suffix(".tmp").replace(out)
time.sleep(300)
"""
"""A stand-in agent: starts a child in its group, writes both pids, sleeps."""

RUNNER = """\
import subprocess, sys, trio
from pathlib import Path
import trio._core._thread_cache as cache
from playbill._process import open_guarded_process

cache.IDLE_TIMEOUT = 0.05  # worker threads retire at once: a thread-bound guard would fire

async def main(ready: str, argv: list[str]) -> None:
    await open_guarded_process(
        argv, grace_s=1.0, cwd=".", env={"PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    await trio.sleep(0.5)  # the thread that forked the command has long retired
    Path(ready).write_text("idle")
    await trio.sleep_forever()

trio.run(main, sys.argv[1], sys.argv[2:])
"""


def start_runner(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    pids = tmp_path / "pids"
    ready = tmp_path / "ready"
    process = subprocess.Popen(
        [sys.executable, str(runner), str(ready), sys.executable, str(agent), str(pids)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    wait_until(lambda: ready.exists() and len(pids_in(pids)) == 2, "the agent and its child run")
    return process, pids


@pytest.mark.slow
def test_the_group_outlives_the_forking_thread_and_dies_with_the_runner(
    tmp_path: Path,
) -> None:
    runner, pids = start_runner(tmp_path)
    agent, child = pids_in(pids)
    try:
        # trio's worker thread that forked the agent is gone: the agent is not
        assert running(agent) and running(child)
        assert members(agent) == sorted([agent, child, *guards(agent)])
        assert len(guards(agent)) == 1
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        took = wait_until(lambda: not running(agent) and not running(child), "the group is gone")
        wait_until(lambda: not members(agent), "the guard is gone too")
        print(f"agent and child gone {took:.3f} s after the runner's SIGKILL")
    finally:
        kill_all([agent, child, *guards(agent)])
        if runner.poll() is None:
            runner.kill()
            runner.wait()


def guards(pgid: int) -> list[int]:
    """The guards in a process group (the launcher's processes left behind)."""
    return [pid for pid in members(pgid) if any(a.endswith("_guard.py") for a in cmdline(pid))]


async def test_the_command_gets_exactly_its_environment_and_default_signals(
    tmp_path: Path,
) -> None:
    # /proc/PID/environ holds the environment the exec passed, whatever the
    # shell does with it afterwards; SigIgn the signals it came in ignoring.
    script = 'tr "\\0" "\\n" < /proc/$$/environ; grep SigIgn /proc/$$/status'
    env = {"PATH": os.environ["PATH"], "ONLY": "this"}
    process = await open_guarded_process(
        ["/bin/sh", "-c", script],
        grace_s=1.0,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    out = b""
    async for chunk in process.stdout:
        out += chunk
    assert await process.wait() == 0
    assert process.pid in _process._groups  # tracked until its starter ends its group
    signal_group(process.pid, signal.SIGKILL)  # its guard
    forget_group(process.pid)
    *lines, ignored = out.decode().splitlines()
    # no LC_CTYPE from the launcher's own locale coercion (PEP 538)
    assert dict(line.split("=", 1) for line in lines) == env
    sigpipe = 1 << (signal.SIGPIPE - 1)
    assert int(ignored.split()[1], 16) & sigpipe == 0  # not the interpreter's SIG_IGN


async def test_a_command_that_cannot_run_raises_and_leaves_nothing(tmp_path: Path) -> None:
    tracked = set(_process._groups)
    with pytest.raises(OSError) as raised:
        await open_guarded_process(
            [str(tmp_path / "no-such-agent")],
            grace_s=1.0,
            cwd=tmp_path,
            env={"PATH": os.environ["PATH"]},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    assert raised.value.errno == 2
    assert raised.value.strerror == "No such file or directory"
    assert set(_process._groups) == tracked  # nothing left to track, nor to kill


async def test_kill_groups_kills_every_group_still_tracked(tmp_path: Path) -> None:
    started = [
        await open_guarded_process(
            ["sleep", "300"],
            grace_s=60.0,
            cwd=tmp_path,
            env={"PATH": os.environ["PATH"]},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    assert kill_groups() >= 2
    for process in started:
        assert await process.wait() == -signal.SIGKILL  # at once: no grace
        wait_until(lambda: not members(process.pid), "its guard is gone too")  # noqa: B023
    assert not set(_process._groups) & {p.pid for p in started}


def sleeper() -> subprocess.Popen[bytes]:
    """A process the test starts: no runner, no guard, a session of its own."""
    return subprocess.Popen(["sleep", "300"], start_new_session=True)


async def test_a_leftover_still_the_same_process_is_reaped() -> None:
    proc = sleeper()
    try:
        info = process_info(proc.pid, label="sleep")
        assert same_process(info) is True
        assert await end_leftover(info, grace_s=1.0) == "reaped"
        assert proc.wait(timeout=30) == -signal.SIGTERM
    finally:
        proc.kill()
        proc.wait()


def session_leader(script: str) -> subprocess.Popen[str]:
    """A shell script leading a session of its own, its output piped."""
    return subprocess.Popen(
        ["sh", "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True
    )


async def test_a_leader_that_ended_unreaped_still_names_its_group() -> None:
    # The leaders exit at once and nobody reaps them (zombies): their pids, and
    # so their groups' ids, cannot be handed to other processes meanwhile.
    with_child = session_leader("sleep 300 & echo $!; exit 0")
    alone = session_leader("exit 0")
    infos = [process_info(p.pid) for p in (with_child, alone)]
    assert with_child.stdout is not None
    orphan = int(with_child.stdout.readline())
    try:
        wait_until(lambda: not running(with_child.pid) and not running(alone.pid), "both exit")
        assert running(orphan)
        assert same_process(infos[0]) is True  # a zombie: still that process
        assert await end_leftover(infos[0], grace_s=1.0) == "reaped"
        wait_until(lambda: not running(orphan), "what it left in its group is killed")
        assert await end_leftover(infos[1], grace_s=1.0) == "gone"  # nothing of it runs
    finally:
        kill_all([orphan])
        for p in (with_child, alone):
            p.communicate()


async def test_a_pid_given_to_another_process_is_never_killed() -> None:
    proc = sleeper()
    try:
        info = process_info(proc.pid)
        assert info.start_ticks is not None

        def journaled(**changes: object) -> ProcessInfo:
            return msgspec.structs.replace(info, **changes)

        # another process had this pid before (it started earlier)
        recycled = journaled(start_ticks=info.start_ticks - 1)
        assert same_process(recycled) is False
        assert await end_leftover(recycled, grace_s=1.0) == "gone"
        # journaled in another boot of this host
        assert await end_leftover(journaled(boot_id="another-boot"), grace_s=1.0) == "gone"
        # journaled on another host, or with no start time: this host cannot tell
        elsewhere = journaled(host="not-" + socket.gethostname())
        assert await end_leftover(elsewhere, grace_s=1.0) == "unchecked"
        assert await end_leftover(journaled(start_ticks=None), grace_s=1.0) == "unchecked"
        assert proc.poll() is None  # none of them touched it
    finally:
        proc.kill()
        proc.wait()


def test_start_times_are_read_past_a_name_with_spaces_and_parentheses(tmp_path: Path) -> None:
    odd = tmp_path / "a) b (c"
    odd.symlink_to(Path("/bin/sleep").resolve())
    procs = [subprocess.Popen([cmd, "300"]) for cmd in ("sleep", str(odd), "sleep")]
    try:
        ticks = [start_ticks(p.pid) for p in procs]
        assert all(isinstance(t, int) for t in ticks), ticks
        assert ticks[0] <= ticks[1] <= ticks[2]  # type: ignore[operator]
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_a_forked_child_lets_go_of_the_runners_lifeline() -> None:
    # A child forked without exec (a multiprocessing worker) must not hold the
    # write end: the runner's guards would wait for the child's death too.
    read_end = _process.lifeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # the child
        os._exit(0 if _process._lifeline is None else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert _process.lifeline() == read_end  # the runner keeps its own
