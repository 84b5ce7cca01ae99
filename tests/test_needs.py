"""``needs.py``: a missing optional package skips its tests (fails them under CI); markers."""

from __future__ import annotations

import json

import pytest

from needs import REQUIRE_ENV, mark_heavy, need

MISSING = "playbill_no_such_package"


@pytest.fixture
def not_ci(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    return monkeypatch


def test_an_installed_package_is_imported(not_ci: pytest.MonkeyPatch) -> None:
    assert need("json") is json


def outcome(module: str) -> BaseException:
    """How ``need(module)`` ends the test: a skip or a failure (caught, so neither escapes)."""
    with pytest.raises((pytest.skip.Exception, pytest.fail.Exception)) as caught:
        need(module)
    return caught.value


def test_a_missing_package_skips_its_tests(not_ci: pytest.MonkeyPatch) -> None:
    ended = outcome(MISSING)
    assert type(ended) is pytest.skip.Exception
    assert f"{MISSING} is not installed" in str(ended)


@pytest.mark.parametrize(("name", "value"), [(REQUIRE_ENV, "1"), ("CI", "true")])
def test_a_missing_package_fails_its_tests_under_ci(
    not_ci: pytest.MonkeyPatch, name: str, value: str
) -> None:
    not_ci.setenv(name, value)
    ended = outcome(MISSING)
    assert type(ended) is pytest.fail.Exception
    assert f"{MISSING} is not installed" in str(ended) and "required" in str(ended)


class Item:
    """What ``mark_heavy`` reads of a test item: its fixtures and its markers."""

    def __init__(self, fixturenames: tuple[str, ...] = (), *markers: str) -> None:
        self.fixturenames = fixturenames
        self.markers = list(markers)

    def get_closest_marker(self, name: str) -> str | None:
        return name if name in self.markers else None

    def add_marker(self, marker: pytest.MarkDecorator) -> None:
        self.markers.append(marker.name)


def test_heavy_tests_are_marked_slow_and_pg_server_users_postgres() -> None:
    items = {
        "light": Item(),
        "pg": Item(("tmp_path", "pg_server")),
        "ray": Item((), "ray"),
        "clis": Item((), "agent_clis", "slow"),
    }
    mark_heavy(items.values())  # type: ignore[arg-type]
    assert {name: item.markers for name, item in items.items()} == {
        "light": [],
        "pg": ["postgres", "slow"],
        "ray": ["ray", "slow"],
        "clis": ["agent_clis", "slow"],
    }
