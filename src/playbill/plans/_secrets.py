"""The secrets a plan names: the variables whose values a run keeps out of its journal."""

from __future__ import annotations

from playbill.backends import CodexOptions, OpenAIOptions

from ._model import PlanFile, SimulatedOptions


def secret_names(plan: PlanFile) -> tuple[str, ...]:
    """Every environment variable whose value the run must keep secret, by name.

    ``[run] redact``, every agent's ``env_allow`` (a ``checks`` verifier's
    too: its validators' commands see them), an HTTP agent's ``api_key_env``
    and a Codex agent's ``env_key`` (the key of the provider it is given):
    an agent or a validator may print any variable it sees, and a name like
    ``DATABASE_URL`` does not look secret. Names only: a plan is journaled
    and often committed, so it never holds a secret's value.
    """
    names: list[str] = list(plan.run.redact)
    for agent in plan.agents:
        options = agent.options
        if isinstance(options, OpenAIOptions):
            names.append(options.api_key_env)
        elif not isinstance(options, SimulatedOptions):
            names.extend(options.env_allow)
            if isinstance(options, CodexOptions) and options.env_key is not None:
                names.append(options.env_key)
    return tuple(dict.fromkeys(names))
