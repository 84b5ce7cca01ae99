"""Is each agent ready to work? What ``playbill doctor`` checks, agent by agent.

For an agent whose backend runs a program (a coding-agent CLI, a
``command``): is the program there and executable; for a CLI, which release
(``--version``) and whether its preset supports it. For a CLI or an
``openai`` agent: which environment variables hold its credential (by name:
a value is never read into the report, let alone printed) and whether one
reaches it (a variable set in playbill's environment that the agent does
not get is reported as such), or a login the tool stored; and whether its
endpoint answers: one short ``GET`` of its base URL, without credentials;
any HTTP answer, even 401 or 404, counts, a refused connection, a name that
does not resolve or a timeout does not. In-process backends (simulated,
scripted, ``checks``) need nothing.

Every finding is a field of a ``Diagnosis``; what stops the agent from
working is also one line in ``problems``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import msgspec
import trio

from playbill._extras import MissingExtraError, available
from playbill._redact import Redactor

from ._agent_process import agent_env
from ._availability import (
    PROBE_TIMEOUT_S,
    command_program,
    resolve_program,
    unavailable,
)
from ._backend import AgentBackend
from ._checks import ChecksBackend
from ._cli_agent import CliAgentBackend
from ._command import CommandBackend
from ._openai import OpenAIBackend
from ._sandbox import missing_sandbox
from ._tool_needs import ToolNeeds
from ._tool_version import Version

ENDPOINT_TIMEOUT_S = 5.0
"""Seconds an endpoint has to answer, by default."""


class EnvVar(msgspec.Struct, frozen=True, kw_only=True):
    """An environment variable an agent needs or may use; never its value.

    Attributes:
        name: Its name.
        set: Whether it is set (and not empty) in playbill's environment.
        reaches: Whether the agent's process gets it (``BASE_ENV``, the
            tool's own variables and ``env_allow`` do).
    """

    name: str
    set: bool
    reaches: bool


class Endpoint(msgspec.Struct, frozen=True, kw_only=True):
    """The HTTP endpoint an agent calls, and whether it answered.

    Attributes:
        url: Its base URL (without any user or password in it).
        source: Where the URL comes from: a variable, a file's key,
            ``base_url``, or ``default``.
        answers: Whether an HTTP answer came back.
        status: The HTTP status of the answer.
        error: Why no answer came, when none did.
    """

    url: str
    source: str
    answers: bool
    status: int | None = None
    error: str | None = None


class Diagnosis(msgspec.Struct, frozen=True, kw_only=True):
    """Whether one agent is ready to work, and why not.

    Attributes:
        agent: The agent's id.
        backend: Its backend's name.
        ready: No problem was found.
        executable: The program it runs, as configured (``None``: none).
        path: The executable file that program resolved to.
        version: The release it reported (``--version``).
        supported: The releases its preset supports.
        in_range: Whether ``version`` is among ``supported`` (``None``: not
            known).
        env: The variables it needs or may use: set or not, reaching it or not.
        keys: The variables any one of which may hold its credential (empty:
            it needs none, or which one cannot be told).
        credential: What provides its credential: a variable's name, or
            ``login: <file>``; ``None`` when none was found or none is needed.
        endpoint: Its endpoint and whether it answered.
        problems: What stops it from working, one line each.
        notes: What could not be checked, or is worth knowing.
    """

    agent: str
    backend: str
    ready: bool
    executable: str | None = None
    path: str | None = None
    version: str | None = None
    supported: str | None = None
    in_range: bool | None = None
    env: tuple[EnvVar, ...] = ()
    keys: tuple[str, ...] = ()
    credential: str | None = None
    endpoint: Endpoint | None = None
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def shown_url(url: str) -> str:
    """``url`` without the user and password it may carry: fit to print."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit(parts._replace(netloc=host))
    except ValueError:
        return "<not a URL>"


async def check_endpoint(url: str, source: str, *, timeout_s: float) -> Endpoint:
    """``GET url`` once, without credentials: does anything answer over HTTP?"""
    import httpx  # loads with the first check, not with playbill

    shown = shown_url(url)
    if not url.startswith(("http://", "https://")):
        return Endpoint(url=shown, source=source, answers=False, error="not an http(s) URL")
    late = Endpoint(
        url=shown, source=source, answers=False, error=f"no answer within {timeout_s:g} s"
    )
    # A bound on the whole exchange, name resolution included.
    with trio.move_on_after(2 * timeout_s):
        try:
            # No proxies from playbill's environment: the agents do not get them.
            async with httpx.AsyncClient(timeout=timeout_s, trust_env=False) as client:
                response = await client.get(url)
        except httpx.TimeoutException:
            return late
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
            return Endpoint(url=shown, source=source, answers=False, error=_reason(exc))
        return Endpoint(url=shown, source=source, answers=True, status=response.status_code)
    return late


