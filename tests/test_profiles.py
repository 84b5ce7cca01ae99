"""Agent profiles: built-ins, ranges, and loading files with every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from playbill.runtime import InputError, PlaybillError
from playbill.simulation._profile_file import ProfileError, load_profiles, parse_profiles
from playbill.simulation._profiles import (
    BUILTIN_PROFILES,
    DEFAULT_PROFILE,
    AgentProfile,
    FaultOdds,
    Latency,
    ProfileSet,
    RoleOdds,
    Tokens,
)


def test_the_builtins_are_there_and_valid() -> None:
    assert {"default", "reliable", "flaky", "slow", "perfect"} <= set(BUILTIN_PROFILES)
    assert BUILTIN_PROFILES["default"] == DEFAULT_PROFILE == AgentProfile()
    assert BUILTIN_PROFILES["flaky"].faults.crash > 0
    assert BUILTIN_PROFILES["slow"].slow_factor > 1
    perfect = BUILTIN_PROFILES["perfect"]
    assert {perfect.success.of(r) for r in ("planner", "executor", "reviewer", "verifier")} == {1.0}


def test_a_profile_set_maps_agents_to_profiles() -> None:
    profiles = ProfileSet(agents={"executor-1": "flaky"}, default="reliable")
    assert profiles.profile_for("executor-1") == BUILTIN_PROFILES["flaky"]
    assert profiles.profile_for("anyone") == BUILTIN_PROFILES["reliable"]
    assert ProfileSet().profile_for("x") == DEFAULT_PROFILE


def test_a_profile_set_refuses_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown profile 'nope'"):
        ProfileSet(agents={"a": "nope"})
    with pytest.raises(ValueError, match="default: unknown profile"):
        ProfileSet(default="nope")


def test_a_profile_set_cannot_be_changed() -> None:
    profiles = ProfileSet()
    with pytest.raises(TypeError):
        profiles.profiles["x"] = DEFAULT_PROFILE  # type: ignore[index]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: RoleOdds(executor=1.5), "executor: expected a probability"),
        (lambda: RoleOdds(planner=float("nan")), "planner: expected a probability"),
        (lambda: Latency(median_s=0), "median_s: expected a positive number"),
        (lambda: Latency(sigma=6), "sigma: expected a sigma between 0 and 5"),
        (lambda: Tokens(median=-1), "median: expected a positive number"),
        (lambda: FaultOdds(hang=True), "hang: expected a probability"),
        (lambda: AgentProfile(planner_substeps=2.5), "planner_substeps: expected a whole number"),
        (lambda: AgentProfile(heartbeat_interval_s=0), "heartbeat_interval_s"),
    ],
)
def test_ranges_are_checked_in_code(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


def test_every_problem_in_code_is_named_at_once() -> None:
    with pytest.raises(ValueError, match=r"planner: .*; executor: "):
        RoleOdds(planner=2, executor=-1)


GOOD = """
default = "mine"

[agents]
executor-1 = "slow"
"reviewer 2" = "flaky"

[profiles.mine]
extends = "reliable"
heartbeat_interval_s = 5
success.reviewer = 0.7
faults = { crash = 0.01 }

[profiles.mine2]
extends = "mine"
latency.role_factor.planner = 0.5

[profiles.flaky]
planner_substeps = 2
"""


def test_a_good_file_loads_over_the_builtins(tmp_path: Path) -> None:
    path = tmp_path / "agents.toml"
    path.write_text(GOOD)
    profiles = load_profiles(path)
    mine = profiles.profiles["mine"]
    reliable = BUILTIN_PROFILES["reliable"]
    assert mine.heartbeat_interval_s == 5.0
    assert mine.success == RoleOdds(
        planner=reliable.success.planner,
        executor=reliable.success.executor,
        reviewer=0.7,
        verifier=reliable.success.verifier,
    )
    assert mine.faults == FaultOdds(crash=0.01)
    assert mine.latency == reliable.latency
    mine2 = profiles.profiles["mine2"]
    assert mine2.latency.role_factor.planner == 0.5
    assert mine2.success.reviewer == 0.7
    # a file profile replaces a builtin of the same name; without extends it
    # starts from the defaults
    assert profiles.profiles["flaky"] == AgentProfile(planner_substeps=2)
    assert profiles.profiles["slow"] == BUILTIN_PROFILES["slow"]
    assert profiles.profile_for("executor-1") == BUILTIN_PROFILES["slow"]
    assert profiles.profile_for("reviewer 2") == profiles.profiles["flaky"]
    assert profiles.profile_for("someone") == mine


def test_an_empty_file_gives_the_builtins() -> None:
    assert parse_profiles("") == ProfileSet()


BAD = """
default = "nope"
colour = "blue"

