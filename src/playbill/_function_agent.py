"""Agents made of plain functions: ``@playbill.agent``.

A function agent is its own backend. It is given the ``WorkOrder`` (and a
reporter, if it asks for one) and returns what the work came to, in the
simplest form that says it: a payload, a string, a bool, nothing, or a
whole ``ResultEnvelope`` (see ``agent`` for what each means). A plain
function runs in a worker thread; a coroutine function runs in the run's
trio program. An exception it raises is a failed attempt of the step
(``agent`` failure class, kind ``exception``), never a crash of the run.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, final, overload

import msgspec
import trio

from .backends import (
    AgentBackend,
    BackendError,
    BackendFactory,
    Capabilities,
    Reporter,
    WorkOrder,
)
from .runtime import (
    ROLES,
    AgentSpec,
    Check,
    Failure,
    Finding,
    ImplementationPayload,
    Plan,
    PlanPayload,
    ProcessInfo,
    ResultEnvelope,
    ReviewPayload,
    Role,
    RolePayload,
    Usage,
    VerificationPayload,
)

FUNCTION_BACKEND = "function"
"""The backend name journaled in the plan for an agent made of a function."""

VERDICTS = frozenset({"pass", "fail", "request_changes", "blocked"})
"""The strings a reviewer function may return as its verdict."""

DETAIL_LIMIT = 2000
"""Characters of an exception's text kept in the failure it becomes."""


class ThreadReporter:
    """The reporter a plain (sync) function agent gets: blocking calls into the run.

    Each call waits until the report is journaled, like its async
    counterpart (``Reporter``).
    """

    def __init__(self, report: Reporter) -> None:
        self._report = report

    def heartbeat(self, progress: str = "") -> None:
        """Journal a heartbeat for the work in hand."""
        trio.from_thread.run(self._report.heartbeat, progress)

    def usage(self, usage: Usage) -> None:
        """Journal resources consumed since the last report."""
        trio.from_thread.run(self._report.usage, usage)

    def process_started(self, process: ProcessInfo) -> None:
        """Journal a process the work started (see ``Reporter.process_started``)."""
        trio.from_thread.run(self._report.process_started, process)


