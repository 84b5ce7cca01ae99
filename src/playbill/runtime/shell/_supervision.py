"""The supervision tree: OTP-style restarts on trio's structured concurrency.

A ``Supervisor`` owns a nursery and runs its children in it, each an async
function started with ``nursery.start()`` (it calls ``task_status.started()``
once it is ready). When a child crashes — raises an ``Exception`` — the
supervisor reports it (``on_crash``), then restarts it (``one_for_one``) or
cancels every other child and restarts them all (``one_for_all``), reporting
each restart (``on_restart``). A supervisor is itself a child: give its
``run`` to a parent.

**Restart intensity.** At most ``max_restarts`` restarts within ``period_s``
seconds of ``trio.current_time()`` (virtual under a ``MockClock``). One more
crash inside the window and the supervisor gives up: it cancels its children
and raises ``SupervisionEscalated`` — to its parent, which sees a crash of
that child and applies its own strategy; out of the root, it ends the run.

**Transient children.** A child that returns normally is done: it is not
restarted (under ``one_for_all`` neither, when a sibling crashes later). A
supervisor returns once all its children are done. A child that must run
forever is one whose function never returns.

**Cancellation.** Only a child's ``Exception`` is a crash. ``trio.Cancelled``
and other base exceptions (``KeyboardInterrupt``) are never caught: they
tear the tree down, promptly, as trio does.
"""

from __future__ import annotations

import collections
import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Literal, Protocol, TypeAlias, final

import attrs
import trio

from ..model._errors import SupervisionEscalated

RestartStrategy: TypeAlias = Literal["one_for_one", "one_for_all"]
"""What a supervisor restarts when a child crashes: that child, or all of them."""

OnCrash: TypeAlias = Callable[[str, Exception], Awaitable[None] | None]
"""``on_crash(child_id, exception)``: a child crashed (called before any restart)."""

OnRestart: TypeAlias = Callable[[str, int], Awaitable[None] | None]
"""``on_restart(child_id, restarts)``: a child is about to start again, for the n-th time."""


class ChildFunction(Protocol):
    """An async function a supervisor can start: ``await fn(task_status=...)``.

    It calls ``task_status.started()`` once it is ready (an actor: once it has
    subscribed its mailbox), so that the supervisor starts the next child
    only then.
    """

    def __call__(self, *, task_status: trio.TaskStatus[None]) -> Awaitable[None]:
        """Run the child."""
        ...


@final
@attrs.frozen
class ChildSpec:
    """One child of a supervisor.

    Attributes:
        id: Unique among its siblings; the actor's address, say.
        start: The function to run (again, on a restart).
        max_restarts: Its own restart limit within ``period_s``, counted
            apart from its siblings'; the supervisor's when ``None``.
        period_s: Its own intensity window; the supervisor's when ``None``
            (used only with ``max_restarts``).
    """

    id: str
    start: ChildFunction
    max_restarts: int | None = None
    period_s: float | None = None


def _as_children(specs: Iterable[ChildSpec]) -> tuple[ChildSpec, ...]:
    return tuple(specs)


@final
@attrs.frozen
class SupervisorStatistics:
    """What a ``Supervisor`` runs and has done. Returned by ``statistics()``."""

    name: str
    """The supervisor's name."""

    strategy: RestartStrategy
    """Its restart strategy."""

    running: tuple[str, ...]
    """Ids of the children running now, in start order."""

    finished: tuple[str, ...]
    """Ids of the children that returned normally (never restarted)."""

    crashes: int
    """Crashes of its children so far."""

    restarts: int
    """Child restarts so far (``one_for_all`` restarts each child it stops)."""

    restarts_in_period: int
    """Restart decisions within the last ``period_s``: the intensity in use."""

    escalated: bool
    """Whether it gave up (raised ``SupervisionEscalated``)."""


_Kind = Literal["returned", "crashed", "stopped"]


@final
@attrs.define(eq=False)
class _Child:
    spec: ChildSpec
    generation: int
    scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)


@final
@attrs.define(eq=False)
class _StartStatus(trio.TaskStatus[None]):
    """Forwards ``started()``, and remembers whether the child called it."""

    parent: trio.TaskStatus[None]
    called: bool = False

    def started(self, value: None = None) -> None:
        self.called = True
        self.parent.started()


async def _call(callback: Callable[..., Awaitable[None] | None] | None, *args: object) -> None:
    if callback is not None:
        result = callback(*args)
        if inspect.isawaitable(result):
            await result


