"""Which release of a coding-agent CLI is installed, and whether it is one we support.

Each preset declares the releases it was tested with as a ``VersionRange``
(lowest supported release, first release not supported). Before its first
piece of work, a ``CliAgentBackend`` runs ``<executable> --version`` once,
reads the first dotted number in what it prints, and refuses a release
outside the range with one line (``ToolVersionError``), unless the user
set ``allow_untested_version``. Flags that changed across releases are
chosen by the ``Version`` found (``CliTool.command_line`` receives it).
"""

from __future__ import annotations

import re
from typing import final

import attrs

from playbill.runtime import PlaybillError

_NUMBER = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?:\.(\d+))?")


@final
@attrs.frozen(order=True)
class Version:
    """A release number: ``major.minor.patch``.

    Attributes:
        major: The major number.
        minor: The minor number.
        patch: The patch number (0 when the release names none).
    """

    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> Version | None:
        """The first dotted release number in ``text`` (``2.1.3 (Claude Code)``, ``codex 0.17``)."""
        found = _NUMBER.search(text)
        if found is None:
            return None
        major, minor, patch = found.groups()
        return cls(int(major), int(minor), int(patch or 0))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@final
@attrs.frozen
class VersionRange:
    """The releases a preset supports: from ``lowest`` up to, not including, ``below``.

    Attributes:
        lowest: The oldest release supported.
        below: The first release not supported.
    """

    lowest: Version
    below: Version

    def __contains__(self, version: object) -> bool:
        return isinstance(version, Version) and self.lowest <= version < self.below

    def __str__(self) -> str:
        return f">= {self.lowest}, < {self.below}"


class ToolVersionError(PlaybillError):
    """A coding-agent CLI's release is not one its preset supports, or cannot be read.

    Attributes:
        tool: The backend's name (``claude_code``, ``codex``, ``aider``).
        executable: The program that was asked.
        found: The release it reported, or ``None`` when none could be read.
        supported: The releases the preset supports.
        detail: What went wrong, in a few words.
    """

    def __init__(
        self,
        tool: str,
        executable: str,
        found: Version | None,
        supported: VersionRange,
        detail: str,
    ) -> None:
        super().__init__(f"{tool}: {executable}: {detail}")
        self.tool = tool
        self.executable = executable
        self.found = found
        self.supported = supported
        self.detail = detail