@final
class FunctionAgent:
    """An agent made of a function by ``playbill.agent``; it is its own backend.

    Call it as the function it wraps; give it to ``playbill.start`` as an
    agent. ``id`` is the agent's id in the plan (and its backend's ``name``),
    ``spec`` the plan entry made for it when the plan names no agents.
    """

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str,
        roles: tuple[Role, ...],
        edits_files: bool,
    ) -> None:
        if not roles:
            raise ValueError(f"agent {name!r}: give it at least one role")
        unknown = [role for role in roles if role not in ROLES]
        if unknown:
            raise ValueError(f"agent {name!r}: unknown roles {unknown}; roles are {ROLES}")
        self._function = function
        self._id = name
        self._roles = roles
        self._edits_files = edits_files
        self._is_async = inspect.iscoroutinefunction(function)
        self._takes_order, self._report_as = _parameters(function)
        functools.update_wrapper(self, function, updated=())

    @property
    def id(self) -> str:
        """The agent's id: the function's name, or the ``name`` it was given."""
        return self._id

    @property
    def name(self) -> str:
        """The backend's name, for messages: the agent's id."""
        return self._id

    @property
    def roles(self) -> tuple[Role, ...]:
        """The roles it plays."""
        return self._roles

    @property
    def capabilities(self) -> Capabilities:
        """Its roles; it edits files when it was made with ``edits_files``."""
        return Capabilities(
            roles=frozenset(self._roles), edits_files=self._edits_files, reports_usage=False
        )

    @property
    def spec(self) -> AgentSpec:
        """The plan's entry for it, when the plan names no agents of its own."""
        return AgentSpec(
            id=self._id,
            roles=self._roles,
            backend=FUNCTION_BACKEND,
            edits_files=self._edits_files,
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function it wraps."""
        return self._function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<function agent {self._id!r} ({', '.join(self._roles)})>"

    async def run(self, order: WorkOrder, report: Reporter) -> ResultEnvelope:
        """Call the function on ``order`` and make its answer a result.

        Raises:
            BackendError: It raised (kind ``exception``), or returned what its
                role cannot make a result of (kind ``malformed_output``).
        """
        try:
            if self._is_async:
                value = await self._function(*self._arguments(order, report))
            else:
                call = functools.partial(
                    self._function, *self._arguments(order, ThreadReporter(report))
                )
                value = await trio.to_thread.run_sync(call, abandon_on_cancel=True)
        except BackendError:
            raise
        except Exception as error:
            text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            failure = Failure(failure_class="agent", kind="exception", detail=text[:DETAIL_LIMIT])
            raise BackendError(failure) from error
        return result_of(order, value)

    def _arguments(self, order: WorkOrder, report: object) -> list[Any]:
        args: list[Any] = [order] if self._takes_order else []
        if self._report_as is not None:
            args.insert(self._report_as, report)
        return args


def _parameters(function: Callable[..., Any]) -> tuple[bool, int | None]:
    """Whether ``function`` takes the order, and where it takes the reporter (if it does).

    The reporter is the parameter named ``report`` or ``reporter``, or
    annotated ``Reporter``; the order is the first other parameter.
    """
    params = [
        p
        for p in inspect.signature(function).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    report_at = None
    for index, param in enumerate(params):
        annotation = param.annotation  # a string under ``from __future__ import annotations``
        named = str(getattr(annotation, "__name__", annotation)).rsplit(".", 1)[-1]
        if param.name in ("report", "reporter") or named in ("Reporter", "ThreadReporter"):
            report_at = index
            break
    others = [p for i, p in enumerate(params) if i != report_at]
    return bool(others), report_at


def result_of(order: WorkOrder, value: object) -> ResultEnvelope:
    """The result a function agent's answer makes, for the role it played.

    Raises:
        BackendError: The answer makes no result for that role
            (``malformed_output``).
    """
    if isinstance(value, ResultEnvelope):
        return value
    payload = _payload(order.role, value)
    if payload is None:
        detail = f"a {order.role} function returned {type(value).__name__} {value!r:.200}"
        failure = Failure(failure_class="agent", kind="malformed_output", detail=detail)
        raise BackendError(failure)
    return ResultEnvelope(
        agent=order.agent,
        role=order.role,
        step=order.step.id,
        attempt=order.attempt,
        exit_status="ok",
        payload=payload,
    )


def _payload(role: Role, value: object) -> RolePayload | None:
    if isinstance(value, PlanPayload | ImplementationPayload | ReviewPayload | VerificationPayload):
        return value
    if role == "executor":
        if value is None:
            return ImplementationPayload()
        if isinstance(value, str):
            return ImplementationPayload(summary=value)
    elif role == "planner":
        if value is None:
            return PlanPayload()
        if isinstance(value, str):
            return PlanPayload(rationale=value)
    elif role == "reviewer":
        if isinstance(value, bool):
            return ReviewPayload(verdict="pass" if value else "fail")
        if isinstance(value, str):
            if value in VERDICTS:
                return ReviewPayload(verdict=value)  # type: ignore[arg-type]  # checked above
            return ReviewPayload(
                verdict="request_changes", findings=(Finding(severity="major", message=value),)
            )
    elif isinstance(value, bool):
        return VerificationPayload(checks=(Check(name="function", passed=value),))
    return None


@overload
def agent(function: Callable[..., Any], /) -> FunctionAgent: ...


@overload
def agent(
    *,
    role: Role | None = None,
    roles: Iterable[Role] = (),
    edits_files: bool | None = None,
    name: str | None = None,
) -> Callable[[Callable[..., Any]], FunctionAgent]: ...


def agent(
    function: Callable[..., Any] | None = None,
    /,
    *,
    role: Role | None = None,
    roles: Iterable[Role] = (),
    edits_files: bool | None = None,
    name: str | None = None,
) -> FunctionAgent | Callable[[Callable[..., Any]], FunctionAgent]:
    """Make an agent of a function: ``@playbill.agent`` or ``@playbill.agent(role=...)``.

    The function is given the ``WorkOrder`` (if it takes a parameter) and a
    reporter if it asks for one (a parameter named ``report`` or
    ``reporter``, or annotated ``Reporter``): the async ``Reporter`` for a
    coroutine function, a ``ThreadReporter`` with the same methods, blocking,
    for a plain one, which runs in a worker thread (and is abandoned to
    finish there when its work is cancelled). What it returns becomes the
    result of its role:

    * a payload (``ImplementationPayload``, ``ReviewPayload``,
      ``VerificationPayload``, ``PlanPayload``) or a whole
      ``ResultEnvelope``: as is;
    * executor: a string is the summary of what it did, ``None`` a result
      that says nothing;
    * planner: a string is its rationale (it proposes no steps), ``None`` a
      plan of nothing;
    * reviewer: ``True``/``False`` is the verdict ``pass``/``fail``; a
      verdict (``"pass"``, ``"fail"``, ``"request_changes"``,
      ``"blocked"``) is itself; any other string asks for changes, with the
      text as a finding fed back to the next attempt;
    * verifier: ``True``/``False`` is one check, named ``function``, that
      passed or failed.

    Anything else is a ``malformed_output`` failure of the attempt; an
    exception it raises is an ``exception`` failure (class ``agent``, so
    the step is retried), a ``BackendError`` the failure it carries.

    Args:
        function: The function (when used bare, ``@playbill.agent``).
        role: Its role; ``executor`` when no role is given.
        roles: Its roles, when it plays several.
        edits_files: Whether it changes files (may take steps with a
            scope on a real repository); by default when it is an executor.
        name: The agent's id; the function's name by default.
    """

    def make(fn: Callable[..., Any]) -> FunctionAgent:
        chosen: tuple[Role, ...] = tuple(dict.fromkeys([*([role] if role else []), *roles]))
        played = chosen or ("executor",)
        edits = edits_files if edits_files is not None else "executor" in played
        return FunctionAgent(fn, name=name or fn.__name__, roles=played, edits_files=edits)

    return make(function) if function is not None else make


Agents = BackendFactory | Mapping[str, AgentBackend | FunctionAgent] | Sequence[FunctionAgent]
"""The agents of ``playbill.start``: a backend factory (as ``open_run`` takes), a
mapping of agent id to backend (or function agent), or function agents."""


def resolve_agents(plan: Plan, agents: Agents) -> tuple[Plan, BackendFactory]:
    """The plan to run (its agents made from function agents if it names none) and its factory.

    Raises:
        ValueError: An agent of the plan has no backend among ``agents``, an
            agent of ``agents`` is not in the plan, or two have one id.
    """
    if isinstance(agents, FunctionAgent) or (
        callable(agents) and not isinstance(agents, Mapping | Sequence)
    ):
        if isinstance(agents, FunctionAgent):
            return _match(plan, {agents.id: agents})
        return plan, agents
    if isinstance(agents, Mapping):
        return _match(plan, dict(agents))
    by_id: dict[str, AgentBackend | FunctionAgent] = {}
    for one in agents:
        if not isinstance(one, FunctionAgent):
            raise TypeError(
                f"{one!r} is not a function agent: give backends as a mapping of agent id to "
                "backend, or a factory"
            )
        if one.id in by_id:
            raise ValueError(f"two agents are named {one.id!r}: give one a name= of its own")
        by_id[one.id] = one
    return _match(plan, by_id)


def _match(
    plan: Plan, by_id: dict[str, AgentBackend | FunctionAgent]
) -> tuple[Plan, BackendFactory]:
    if not plan.agents:
        specs = []
        for agent_id, backend in by_id.items():
            if not isinstance(backend, FunctionAgent):
                raise ValueError(
                    f"the plan names no agents, and {agent_id!r} is not a function agent: "
                    "name the plan's agents (AgentSpec) for other backends"
                )
            specs.append(msgspec.structs.replace(backend.spec, id=agent_id))
        plan = msgspec.structs.replace(plan, agents=tuple(specs))
    planned = [spec.id for spec in plan.agents]
    missing = [agent_id for agent_id in planned if agent_id not in by_id]
    if missing:
        raise ValueError(f"no agent given for the plan's agents {missing} (given: {list(by_id)})")
    unknown = [agent_id for agent_id in by_id if agent_id not in planned]
    if unknown:
        raise ValueError(f"agents {unknown} are not in the plan (its agents: {planned})")

    def factory(spec: AgentSpec) -> AgentBackend:
        return by_id[spec.id]

    return plan, factory
