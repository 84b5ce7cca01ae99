"""Running a sweep's cells as Ray tasks: on a local Ray instance, or on a Ray cluster.

``ray_simulator`` connects to Ray (``ray.init``: a new local instance of
``num_cpus`` CPUs, or the cluster at an address) and yields a function that
simulates cells the way the local runner does, only elsewhere: the same
batches of cells, the same ``run_cells``, each batch's rows handed back as
soon as it ends. The rows cross back as msgpack (floats exactly), so they
are the rows of a local sweep, byte for byte once written.

At most two batches per CPU of the cluster are in flight, so that Ctrl-C
waits only for them (their rows are kept, like those of the batches a
local pool is running) and never for the whole sweep. Ray is imported only
here, and only when a sweep asks for it: ``pip install 'playbill[ray]'``.
"""

from __future__ import annotations

import logging
import socket
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import msgspec

from playbill._extras import MissingExtraError
from playbill._version import __version__

from ._cells import Cell, Row, run_cells
from ._errors import SweepError
from ._setup import SweepSetup

LOCAL = "local"
"""The address that starts a new local Ray instance (Ray's own meaning of it)."""

Simulate = Callable[[SweepSetup, Sequence[Cell], int, Callable[[Sequence[Row]], None]], None]
"""Simulates ``(setup, cells, workers, finished)``, handing each batch's rows to ``finished``."""

_IN_FLIGHT_PER_CPU = 2  # one batch running and one queued per CPU: no CPU waits on the driver
_BATCHES_PER_CPU = 8  # as the local runner: enough batches to even out uneven runs
_MAX_BATCH = 16  # 16 runs of 10-70 ms: a task's overhead (about 1 ms) is lost in it
_PROBE_TIMEOUT_S = 5.0
_ROWS = msgspec.msgpack.Decoder(list[Row])


class RayUnavailableError(MissingExtraError, SweepError):
    """A sweep was asked to run on Ray, but Ray (the ``ray`` extra) is not installed."""

    def __init__(self) -> None:
        super().__init__("ray", "ray", "--ray")


class RayClusterError(SweepError):
    """Ray cannot be reached, or failed to run the cells.

    Attributes:
        address: The cluster's address as given (``local`` for a local instance).
        detail: What went wrong, in one line.
    """

    def __init__(self, address: str, detail: str) -> None:
        super().__init__(f"Ray at {address}: {detail}")
        self.address = address
        self.detail = detail


@contextmanager
def ray_simulator(address: str = LOCAL, *, num_cpus: int = 1) -> Iterator[Simulate]:
    """Connect to Ray for the length of a sweep; yield what simulates its cells there.

    An address with a port must answer first. Then a process already
    connected to Ray (it called ``ray.init``) keeps its connection, whatever
    ``address`` says, and stays connected afterwards.
    Otherwise this connects, and disconnects at the end (shutting down the
    local instance it started).

    Args:
        address: ``local`` (a new Ray instance on this machine), ``auto`` (the
            cluster this machine belongs to, or ``RAY_ADDRESS``), a cluster's
            ``host:port``, or a Ray Client address ``ray://host:port``.
        num_cpus: CPUs of a new local instance (ignored for a cluster).

    Raises:
        RayUnavailableError: Ray is not installed.
        RayClusterError: The address cannot be reached, or Ray refuses to start.
    """
    ray = _import_ray()
    if address != LOCAL:
        _probe(address)
    started = False
    if not ray.is_initialized():
        _connect(ray, address, num_cpus)
        started = True
    try:

        def simulate(
            setup: SweepSetup,
            cells: Sequence[Cell],
            workers: int,
            finished: Callable[[Sequence[Row]], None],
        ) -> None:
            _simulate(ray, address, setup, cells, finished)

        yield simulate
    finally:
        if started:
            ray.shutdown()


def _import_ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise RayUnavailableError() from None
    return ray