def _reason(exc: BaseException) -> str:
    """The innermost cause of a connection error, in a few words."""
    seen = {id(exc)}
    while (nxt := exc.__cause__ or exc.__context__) is not None and id(nxt) not in seen:
        seen.add(id(nxt))
        exc = nxt
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


async def diagnose(
    agent: str,
    backend: AgentBackend,
    *,
    base: Path | None,
    timeout_s: float = ENDPOINT_TIMEOUT_S,
    probe_timeout_s: float = PROBE_TIMEOUT_S,
) -> Diagnosis:
    """Check one agent (see the module documentation).

    Args:
        agent: The agent's id.
        backend: Its backend.
        base: The directory relative program paths start from.
        timeout_s: Seconds its endpoint has to answer.
        probe_timeout_s: Seconds a CLI has to answer ``--version``.
    """
    match backend:
        case CliAgentBackend():
            found = await _cli(agent, backend, base, timeout_s, probe_timeout_s)
        case CommandBackend():
            found = _command(agent, backend, base)
        case OpenAIBackend():
            found = await _openai(agent, backend, timeout_s)
        case ChecksBackend():
            note = "runs the step's validators: nothing to check"
            found = Diagnosis(agent=agent, backend=backend.name, ready=True, notes=(note,))
        case _:
            note = "runs in-process: nothing to check"
            found = Diagnosis(agent=agent, backend=backend.name, ready=True, notes=(note,))
    return _redacted(found, Redactor.from_environ())


def _redacted(found: Diagnosis, redactor: Redactor) -> Diagnosis:
    """The diagnosis with every secret value of the environment taken out of its prose.

    Nothing reads a value into it, but an error message or a path could
    quote one.
    """
    endpoint = found.endpoint
    if endpoint is not None:
        endpoint = msgspec.structs.replace(
            endpoint,
            url=redactor.redact(endpoint.url),
            error=redactor.redact(endpoint.error) if endpoint.error is not None else None,
        )
    return msgspec.structs.replace(
        found,
        endpoint=endpoint,
        credential=redactor.redact(found.credential) if found.credential is not None else None,
        problems=tuple(redactor.redact(p) for p in found.problems),
        notes=tuple(redactor.redact(n) for n in found.notes),
    )


async def diagnose_all(
    agents: Sequence[tuple[str, AgentBackend]],
    *,
    base: Path | None,
    timeout_s: float = ENDPOINT_TIMEOUT_S,
    probe_timeout_s: float = PROBE_TIMEOUT_S,
) -> list[Diagnosis]:
    """Check every agent at once; the diagnoses in the order given."""
    found: list[Diagnosis | None] = [None] * len(agents)

    async def one(i: int, agent: str, backend: AgentBackend) -> None:
        found[i] = await diagnose(
            agent, backend, base=base, timeout_s=timeout_s, probe_timeout_s=probe_timeout_s
        )

    async with trio.open_nursery() as nursery:
        for i, (agent, backend) in enumerate(agents):
            nursery.start_soon(one, i, agent, backend)
    return [d for d in found if d is not None]


def _env_vars(names: Sequence[str], tool_env: Mapping[str, str]) -> tuple[EnvVar, ...]:
    seen: list[str] = []
    for name in names:
        if name not in seen:
            seen.append(name)
    return tuple(
        EnvVar(name=n, set=bool(os.environ.get(n)), reaches=bool(tool_env.get(n))) for n in seen
    )