@final
@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)  # converters only at init
class Supervisor:
    """A node of the supervision tree: runs children and restarts them when they crash.

    Args:
        name: For errors and statistics.
        children: Started in this order by ``run``.
        strategy: ``"one_for_one"`` restarts only the crashed child;
            ``"one_for_all"`` cancels the others and restarts every child
            still running, in start order.
        max_restarts: Restarts allowed within ``period_s``; one more crash
            within it and the supervisor escalates.
        period_s: The intensity window, in seconds of ``trio.current_time()``.
        on_crash: Called (and awaited, if it returns an awaitable) with the
            child's id and exception, before anything is restarted. Also for
            the crash that makes the supervisor give up.
        on_restart: Called (and awaited) with the child's id and how many
            times it has been restarted, just before it starts again.

    A callback that raises ends the supervisor with that error.
    """

    _name: str
    _specs: tuple[ChildSpec, ...] = attrs.field(converter=_as_children)
    _strategy: RestartStrategy = "one_for_one"
    _max_restarts: int = 3
    _period_s: float = 5.0
    _on_crash: OnCrash | None = None
    _on_restart: OnRestart | None = None

    _nursery: trio.Nursery | None = attrs.field(default=None, init=False)
    _order: list[str] = attrs.field(factory=list, init=False)
    _running: dict[str, _Child] = attrs.field(factory=dict, init=False)
    _finished: list[str] = attrs.field(factory=list, init=False)
    _generation: int = attrs.field(default=0, init=False)
    _events: collections.deque[tuple[str, int, _Kind, Exception | None]] = attrs.field(
        factory=collections.deque, init=False
    )
    _wake: trio.lowlevel.ParkingLot = attrs.field(factory=trio.lowlevel.ParkingLot, init=False)
    _window: collections.deque[float] = attrs.field(factory=collections.deque, init=False)
    _own_windows: dict[str, collections.deque[float]] = attrs.field(factory=dict, init=False)
    _crashes: int = attrs.field(default=0, init=False)
    _restarts: dict[str, int] = attrs.field(factory=dict, init=False)
    _escalated: bool = attrs.field(default=False, init=False)

    def __attrs_post_init__(self) -> None:
        ids = [spec.id for spec in self._specs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"supervisor {self._name!r}: duplicate child ids {duplicates}")
        if self._max_restarts < 0 or self._period_s <= 0:
            raise ValueError(
                f"supervisor {self._name!r}: max_restarts must be >= 0 and period_s > 0"
            )

    @property
    def name(self) -> str:
        """The supervisor's name."""
        return self._name

    def statistics(self) -> SupervisorStatistics:
        """What the supervisor runs and has done."""
        return SupervisorStatistics(
            name=self._name,
            strategy=self._strategy,
            running=tuple(i for i in self._order if i in self._running),
            finished=tuple(self._finished),
            crashes=self._crashes,
            restarts=sum(self._restarts.values()),
            restarts_in_period=len(self._window),
            escalated=self._escalated,
        )

    # ----------------------------------------------------------------- running

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start the children in order, then supervise them until all are done.

        Signals ``task_status.started()`` once every child has started: a
        supervisor is a child like any other. Running it again (as its parent
        does on a restart) starts afresh, with a new intensity window; the
        restart counts reported to ``on_restart`` go on.

        Raises:
            SupervisionEscalated: The children crashed more often than allowed.
            RuntimeError: It is already running.
        """
        if self._nursery is not None:
            raise RuntimeError(f"supervisor {self._name!r} is already running")
        self._order = [spec.id for spec in self._specs]
        self._running.clear()
        self._finished.clear()
        self._events.clear()
        self._window.clear()
        self._escalated = False
        failure: BaseException | None = None
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            try:
                for spec in self._specs:
                    await self._start(spec)
                task_status.started()
                await self._supervise()
            except BaseException as exc:  # re-raised below, not wrapped in a group
                failure = exc
                nursery.cancel_scope.cancel()
            finally:
                self._nursery = None
        if failure is not None:
            raise failure

    async def start_child(self, spec: ChildSpec) -> None:
        """Add a child to the running supervisor, and start it.

        Raises:
            RuntimeError: The supervisor is not running.
            ValueError: A child with this id is already running.
        """
        if self._nursery is None:
            raise RuntimeError(f"supervisor {self._name!r} is not running")
        if spec.id in self._running:
            raise ValueError(f"supervisor {self._name!r} already runs a child {spec.id!r}")
        if spec.id not in self._order:
            self._order.append(spec.id)
        await self._start(spec)

    def stop_child(self, child_id: str) -> None:
        """Cancel a running child for good (it is not restarted). Unknown ids are ignored."""
        child = self._running.get(child_id)
        if child is not None:
            child.scope.cancel()

    async def _start(self, spec: ChildSpec) -> None:
        assert self._nursery is not None
        self._generation += 1
        child = _Child(spec, self._generation)
        self._running[spec.id] = child
        await self._nursery.start(self._run_child, child)

    async def _run_child(self, child: _Child, *, task_status: trio.TaskStatus[None]) -> None:
        status = _StartStatus(task_status)
        error: Exception | None = None
        try:
            with child.scope:
                await child.spec.start(task_status=status)
        except Exception as exc:  # the child's own crash; never Cancelled
            error = exc
        except BaseExceptionGroup as group:
            # A crash racing a cancellation from outside (the run ending)
            # arrives grouped with the Cancelled: the crash is recorded, the
            # cancellation goes on its way.
            crash, cancelled = group.split(Exception)
            error = _single(crash)
            if cancelled is not None:
                self._record(child, status, task_status, error)
                raise cancelled from None
        self._record(child, status, task_status, error)

    def _record(
        self,
        child: _Child,
        status: _StartStatus,
        task_status: trio.TaskStatus[None],
        error: Exception | None,
    ) -> None:
        if not status.called:  # it ended before it was ready: release the starter
            task_status.started()
        kind: _Kind = "crashed" if error is not None else "returned"
        if error is None and child.scope.cancelled_caught:
            kind = "stopped"
        self._events.append((child.spec.id, child.generation, kind, error))
        self._wake.unpark_all()

    async def _next_event(self) -> tuple[_Child, _Kind, Exception | None]:
        """The next exit of a current child (exits of replaced ones are skipped)."""
        while True:
            while not self._events:
                await self._wake.park()
            child_id, generation, kind, error = self._events.popleft()
            child = self._running.get(child_id)
            if child is not None and child.generation == generation:
                return child, kind, error

    async def _supervise(self) -> None:
        while self._running:
            child, kind, error = await self._next_event()
            child_id = child.spec.id
            del self._running[child_id]
            if error is None:
                if kind == "returned":
                    self._finished.append(child_id)
                continue
            self._crashes += 1
            await _call(self._on_crash, child_id, error)
            if not self._may_restart(child.spec):
                self._escalated = True
                limit, period = self._limits(child.spec)
                raise SupervisionEscalated(
                    self._name, child_id, limit, period, repr(error)
                ) from error
            if self._strategy == "one_for_one":
                await self._restart(child.spec)
            else:
                await self._restart_all(child)

    def _limits(self, spec: ChildSpec) -> tuple[int, float]:
        """The restart limit and window that apply to a child: its own, or the tree's."""
        if spec.max_restarts is None:
            return self._max_restarts, self._period_s
        period = spec.period_s if spec.period_s is not None else self._period_s
        return spec.max_restarts, period

    def _may_restart(self, spec: ChildSpec) -> bool:
        """Record a restart in the intensity window, unless it is full.

        A child with a limit of its own has a window of its own; the others
        share the supervisor's.
        """
        limit, period = self._limits(spec)
        if spec.max_restarts is None:
            window = self._window
        else:
            window = self._own_windows.setdefault(spec.id, collections.deque())
        now = trio.current_time()
        while window and window[0] <= now - period:
            window.popleft()
        if len(window) >= limit:
            return False
        window.append(now)
        return True

    async def _restart(self, spec: ChildSpec) -> None:
        count = self._restarts.get(spec.id, 0) + 1
        self._restarts[spec.id] = count
        await _call(self._on_restart, spec.id, count)
        await self._start(spec)

    async def _restart_all(self, crashed: _Child) -> None:
        """Cancel every other running child, wait for them, restart all in start order."""
        stopping = dict(self._running)
        for other in stopping.values():
            other.scope.cancel()
        restart = {crashed.spec.id: crashed.spec}
        while self._running:
            child, kind, error = await self._next_event()
            del self._running[child.spec.id]
            if kind == "returned":  # it was done before it could be stopped
                self._finished.append(child.spec.id)
                continue
            if error is not None:  # it crashed while being stopped: report it, once
                self._crashes += 1
                await _call(self._on_crash, child.spec.id, error)
            restart[child.spec.id] = child.spec
        for child_id in self._order:
            if child_id in restart:
                await self._restart(restart[child_id])


def _single(group: ExceptionGroup[Exception] | None) -> Exception | None:
    """The one exception of a group that holds one, else the group itself."""
    if group is None:
        return None
    leaves = list(_leaves(group))
    return leaves[0] if len(leaves) == 1 else group


def _leaves(exc: Exception) -> Iterator[Exception]:
    if isinstance(exc, ExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc
