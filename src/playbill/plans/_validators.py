"""The validator tables of a plan file: ``[[steps.validators]]`` and ``[criteria.validator]``.

One attrs class per validator kind, key for key the kernel's validator
(``CommandPasses``...), with its defaults; the table's ``kind`` chooses the
class (``VALIDATORS``).
"""

# No ``from __future__ import annotations``: the loader reads the
# ``Annotated`` metadata of each attribute's type, which must not be a string.

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, TypeAlias, final

import attrs

from playbill.runtime import (
    ArtifactExists,
    BuildPasses,
    CommandPasses,
    FileChanged,
    HumanApproval,
    TestsPass,
)

from ._types import Count, ExitCode, Seconds

_COMMAND = CommandPasses(argv=("true",))
_TESTS = TestsPass()
_BUILD = BuildPasses(argv=("true",))


@final
@attrs.frozen
class CommandPassesTable:
    """``kind = "command_passes"``: a command exits with the expected status.

    Attributes:
        argv: The command, as a list of arguments (never a shell string).
        cwd: Where it runs, relative to the repository.
        timeout_s: Seconds before it is killed and the check fails.
        expect_exit: The exit status that means success.
        shell: Run ``argv`` through the shell. Only when the plan says so.
    """

    kind: ClassVar[str] = "command_passes"
    argv: tuple[str, ...]
    cwd: str = _COMMAND.cwd
    timeout_s: Seconds = _COMMAND.timeout_s
    expect_exit: ExitCode = _COMMAND.expect_exit
    shell: bool = False

    def to_validator(self) -> CommandPasses:
        """The kernel's validator."""
        return CommandPasses(
            argv=self.argv,
            cwd=self.cwd,
            timeout_s=float(self.timeout_s),
            expect_exit=self.expect_exit,
            shell=self.shell,
        )


@final
@attrs.frozen
class TestsPassTable:
    """``kind = "tests_pass"``: the test suite passes (counted from its JUnit XML).

    Attributes:
        argv: The test command.
        cwd: Where it runs, relative to the repository.
        timeout_s: Seconds before it is killed and the check fails.
        min_passed: Fewer passing tests than this fails the check.
    """

    kind: ClassVar[str] = "tests_pass"
    __test__: ClassVar[bool] = False  # not a pytest test class, whatever its name
    argv: tuple[str, ...] = _TESTS.argv
    cwd: str = _TESTS.cwd
    timeout_s: Seconds = _TESTS.timeout_s
    min_passed: Count = _TESTS.min_passed

    def to_validator(self) -> TestsPass:
        """The kernel's validator."""
        return TestsPass(
            argv=self.argv,
            cwd=self.cwd,
            timeout_s=float(self.timeout_s),
            min_passed=self.min_passed,
        )


@final
@attrs.frozen
class BuildPassesTable:
    """``kind = "build_passes"``: the build command exits with status 0.

    Attributes:
        argv: The build command.
        cwd: Where it runs, relative to the repository.
        timeout_s: Seconds before it is killed and the check fails.
    """

    kind: ClassVar[str] = "build_passes"
    argv: tuple[str, ...]
    cwd: str = _BUILD.cwd
    timeout_s: Seconds = _BUILD.timeout_s

    def to_validator(self) -> BuildPasses:
        """The kernel's validator."""
        return BuildPasses(argv=self.argv, cwd=self.cwd, timeout_s=float(self.timeout_s))


@final
@attrs.frozen
class FileChangedTable:
    """``kind = "file_changed"``: the attempt changes a path matching a glob.

    Attributes:
        path: A glob, relative to the repository.
    """

    kind: ClassVar[str] = "file_changed"
    path: str

    def to_validator(self) -> FileChanged:
        """The kernel's validator."""
        return FileChanged(path=self.path)


@final
@attrs.frozen
class ArtifactExistsTable:
    """``kind = "artifact_exists"``: a file exists after the attempt.

    Attributes:
        path: The file, relative to the repository.
    """

    kind: ClassVar[str] = "artifact_exists"
    path: str

    def to_validator(self) -> ArtifactExists:
        """The kernel's validator."""
        return ArtifactExists(path=self.path)


@final
@attrs.frozen
class HumanApprovalTable:
    """``kind = "human_approval"``: a person approves (``playbill approve``).

    Attributes:
        prompt: What the person is asked; a sentence naming the step when empty.
    """

    kind: ClassVar[str] = "human_approval"
    prompt: str = ""

    def to_validator(self) -> HumanApproval:
        """The kernel's validator."""
        return HumanApproval(prompt=self.prompt)


ValidatorTable: TypeAlias = (
    CommandPassesTable
    | TestsPassTable
    | BuildPassesTable
    | FileChangedTable
    | ArtifactExistsTable
    | HumanApprovalTable
)
"""A ``[[steps.validators]]`` or ``[criteria.validator]`` table, chosen by its ``kind``."""

VALIDATORS: Mapping[str, type[ValidatorTable]] = MappingProxyType(
    {cl.kind: cl for cl in ValidatorTable.__args__}
)
"""Every validator kind a plan may name, and the table it is written as."""
