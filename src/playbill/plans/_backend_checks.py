"""An agent's backend: checked when the plan loads, built when the run starts.

``check_backend`` finds, for one agent, every problem its backend would have:
a role the backend cannot play, ``edits_files = true`` on a backend that
changes no files, a command line template with an unknown placeholder, and
whatever else the backend's constructor refuses (a ``BackendConfigError``,
reported at the option it names). A plan that loads can therefore build all
of its backends, and no backend is ever assigned work it cannot do: the
supervisor assigns by the roles and ``edits_files`` of the plan, which these
checks keep within what each backend can do.

Building them is ``playbill.plans._build``'s.
"""

from __future__ import annotations

from playbill._problems import Problem
from playbill.backends import PLACEHOLDERS, BackendConfigError, CommandOptions, placeholders_of

from ._model import AgentTable, SimulatedOptions


def check_backend(here: str, agent: AgentTable) -> list[Problem]:
    """Every problem of an agent's backend (its options, roles and ``edits_files``).

    Args:
        here: Where the agent is in the file (``agents[2]``).
        agent: The agent.
    """
    options = agent.options
    cl = type(options)
    problems = []
    for j, role in enumerate(agent.roles):
        if role not in cl.plays:
            detail = (
                f"backend {cl.backend!r} cannot play role {role!r} "
                f"(it can play: {', '.join(sorted(cl.plays))})"
            )
            if role == "verifier":
                detail += "; backend 'checks' runs a step's validators"
            problems.append(Problem(f"{here}.roles[{j}]", detail))
    if agent.edits_files and not cl.edits:
        detail = f"backend {cl.backend!r} changes no files; expected false (or leave the key out)"
        problems.append(Problem(f"{here}.edits_files", detail))
    if isinstance(options, CommandOptions):
        problems.extend(_check_argv(f"{here}.options", options))
    if problems or isinstance(options, SimulatedOptions):
        return problems
    try:
        options.build(agent.roles, agent.edits)
    except BackendConfigError as error:
        where = f"{here}.roles" if error.option == "roles" else f"{here}.options.{error.option}"
        problems.append(Problem(where, error.detail))
    return problems


def _check_argv(here: str, options: CommandOptions) -> list[Problem]:
    if not options.argv or not options.argv[0].strip():
        detail = 'expected a command, as a list of arguments (["python", "agent.py"])'
        return [Problem(f"{here}.argv", detail)]
    if options.shell and len(options.argv) != 1:
        detail = f"with shell = true, expected exactly one shell line, got {len(options.argv)}"
        return [Problem(f"{here}.argv", detail)]
    known = ", ".join(sorted(PLACEHOLDERS))
    problems = []
    for j, arg in enumerate(options.argv):
        try:
            unknown = placeholders_of(arg) - PLACEHOLDERS
        except ValueError as error:
            detail = f"expected placeholders like {{prompt_file}} ({error}; write {{{{ for a brace)"
            problems.append(Problem(f"{here}.argv[{j}]", detail))
            continue
        if unknown:
            detail = (
                f"unknown placeholder {', '.join('{' + u + '}' for u in sorted(unknown))} "
                f"(known: {known})"
            )
            problems.append(Problem(f"{here}.argv[{j}]", detail))
    return problems
