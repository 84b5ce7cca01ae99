"""The ``[agents.options]`` tables a plan may hold: one class per backend.

The real backends' options are declared by the backends themselves
(``playbill.backends``: ``CommandOptions``, ``ClaudeCodeOptions``...), with
their types, defaults and meaning; a plan's table is loaded into them as it
is. The ``simulated`` backend's table is the plan's own. Each class says, in
two class variables, what its backend can do whatever the plan asks: the
roles it can play (``plays``) and whether it changes files (``edits``). The
checks of ``playbill.plans._backend_checks`` refuse a plan whose agent asks
for more, so the supervisor never assigns a backend work it cannot do.
"""

from typing import ClassVar, final

import attrs

from playbill.backends import (
    AiderOptions,
    ChecksOptions,
    ClaudeCodeOptions,
    CodexOptions,
    CommandOptions,
    OpenAIOptions,
)
from playbill.runtime import ROLES, Role

RealOptions = (
    CommandOptions | ClaudeCodeOptions | CodexOptions | AiderOptions | OpenAIOptions | ChecksOptions
)
"""The options of a backend that does real work."""

REAL_BACKENDS: tuple[type[RealOptions], ...] = (
    CommandOptions,
    ClaudeCodeOptions,
    CodexOptions,
    AiderOptions,
    OpenAIOptions,
    ChecksOptions,
)
"""The options classes of the real backends, in the order the docs list them."""


@final
@attrs.frozen
class SimulatedOptions:
    """``[agents.options]`` of a ``simulated`` agent.

    Attributes:
        profile: The name of the agent profile it plays (a built-in:
            ``default``, ``reliable``, ``flaky``, ``slow``, ``perfect``, or
            one of a profile file). ``None``: the profile set's default.
    """

    backend: ClassVar[str] = "simulated"
    plays: ClassVar[frozenset[Role]] = frozenset(ROLES)
    edits: ClassVar[bool] = True
    profile: str | None = None