[agents]
executor-1 = "flaky"
"reviewer 2" = "missing"
verifier-1 = 3

[profiles.flaky]
heartbeat_interval_s = -1
success.executor = 1.5
success.judge = 0.5
latency = { median_s = "fast", sigma = 9 }
faults = 0.3
planner_substeps = 2.5

[profiles.mine]
extends = "flaky"
slow_factor = "2"

[profiles.a]
extends = "b"
[profiles.b]
extends = "a"
[profiles.c]
extends = "zzz"
tokens_in = { median = true }
"""


def test_a_bad_file_reports_every_problem_with_file_and_path(tmp_path: Path) -> None:
    path = tmp_path / "agents.toml"
    path.write_text(BAD)
    with pytest.raises(ProfileError) as caught:
        load_profiles(path)
    error = caught.value
    assert isinstance(error, InputError)
    assert isinstance(error, PlaybillError)
    assert error.source == str(path)
    found = {(p.location, p.detail) for p in error.problems}
    expected_paths = {
        "colour",
        "default",
        'agents."reviewer 2"',
        "agents.verifier-1",
        "profiles.flaky.heartbeat_interval_s",
        "profiles.flaky.success.executor",
        "profiles.flaky.success.judge",
        "profiles.flaky.latency.median_s",
        "profiles.flaky.latency.sigma",
        "profiles.flaky.faults",
        "profiles.flaky.planner_substeps",
        "profiles.mine.slow_factor",
        "profiles.b.extends",
        "profiles.c.extends",
        "profiles.c.tokens_in.median",
    }
    assert {location for location, _ in found} == expected_paths
    assert len(error.problems) == len(expected_paths)
    details = dict(found)
    assert details["profiles.flaky.success.executor"] == (
        "expected a probability between 0 and 1, got 1.5"
    )
    assert details["profiles.flaky.latency.median_s"].endswith("got 'fast' (a string)")
    assert details["profiles.flaky.faults"] == "expected a table, got 0.3 (a float)"
    assert "unknown key" in details["profiles.flaky.success.judge"]
    assert "a -> b -> a" in details["profiles.b.extends"]
    assert details["profiles.c.extends"].startswith("unknown profile 'zzz'")
    assert details["default"].startswith("unknown profile 'nope'")
    # one line per problem, each naming the file and the path
    lines = str(error).splitlines()
    assert len(lines) == len(error.problems)
    assert f"{path}:profiles.flaky.success.executor: expected a probability" in str(error)
    assert all(line.startswith(f"{path}:") for line in lines)


def test_not_toml_is_one_problem() -> None:
    with pytest.raises(ProfileError, match=r"^x.toml: not valid TOML"):
        parse_profiles("[profiles\n", source="x.toml")


def test_a_missing_file_is_a_profile_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read the file"):
        load_profiles(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("agents = 3", "agents"),
        ("profiles = 3", "profiles"),
        ("profiles.x = 3", "profiles.x"),
        ("default = 3", "default"),
        ("[profiles.x]\nextends = 3", "profiles.x.extends"),
        ("[profiles.x]\nextends = 'x'", "profiles.x.extends"),
    ],
)
def test_shapes_are_checked(text: str, location: str) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_profiles(text)
    assert [p.location for p in caught.value.problems] == [location]


def test_a_key_with_control_characters_is_still_one_line_per_problem() -> None:
    text = '[agents]\n"ex\\nec" = "nope"\n'
    try:
        parse_profiles(text, source="p.toml")
    except ProfileError as error:
        lines = str(error).splitlines()
        assert len(lines) == len(error.problems) == 1
        assert lines[0].startswith('p.toml:agents."ex\\nec": ')
    else:
        raise AssertionError("an unknown profile name must be refused")
