"""The errors of a sweep: each a ``PlaybillError`` with the fields that say what is wrong."""

from __future__ import annotations

from collections.abc import Sequence

from playbill._extras import MissingExtraError
from playbill.runtime import InputError, PlaybillError


class SweepError(PlaybillError):
    """Base of every error a sweep raises on purpose."""


class SeedsError(InputError, SweepError):
    """A seeds specification (``--seeds``) is not valid.

    Attributes:
        spec: The specification as given.
        detail: What was expected and what was found.
    """

    def __init__(self, spec: str, detail: str) -> None:
        super().__init__("--seeds", "", f"{spec!r}: {detail}")
        self.spec = spec


class UnknownStrategyError(InputError, SweepError):
    """A strategy the runtime does not know was asked for.

    Attributes:
        name: The unknown name.
        known: The names the runtime knows, sorted.
    """

    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(
            "--strategies", "", f"unknown strategy {name!r} (known: {', '.join(known)})"
        )
        self.name = name
        self.known = tuple(known)


class SweepMismatchError(SweepError):
    """The output directory holds a different sweep, which must not be mixed with this one.

    Attributes:
        out: The output directory.
        fields: What differs (``plan``, ``profiles``, ``faults``...), in manifest order.
    """

    def __init__(self, out: str, fields: Sequence[str]) -> None:
        super().__init__(
            f"{out} holds a different sweep ({', '.join(fields)} differ); "
            "rows of different sweeps are never mixed: choose another --out"
        )
        self.out = out
        self.fields = tuple(fields)


class SweepFileError(SweepError):
    """A file of a sweep directory cannot be read, or is corrupt.

    Attributes:
        path: The file.
        detail: What is wrong with it.
    """

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


class SweepBusyError(SweepError):
    """Another sweep is writing the same output directory right now.

    Attributes:
        out: The output directory.
    """

    def __init__(self, out: str) -> None:
        super().__init__(f"{out}: another sweep is writing this directory")
        self.out = out


class PlotsUnavailableError(MissingExtraError, SweepError):
    """Plots were asked for, but matplotlib (the ``sweeps`` extra) is not installed."""

    def __init__(self) -> None:
        super().__init__("matplotlib", "sweeps", "plots", hint="pass --no-plots")


class SweepWorkersError(SweepError):
    """Worker processes cannot run a strategy: its class is defined in ``__main__``.

    A script's or a notebook's own module is not importable by the workers;
    define the class in a module (or sweep with one worker).

    Attributes:
        strategy: The strategy's name.
        qualname: Its class's qualified name.
    """

    def __init__(self, strategy: str, qualname: str) -> None:
        super().__init__(
            f"strategy {strategy!r} is of class __main__.{qualname}, which worker processes "
            "cannot import: define it in a module, or sweep with workers=1"
        )
        self.strategy = strategy
        self.qualname = qualname
