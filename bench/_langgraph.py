"""langgraph, the peer for orchestration overhead: a ``StateGraph`` of no-op nodes.

Each function times one synchronous ``invoke`` of a compiled graph (built and
compiled once, untimed) and returns microseconds per step: per superstep for
a chain, per node for a fan-out (all nodes in one superstep). With
``saver=True`` the graph has an ``InMemorySaver``, which saves a checkpoint
after every superstep (and the writes of every node), as a durable
orchestrator must; each invoke is a new thread of it.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import operator
import time
from typing import Annotated, Any, TypedDict

try:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.errors import GraphRecursionError
    from langgraph.graph import END, START, StateGraph
except ImportError:  # the bench extra is not installed
    AVAILABLE = False
else:
    AVAILABLE = True


class ChainState(TypedDict):
    count: int


class WideState(TypedDict):
    done: Annotated[int, operator.add]


def _noop(state: Any) -> dict[str, Any]:
    return {}


def _finished(state: Any) -> dict[str, Any]:
    return {"done": 1}


_threads = itertools.count()


def _timed_invoke(graph: Any, start_state: dict[str, Any], steps: int, saver: bool) -> float:
    """Seconds of one invoke, stopped after ``steps`` supersteps by the recursion limit."""
    config: dict[str, Any] = {"recursion_limit": steps}
    if saver:
        config["configurable"] = {"thread_id": f"bench-{next(_threads)}"}
    start = time.perf_counter()
    with contextlib.suppress(GraphRecursionError):  # a chain cut short on purpose
        graph.invoke(start_state, config)
    return time.perf_counter() - start


@functools.cache
def _chain(n: int, saver: bool) -> Any:
    graph = StateGraph(ChainState)
    for i in range(n):
        graph.add_node(f"n{i}", _noop)
    graph.add_edge(START, "n0")
    for i in range(n - 1):
        graph.add_edge(f"n{i}", f"n{i + 1}")
    graph.add_edge(f"n{n - 1}", END)
    return graph.compile(checkpointer=InMemorySaver() if saver else None)


@functools.cache
def _wide(n: int, saver: bool) -> Any:
    graph = StateGraph(WideState)
    for i in range(n):
        graph.add_node(f"n{i}", _finished)
        graph.add_edge(START, f"n{i}")
        graph.add_edge(f"n{i}", END)
    return graph.compile(checkpointer=InMemorySaver() if saver else None)


def chain_us_per_step(n: int, *, saver: bool, only: int | None = None) -> float:
    """A chain of ``n`` no-op nodes, one superstep each; timed over the first ``only``."""
    steps = n if only is None else only
    # A whole chain takes n supersteps; the limit only stops a cut-short one.
    limit = n + 10 if only is None else only
    return _timed_invoke(_chain(n, saver), {"count": 0}, limit, saver) / steps * 1e6


def wide_us_per_node(n: int, *, saver: bool) -> float:
    """``n`` no-op nodes fanned out from the start, all in one superstep."""
    return _timed_invoke(_wide(n, saver), {"done": 0}, 10, saver) / n * 1e6
