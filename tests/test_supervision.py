"""The supervision tree: strategies, intensity, escalation, callbacks, cancellation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import trio
import trio.testing

from playbill.runtime.model._errors import SupervisionEscalated
from playbill.runtime.shell._supervision import (
    ChildFunction,
    ChildSpec,
    RestartStrategy,
    Supervisor,
)


class Boom(Exception):
    pass


class Log:
    """Records starts, crashes and restarts in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []
        self.starts: dict[str, int] = {}

    def started(self, child_id: str) -> int:
        self.starts[child_id] = self.starts.get(child_id, 0) + 1
        self.events.append(("start", child_id))
        return self.starts[child_id]

    def on_crash(self, child_id: str, exc: Exception) -> None:
        self.events.append(("crash", child_id, type(exc).__name__))

    def on_restart(self, child_id: str, restarts: int) -> None:
        self.events.append(("restart", child_id, str(restarts)))


def child(log: Log, child_id: str, behaviour: Callable[[int], Any] | None = None) -> ChildSpec:
    """A child that logs its start, then does ``behaviour(nth start)`` or sleeps forever."""

    async def run(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        n = log.started(child_id)
        task_status.started()
        if behaviour is not None:
            await behaviour(n)
        else:
            await trio.sleep_forever()

    return ChildSpec(child_id, run)


def crash_first(times: int, *, delay: float = 0) -> Callable[[int], Any]:
    async def behaviour(n: int) -> None:
        await trio.sleep(delay)
        if n <= times:
            raise Boom(f"crash {n}")
        await trio.sleep_forever()

    return behaviour


def supervisor(
    log: Log, children: list[ChildSpec], strategy: RestartStrategy, **kw: Any
) -> Supervisor:
    return Supervisor(
        "root",
        children,
        strategy,
        on_crash=log.on_crash,
        on_restart=log.on_restart,
        **kw,
    )


async def run_for(sup: Supervisor, seconds: float) -> None:
    with trio.move_on_after(seconds):
        await sup.run()


async def test_one_for_one_restarts_only_the_crashed_child(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log = Log()
    sup = supervisor(
        log, [child(log, "a", crash_first(1, delay=1)), child(log, "b")], "one_for_one"
    )
    await run_for(sup, 10)
    assert log.starts == {"a": 2, "b": 1}
    assert log.events == [
        ("start", "a"),
        ("start", "b"),
        ("crash", "a", "Boom"),
        ("restart", "a", "1"),
        ("start", "a"),
    ]
    stats = sup.statistics()
    assert (stats.crashes, stats.restarts, stats.escalated) == (1, 1, False)


async def test_one_for_all_cancels_and_restarts_all_in_start_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log = Log()
    cancelled: list[str] = []

    async def stubborn(n: int) -> None:
        try:
            await trio.sleep_forever()
        finally:
            cancelled.append(f"c{n}")

    children = [
        child(log, "a"),
        child(log, "b", crash_first(1, delay=1)),
        child(log, "c", stubborn),
    ]
    sup = supervisor(log, children, "one_for_all")
    await run_for(sup, 10)
    assert log.starts == {"a": 2, "b": 2, "c": 2}
    assert log.events[:3] == [("start", "a"), ("start", "b"), ("start", "c")]
    assert log.events[3:] == [
        ("crash", "b", "Boom"),
        ("restart", "a", "1"),
        ("start", "a"),
        ("restart", "b", "1"),
        ("start", "b"),
        ("restart", "c", "1"),
        ("start", "c"),
    ]
    assert cancelled == ["c1", "c2"]  # the first c was stopped; the second at the end


async def test_restart_intensity_exceeded_escalates(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log = Log()
    sup = supervisor(
        log, [child(log, "a", crash_first(99, delay=1))], "one_for_one", max_restarts=2, period_s=10
    )
    with pytest.raises(SupervisionEscalated) as info:
        await sup.run()
    error = info.value
    assert (error.supervisor, error.child_id, error.max_restarts, error.period_s) == (
        "root",
        "a",
        2,
        10,
    )
    assert isinstance(error.__cause__, Boom)
    assert "gave up" in str(error) and "crash 3" in str(error)
    assert log.events == [
        ("start", "a"),
        ("crash", "a", "Boom"),
        ("restart", "a", "1"),
        ("start", "a"),
        ("crash", "a", "Boom"),
        ("restart", "a", "2"),
        ("start", "a"),
        ("crash", "a", "Boom"),  # reported, then the supervisor gives up
    ]
    assert sup.statistics().escalated


async def test_crashes_spread_beyond_the_period_do_not_escalate(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log = Log()

    async def crash_every_6s_then_finish(n: int) -> None:
        await trio.sleep(6)
        if n <= 5:
            raise Boom

    sup = supervisor(
        log,
        [child(log, "a", crash_every_6s_then_finish)],
        "one_for_one",
        max_restarts=2,
        period_s=10,
    )
    await sup.run()  # returns: its only child finished normally
    assert log.starts["a"] == 6
    stats = sup.statistics()
    assert (stats.crashes, stats.restarts, stats.finished, stats.running) == (5, 5, ("a",), ())


async def test_escalation_goes_to_the_parent_and_the_root_ends_the_run(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log = Log()
    inner = Supervisor(
        "agents",
        [child(log, "ex", crash_first(99, delay=1))],
        "one_for_one",
        max_restarts=1,
        period_s=100,
        on_crash=log.on_crash,
        on_restart=log.on_restart,
    )
    root = Supervisor(
        "run",
        [ChildSpec("agents", inner.run), child(log, "sibling")],
        "one_for_one",
        max_restarts=1,
        period_s=100,
        on_crash=log.on_crash,
        on_restart=log.on_restart,
    )
    with pytest.raises(SupervisionEscalated) as info:
        await root.run()
    error = info.value
    assert (error.supervisor, error.child_id) == ("run", "agents")
    assert isinstance(error.__cause__, SupervisionEscalated)
    assert error.__cause__.supervisor == "agents"
    assert str(error).startswith("supervisor 'run' gave up: child 'agents' crashed")
    assert [e for e in log.events if e[0] != "start"] == [
        ("crash", "ex", "Boom"),
        ("restart", "ex", "1"),
        ("crash", "ex", "Boom"),
        ("crash", "agents", "SupervisionEscalated"),  # the parent applies its strategy
        ("restart", "agents", "1"),
        ("crash", "ex", "Boom"),  # a fresh window for the restarted subtree
        ("restart", "ex", "2"),  # restart counts go on
        ("crash", "ex", "Boom"),
        ("crash", "agents", "SupervisionEscalated"),
    ]
    assert log.starts["sibling"] == 1  # one_for_one: the sibling was left alone


async def test_callbacks_may_be_async_and_run_before_the_restart(
    autojump_clock: trio.testing.MockClock,
) -> None:
    events: list[str] = []

    async def on_crash(child_id: str, exc: Exception) -> None:
        await trio.sleep(1)  # journaling AgentFailed, say
        events.append(f"failed {child_id} {exc}")

    async def on_restart(child_id: str, restarts: int) -> None:
        await trio.sleep(1)
        events.append(f"restarted {child_id} {restarts}")

    async def flaky(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        events.append("start")
        task_status.started()
        if events.count("start") < 3:
            raise Boom("x")

    sup = Supervisor("s", [ChildSpec("f", flaky)], on_crash=on_crash, on_restart=on_restart)
    await sup.run()
    assert events == [
        "start",
        "failed f x",
        "restarted f 1",
        "start",
        "failed f x",
        "restarted f 2",
        "start",
    ]


async def test_cancelling_the_tree_is_prompt(autojump_clock: trio.testing.MockClock) -> None:
    log = Log()

    async def long_sleep(n: int) -> None:
        await trio.sleep(80_000)  # a long agent call, under a day

    inner = Supervisor("inner", [child(log, "deep", long_sleep)])
    root = Supervisor("root", [child(log, "a", long_sleep), ChildSpec("inner", inner.run)])
    start = trio.current_time()
    with trio.move_on_after(5) as scope:
        await root.run()
    assert scope.cancelled_caught
    assert trio.current_time() - start == 5
    assert log.starts == {"a": 1, "deep": 1}  # cancelled, not restarted


async def test_normal_return_is_not_restarted(autojump_clock: trio.testing.MockClock) -> None:
    log = Log()

    async def finish(n: int) -> None:
        await trio.sleep(1)

    children = [child(log, "done", finish), child(log, "b", crash_first(1, delay=2))]
    sup = supervisor(log, children, "one_for_all")
    await run_for(sup, 10)
    assert log.starts == {"done": 1, "b": 2}  # one_for_all restarts only the running
    assert sup.statistics().finished == ("done",)


async def test_a_child_that_fails_to_start_is_a_crash(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log = Log()
    attempts = 0

    async def fragile(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise Boom("not ready")
        task_status.started()
        await trio.sleep_forever()

    sup = supervisor(log, [ChildSpec("f", fragile), child(log, "next")], "one_for_one")
    await run_for(sup, 10)
    assert attempts == 2
    assert log.events == [
        ("start", "next"),  # the failed start did not hold the next child back
        ("crash", "f", "Boom"),
        ("restart", "f", "1"),
    ]


class Fatal(BaseException):
    pass


async def test_base_exceptions_are_never_treated_as_crashes() -> None:
    log = Log()

    async def fatal(n: int) -> None:
        raise Fatal

    sup = supervisor(log, [child(log, "a", fatal), child(log, "b")], "one_for_one")
    with pytest.raises(BaseExceptionGroup) as info:
        await sup.run()
    assert info.group_contains(Fatal)
    assert log.starts == {"a": 1, "b": 1}
    assert not [e for e in log.events if e[0] != "start"]


async def test_start_and_stop_children_while_running(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log = Log()
    sup = supervisor(log, [child(log, "a")], "one_for_one")
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await sup.start_child(child(log, "late", crash_first(1, delay=1)))
        with pytest.raises(ValueError, match="already runs"):
            await sup.start_child(child(log, "a"))
        await trio.sleep(5)
        assert sup.statistics().running == ("a", "late")
        sup.stop_child("a")
        sup.stop_child("unknown")
        await trio.sleep(1)
        assert sup.statistics().running == ("late",)
        nursery.cancel_scope.cancel()
    assert log.starts == {"a": 1, "late": 2}
    with pytest.raises(RuntimeError, match="not running"):
        await sup.start_child(child(log, "x"))


async def test_a_supervisor_runs_once_at_a_time() -> None:
    sup = Supervisor("s", [ChildSpec("a", sleeper)])
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        with pytest.raises(RuntimeError, match="already running"):
            await sup.run()
        nursery.cancel_scope.cancel()


def test_bad_configurations_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        Supervisor("s", [ChildSpec("a", sleeper), ChildSpec("a", sleeper)])
    with pytest.raises(ValueError, match="max_restarts"):
        Supervisor("s", [], max_restarts=-1)


async def sleeper(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    task_status.started()
    await trio.sleep_forever()


def _is_child_function(fn: ChildFunction) -> ChildFunction:  # type-checks the protocol
    return fn


_is_child_function(sleeper)


async def test_a_child_with_a_limit_of_its_own_is_counted_apart(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log = Log()
    own = child(log, "own", crash_first(4, delay=1))
    own = ChildSpec(own.id, own.start, max_restarts=4, period_s=100)
    shared = child(log, "shared", crash_first(2, delay=1))
    sup = supervisor(log, [own, shared], "one_for_one", max_restarts=2, period_s=100)
    await run_for(sup, 50)  # four crashes of "own", two of "shared": within each limit
    assert not sup.statistics().escalated
    assert log.starts == {"own": 5, "shared": 3}

    again = Log()
    own = child(again, "own", crash_first(5, delay=1))
    own = ChildSpec(own.id, own.start, max_restarts=4, period_s=100)
    sup = supervisor(again, [own, child(again, "other")], "one_for_one", max_restarts=9)
    with pytest.raises(SupervisionEscalated) as info:
        await sup.run()  # its fifth crash is past its own 4, though within the tree's 9
    assert (info.value.child_id, info.value.max_restarts, info.value.period_s) == ("own", 4, 100)