def _connect(ray: ModuleType, address: str, num_cpus: int) -> None:
    """``ray.init``, with one line of error instead of minutes of retries on a bad address."""
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.ERROR,
    }
    if address == LOCAL:
        options["num_cpus"] = max(1, num_cpus)
    try:
        ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as error:
        raise RayClusterError(address, _one_line(error)) from None


def _probe(address: str) -> None:
    """Fail fast when ``host:port`` does not answer (``ray.init`` retries for minutes).

    Addresses without a port (``auto``) are left to Ray, which fails fast on them.
    """
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon or not host:
        return
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise RayClusterError(address, f"{port!r} is not a port: expected host:port")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=_PROBE_TIMEOUT_S):
            pass
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise RayClusterError(address, f"cannot connect: {reason}") from None


def _batches(cells: Sequence[Cell], cpus: int) -> deque[Sequence[Cell]]:
    size = max(1, min(_MAX_BATCH, len(cells) // (cpus * _BATCHES_PER_CPU)))
    return deque(cells[i : i + size] for i in range(0, len(cells), size))


def _simulate(
    ray: ModuleType,
    address: str,
    setup: SweepSetup,
    cells: Sequence[Cell],
    finished: Callable[[Sequence[Row]], None],
) -> None:
    """Simulate ``cells`` in Ray tasks, handing each batch's rows to ``finished`` as it ends."""
    if not cells:
        return
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    batches = _batches(cells, cpus)
    task = ray.remote(num_cpus=1)(_run_batch)
    own = _own_modules(setup)
    for module in own:  # the workers may not have them: send their code
        ray.cloudpickle.register_pickle_by_value(module)
    try:
        setup_ref = ray.put(setup)
    finally:
        for module in own:
            ray.cloudpickle.unregister_pickle_by_value(module)
    pending: list[Any] = []
    try:
        while batches or pending:
            while batches and len(pending) < cpus * _IN_FLIGHT_PER_CPU:
                pending.append(task.remote(setup_ref, batches.popleft()))
            ready, _ = ray.wait(pending, num_returns=1)
            for ref in ready:
                pending.remove(ref)
                finished(_rows(ray, address, ref))
    except KeyboardInterrupt:
        # Ctrl-C: the batches already sent (at most two per CPU) end, and
        # their rows are kept; the others are never sent.
        for ref in pending:
            try:
                rows = _rows(ray, address, ref)
            except RayClusterError:
                continue
            finished(rows)
        raise
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise


def _own_modules(setup: SweepSetup) -> list[ModuleType]:
    """The modules of the setup's strategies of its own (neither playbill's nor ``__main__``)."""
    names = {type(strategy).__module__ for strategy in setup.strategies.values()}
    return [
        sys.modules[name]
        for name in sorted(names)
        if name.partition(".")[0] not in ("playbill", "__main__") and name in sys.modules
    ]


def _rows(ray: ModuleType, address: str, ref: Any) -> list[Row]:
    """The rows of a finished batch, checked to come from this version of playbill."""
    try:
        version, encoded = ray.get(ref)
    except ray.exceptions.RayError as error:
        raise RayClusterError(address, f"a batch of runs failed: {_one_line(error)}") from None
    if version != __version__:
        raise RayClusterError(
            address,
            f"a worker runs playbill {version}, this sweep {__version__}: "
            "install the same playbill on every node",
        )
    return _ROWS.decode(encoded)


def _run_batch(setup: SweepSetup, cells: Sequence[Cell]) -> tuple[str, bytes]:
    """A Ray task: simulate a batch; the rows as msgpack, with the worker's playbill version."""
    return __version__, msgspec.msgpack.encode(run_cells(setup, cells))


def _one_line(error: BaseException) -> str:
    cause = getattr(error, "cause", None)
    shown = cause if isinstance(cause, BaseException) else error
    lines = [line.strip() for line in str(shown).splitlines() if line.strip()]
    text = lines[-1] if lines else ""
    return f"{type(shown).__name__}: {text}" if text else type(shown).__name__
