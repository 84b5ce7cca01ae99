"""The launcher every process playbill starts goes through, and the guard it leaves behind.

Run as ``python -I -S _guard.py LIFELINE STATUS GRACE DROP -- ARGV...`` by
``playbill._process.open_guarded_process``, as the leader of a new session
(so of a new process group). It:

1. forks a *guard*: a grandchild (re-parented at once to init, or to the
   nearest subreaper), in the same process group, that holds only the read
   end ``LIFELINE`` of a pipe whose write end only the runner holds. It
   blocks reading it. The read returns end-of-file when every holder of the
   write end is gone, that is when the runner died, however it died (even
   by ``SIGKILL``: the kernel closes a dead process's descriptors). The
   guard then sends ``SIGTERM`` to its process group, waits ``GRACE``
   seconds and sends ``SIGKILL`` to the group, itself included. While the
   runner lives the guard only waits; when the runner stops the group itself
   (the command ended, timed out or was cancelled) the guard dies with it.
2. restores what a Python interpreter changed in its own state and which an
   exec would pass on (``SIGPIPE`` and ``SIGXFSZ`` ignored, ``LC_CTYPE`` set
   by locale coercion: the names in ``DROP``, comma-separated, are unset),
3. marks ``STATUS`` close-on-exec and replaces itself with ``ARGV`` (same
   pid, so the command leads the group). If the exec fails, it writes the
   ``errno`` to ``STATUS`` and exits 127: the runner reads end-of-file on
   ``STATUS`` after a successful exec, the error number otherwise, as
   ``subprocess`` itself does.

It imports nothing but the standard library and runs with ``-I -S``, so it
starts in a few milliseconds whatever the environment holds.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def main(args: list[str]) -> None:
    """Start the guard, then exec the command (see the module)."""
    if len(args) < 6 or args[4] != "--":
        raise SystemExit("usage: _guard.py LIFELINE STATUS GRACE DROP -- ARGV...")
    lifeline, status, grace = int(args[0]), int(args[1]), float(args[2])
    drop = [name for name in args[3].split(",") if name]
    argv = args[5:]
    child = os.fork()
    if child == 0:
        if os.fork() == 0:
            _guard(lifeline, grace)  # never returns
        os._exit(0)
    os.waitpid(child, 0)
    os.close(lifeline)
    for name in ("SIGPIPE", "SIGXFSZ"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    for name in drop:
        os.environ.pop(name, None)
    os.set_inheritable(status, False)
    try:
        os.execvp(argv[0], argv)
    except OSError as error:
        os.write(status, str(error.errno or 0).encode())
        os._exit(127)


def _guard(lifeline: int, grace_s: float) -> None:
    """Wait for the runner's death, then end the process group (itself included)."""
    try:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            # the group's SIGTERM is for the command; the guard still has to SIGKILL
            signal.signal(sig, signal.SIG_IGN)
        os.chdir("/")
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)  # never hold the command's output pipes open
        keep = sorted({0, 1, 2, lifeline})
        for low, high in zip(keep, [*keep[1:], os.sysconf("SC_OPEN_MAX")], strict=True):
            os.closerange(low + 1, high)  # above all: the runner's STATUS pipe
        while True:
            try:
                if not os.read(lifeline, 4096):
                    break  # end of file: the runner is gone
            except InterruptedError:
                continue
        group = os.getpgrp()
        os.killpg(group, signal.SIGTERM)
        time.sleep(grace_s)
        os.killpg(group, signal.SIGKILL)
    finally:
        os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
