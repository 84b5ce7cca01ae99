"""Running a sweep: its cells in worker processes, rows appended as they finish.

``run_sweep`` checks the strategies, claims the output directory (its lock,
and its manifest: a directory never mixes rows of different sweeps), reads
back the rows of an earlier, interrupted sweep, simulates the remaining cells
in batches on a ``ProcessPoolExecutor`` (``forkserver`` processes where the
platform has them, else ``spawn``; in this process for one worker), and
finally writes the rows sorted by cell. Every cell is deterministic, so the
rows do not depend on the number of workers, nor on how often the sweep was
interrupted and resumed.

The worker processes never run the caller's main module. ``multiprocessing``
normally imports it again in every ``spawn`` or ``forkserver`` child (as
``__mp_main__``), so that objects of classes defined there unpickle; a
script that calls ``run_sweep`` at its top level, without an ``if __name__
== "__main__":`` guard, would then start the sweep again in each worker,
which finds the directory locked (``SweepBusyError``) and dies
(``BrokenProcessPool``); a script read from stdin fails likewise (its path,
``<stdin>``, is no file). The workers need nothing of the main module: their
entry points are here and the setup's strategies come from importable modules
(checked: one defined in ``__main__`` is refused with ``SweepWorkersError``).
So while a worker process starts, ``sys.modules["__main__"]`` is a bare
stand-in module, and ``multiprocessing`` has no main module to import in it.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import select
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import final

import attrs
import msgspec

from playbill.runtime import STRATEGIES

from ._cells import Cell, Row, run_cells
from ._errors import SweepFileError, SweepMismatchError, SweepWorkersError, UnknownStrategyError
from ._ray import LOCAL, Simulate, ray_simulator
from ._rows import PROGRESS_FILE, ProgressLog, locked, replace_file, write_rows
from ._setup import Manifest, SweepSetup

MANIFEST_FILE = "manifest.json"
"""The file that says which sweep a directory holds."""

Progress = Callable[[int, int], None]
"""Told ``(finished, total)`` cells as a sweep goes."""

_BATCHES_PER_WORKER = 8  # enough batches to even out uneven runs, few enough to keep IPC cheap
_MAX_BATCH = 16


@final
@attrs.frozen
class SweepResult:
    """What a sweep came to.

    Attributes:
        rows: One row per cell asked for, sorted by cell.
        ran: Cells simulated by this call.
        reused: Cells whose rows an earlier, interrupted sweep had already written.
        manifest: The sweep's manifest.
    """

    rows: tuple[Row, ...]
    ran: int
    reused: int
    manifest: Manifest


def check_strategies(names: Sequence[str], known: Collection[str] | None = None) -> tuple[str, ...]:
    """The strategies asked for, each once, in order, all known to the runtime.

    Args:
        names: Strategy names.
        known: The names allowed; the runtime's ``STRATEGIES`` when None.

    Raises:
        UnknownStrategyError: A name is not known (or no name is given).
    """
    allowed = sorted(STRATEGIES if known is None else known)
    if not names:
        raise UnknownStrategyError("", allowed)
    for name in names:
        if name not in allowed:
            raise UnknownStrategyError(name, allowed)
    return tuple(dict.fromkeys(names))


def cells_of(
    seeds: Sequence[int], strategies: Sequence[str], profiles: Sequence[str]
) -> list[Cell]:
    """Every cell of a sweep, sorted by seed, strategy, profile."""
    return sorted(Cell(seed, s, p) for seed in seeds for s in strategies for p in profiles)


def run_sweep(
    setup: SweepSetup,
    out: str | Path,
    *,
    strategies: Sequence[str],
    seeds: Sequence[int],
    workers: int = 1,
    progress: Progress | None = None,
    ray: bool | str = False,
) -> SweepResult:
    """Simulate every ``(seed, strategy, profile)`` cell into ``out``, resuming where it stopped.

    Blocking: runs for as long as the sweep does.

    Args:
        setup: What the sweep simulates (``load_setup``).
        out: The output directory; created if missing.
        strategies: Coordination strategies, by name: those of ``setup.strategies``
            (the built-in ``playbill.runtime.STRATEGIES`` unless it says otherwise).
        seeds: The seeds.
        workers: Worker processes; 1 simulates in this process.
        progress: Told ``(finished, total)`` as batches finish.
        ray: Simulate in Ray tasks instead (the same rows): ``True`` on a new
            local Ray instance of ``workers`` CPUs, or a cluster's address
            (``auto``, ``host:port``, ``ray://host:port``); see docs/scaling.md.

    Returns:
        The rows, sorted by cell; also written to ``rows.jsonl`` and ``rows.csv``.

    Raises:
        UnknownStrategyError: A strategy is not one of ``setup.strategies``.
        SweepMismatchError: ``out`` holds a different sweep.
        SweepBusyError: Another sweep is writing ``out``.
        SweepFileError: A file of ``out`` cannot be read or written, or is corrupt.
        SweepWorkersError: ``workers`` > 1, but a strategy's class is defined in
            ``__main__`` (a script or a notebook), which worker processes cannot import.
        RayUnavailableError: ``ray`` is asked for, but Ray is not installed.
        RayClusterError: Ray cannot be reached, or failed to run the cells.
    """
    names = check_strategies(strategies, setup.strategies)
    if workers > 1 and not ray:
        _check_importable(setup, names)
    directory = Path(out)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SweepFileError(str(directory), f"cannot create: {error.strerror or error}") from None
    manifest = setup.manifest()
    cells = cells_of(seeds, names, setup.profile_names)
    with _simulator(ray, workers) as simulate, locked(directory):
        _claim(directory, manifest)
        with ProgressLog.open(directory / PROGRESS_FILE) as (log, done):
            todo = [cell for cell in cells if cell not in done]
            reused = len(cells) - len(todo)
            count = [reused]

            def finished(rows: Sequence[Row]) -> None:
                log.append(rows)
                for row in rows:
                    done[row.cell] = row
                count[0] += len(rows)
                if progress is not None:
                    progress(count[0], len(cells))

            if progress is not None:
                progress(reused, len(cells))
            simulate(setup, todo, workers, finished)
        rows = write_rows(directory, (done[cell] for cell in cells))
    return SweepResult(rows=tuple(rows), ran=len(todo), reused=reused, manifest=manifest)


def read_manifest(directory: str | Path) -> Manifest | None:
    """The manifest of a sweep directory, or ``None`` when it has none.

    Raises:
        SweepFileError: The manifest cannot be read or is not one.
    """
    path = Path(directory) / MANIFEST_FILE
    try:
        return msgspec.json.decode(path.read_bytes(), type=Manifest)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise SweepFileError(str(path), f"cannot read: {error.strerror or error}") from None
    except msgspec.DecodeError as error:
        raise SweepFileError(str(path), f"not a sweep manifest: {error}") from None


def _claim(directory: Path, manifest: Manifest) -> None:
    """Check that ``directory`` holds this sweep (or none yet), and record its manifest."""
    recorded = read_manifest(directory)
    if recorded is None:
        if (directory / PROGRESS_FILE).exists():
            raise SweepFileError(
                str(directory / MANIFEST_FILE),
                "missing, but the directory holds rows: which sweep are they of?",
            )
        encoded = msgspec.json.format(msgspec.json.encode(manifest))
        replace_file(directory / MANIFEST_FILE, encoded + b"\n")
        return
    differences = recorded.differences(manifest)
    if differences:
        raise SweepMismatchError(str(directory), differences)
    merged = recorded.merged(manifest)
    if merged != recorded:  # strategies of one's own the directory's manifest does not name yet
        encoded = msgspec.json.format(msgspec.json.encode(merged))
        replace_file(directory / MANIFEST_FILE, encoded + b"\n")


def _simulator(ray: bool | str, workers: int) -> AbstractContextManager[Simulate]:
    """Where the cells run: worker processes here, or Ray tasks (connected first)."""
    if not ray:
        return nullcontext(_simulate)
    return ray_simulator(LOCAL if ray is True else ray, num_cpus=workers)


def _simulate(
    setup: SweepSetup,
    cells: Sequence[Cell],
    workers: int,
    finished: Callable[[Sequence[Row]], None],
) -> None:
    """Simulate ``cells`` in batches, handing each batch's rows to ``finished`` as it ends."""
    if not cells:
        return
    size = max(1, min(_MAX_BATCH, len(cells) // (max(1, workers) * _BATCHES_PER_WORKER)))
    batches = [cells[i : i + size] for i in range(0, len(cells), size)]
    if workers <= 1:
        for batch in batches:
            finished(run_cells(setup, batch))
        return
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_context(),
        initializer=_start_worker,
        initargs=(setup, os.getpid()),
    )
    pending: set[Future[list[Row]]] = {pool.submit(_run_batch, batch) for batch in batches}
    try:
        while pending:
            ready, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in ready:
                finished(future.result())
                pending.discard(future)
    except KeyboardInterrupt:
        # Ctrl-C: the batches already running end (the workers ignore it), and
        # their rows are kept too; the others never start.
        pool.shutdown(wait=True, cancel_futures=True)
        for future in pending:
            if future.done() and not future.cancelled() and future.exception() is None:
                finished(future.result())
        raise
    except BaseException:
        # A worker died, or the rows cannot be written: stop at once.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _check_importable(setup: SweepSetup, names: Sequence[str]) -> None:
    """Refuse a strategy whose class worker processes cannot import (defined in ``__main__``)."""
    for name in names:
        kind = type(setup.strategies[name])
        if kind.__module__ == "__main__":
            raise SweepWorkersError(name, kind.__qualname__)


class _ForkServerProcess(multiprocessing.context.ForkServerProcess):
    def start(self) -> None:
        with _main_hidden():
            super().start()


class _SpawnProcess(multiprocessing.context.SpawnProcess):
    def start(self) -> None:
        with _main_hidden():
            super().start()


class _ForkServerContext(multiprocessing.context.ForkServerContext):
    Process = _ForkServerProcess


class _SpawnContext(multiprocessing.context.SpawnContext):
    Process = _SpawnProcess


_main_lock = threading.Lock()


@contextmanager
def _main_hidden() -> Iterator[None]:
    """While a worker process starts: a bare ``__main__``, so that the child imports none."""
    with _main_lock:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context: multiprocessing.context.BaseContext = _ForkServerContext()
        context.set_forkserver_preload(["playbill.sweeps._cells"])
        return context
    return _SpawnContext()


_worker_setup: SweepSetup | None = None


def _start_worker(setup: SweepSetup, parent: int) -> None:
    """Initialise a worker process: keep the setup; leave Ctrl-C to the parent; die with it."""
    global _worker_setup
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_setup = setup
    _exit_with(parent)


def _exit_with(parent: int) -> None:
    """End this worker as soon as the sweep's process ``parent`` is gone.

    A pool's workers end when the pool is shut down; but when the sweep's
    process is killed, nothing would end them: they wait on a queue whose
    writing end they hold themselves (as does the forkserver), forever. A
    daemon thread waits for the parent's exit (on a pidfd where Linux has
    them, else by polling its pid) and ends the process.
    """
    try:
        pidfd: int | None = os.pidfd_open(parent)
    except (AttributeError, OSError):
        pidfd = None

    def wait_for_parent() -> None:
        if pidfd is not None:
            select.select([pidfd], [], [])
        else:
            while _alive(parent):
                time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=wait_for_parent, name="sweep-parent", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _run_batch(cells: Sequence[Cell]) -> list[Row]:
    assert _worker_setup is not None, "a worker runs batches only after _start_worker"
    return run_cells(_worker_setup, cells)
