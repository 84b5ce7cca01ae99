"""What keeps a test session off the user's files, for ``tests/`` and ``property_tests/``.

Each ``conftest.py`` imports the fixture, which registers it there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def worktrees_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the worktrees of real runs out of the user's data directory.

    Runs make their worktrees under ``$XDG_DATA_HOME/playbill/worktrees``, one
    directory per repository; the session (and every process it starts) gets
    a data directory of its own.
    """
    data = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(data))
        yield data