async def _cli(
    agent: str,
    backend: CliAgentBackend,
    base: Path | None,
    timeout_s: float,
    probe_timeout_s: float,
) -> Diagnosis:
    tool = backend.tool
    tool_env = agent_env(backend.passed_env)
    problems: list[str] = []
    notes: list[str] = []
    where = resolve_program(tool.executable, path_env=tool_env.get("PATH"), base=base)
    version: Version | None = None
    no_sandbox = missing_sandbox(backend.options.sandbox, tool_env.get("PATH"))
    if no_sandbox is not None:
        problems.append(no_sandbox)
    if where.reason is not None:
        problems.append(where.detail)
    else:
        refused = await unavailable(agent, backend, base=base, timeout_s=probe_timeout_s)
        if refused is not None:
            if refused.reason != "no_sandbox":  # said above
                problems.append(refused.detail)
            version = refused.found
        else:
            version = await backend.probe()
            if version not in tool.supported:
                notes.append(f"release {version} is untested (allow_untested_version)")
    needs = tool.needs(tool_env)
    problems.extend(needs.problems)
    notes.extend(needs.notes)
    credential = _credential(needs, tool_env, problems)
    endpoint = None
    if needs.endpoint is not None and not available("httpx"):
        unchecked = MissingExtraError("httpx", "openai", "checking an endpoint")
        notes.append(f"endpoint {shown_url(needs.endpoint)} not checked: {unchecked}")
    elif needs.endpoint is not None:
        endpoint = await check_endpoint(needs.endpoint, needs.endpoint_from, timeout_s=timeout_s)
        if not endpoint.answers:
            problems.append(
                f"endpoint {endpoint.url} ({endpoint.source}) does not answer: {endpoint.error}"
            )
    names = [*needs.keys]
    if needs.endpoint_from != "default" and needs.endpoint_from in os.environ:
        names.append(needs.endpoint_from)
    return Diagnosis(
        agent=agent,
        backend=backend.name,
        ready=not problems,
        executable=tool.executable,
        path=str(where.path) if where.path is not None else None,
        version=str(version) if version is not None else None,
        supported=str(tool.supported),
        in_range=version in tool.supported if version is not None else None,
        env=_env_vars(names, tool_env),
        keys=needs.keys,
        credential=credential,
        endpoint=endpoint,
        problems=tuple(problems),
        notes=tuple(notes),
    )


def _credential(needs: ToolNeeds, tool_env: Mapping[str, str], problems: list[str]) -> str | None:
    """What provides the credential; appends the problem when nothing does."""
    for name in needs.keys:
        if tool_env.get(name):
            return name
    if needs.login is not None:
        return f"login: {needs.login}"
    if not needs.keys:
        return None
    wanted = " or ".join(needs.keys)
    login = f", or log in ({needs.login_hint})" if needs.login_hint else ""
    stranded = [n for n in needs.keys if os.environ.get(n)]
    if stranded:
        names = ", ".join(stranded)
        problems.append(
            f"no credential reaches it: {names} is set but not passed to the agent "
            f"(add it to env_allow); it needs {wanted}{login}"
        )
    else:
        problems.append(f"no credential: set {wanted}{login}")
    return None


def _command(agent: str, backend: CommandBackend, base: Path | None) -> Diagnosis:
    tool_env = agent_env(backend.options.env_allow)
    program = command_program(backend)
    problems: list[str] = []
    notes: list[str] = []
    path = None
    no_sandbox = missing_sandbox(backend.options.sandbox, tool_env.get("PATH"))
    if no_sandbox is not None:
        problems.append(no_sandbox)
    if program is None:
        notes.append("argv[0] holds a placeholder: its program is known only when it runs")
    else:
        where = resolve_program(program, path_env=tool_env.get("PATH"), base=base)
        if where.reason is not None:
            problems.append(where.detail)
        elif where.path is not None:
            path = str(where.path)
        if backend.options.shell:
            notes.append("a shell line: the programs it runs are not checked")
    unset = [n for n in backend.options.env_allow if not os.environ.get(n)]
    if unset:
        notes.append(f"env_allow names that are not set: {', '.join(unset)}")
    return Diagnosis(
        agent=agent,
        backend=backend.name,
        ready=not problems,
        executable=program,
        path=path,
        env=_env_vars(backend.options.env_allow, tool_env),
        problems=tuple(problems),
        notes=tuple(notes),
    )


async def _openai(agent: str, backend: OpenAIBackend, timeout_s: float) -> Diagnosis:
    problems: list[str] = []
    name = backend.options.api_key_env
    credential = name if os.environ.get(name) else None
    if credential is None:
        problems.append(f"no credential: set {name} (its api_key_env)")
    endpoint = None
    if not available("httpx"):
        problems.append(str(MissingExtraError("httpx", "openai", "the OpenAI-compatible backend")))
    else:
        endpoint = await check_endpoint(backend.options.base_url, "base_url", timeout_s=timeout_s)
        if not endpoint.answers:
            problems.append(f"endpoint {endpoint.url} (base_url) does not answer: {endpoint.error}")
    return Diagnosis(
        agent=agent,
        backend=backend.name,
        ready=not problems,
        env=(EnvVar(name=name, set=credential is not None, reaches=credential is not None),),
        keys=(name,),
        credential=credential,
        endpoint=endpoint,
        problems=tuple(problems),
    )
