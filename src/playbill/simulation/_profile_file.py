"""Loading agent profiles from a TOML file, reporting every problem at once.

The file::

    default = "flaky"             # the profile of agents not listed (optional)

    [agents]                      # agent id -> profile name
    executor-1 = "slow"
    reviewer-1 = "mine"

    [profiles.mine]               # a profile of your own
    extends = "reliable"          # start from another profile (optional)
    heartbeat_interval_s = 5
    success.reviewer = 0.7
    faults = { crash = 0.01 }

A profile starts from ``extends`` (a built-in or another profile of the file)
or from the defaults, and the keys given replace that profile's values, table
by table. A profile of the file may replace a built-in of the same name.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, final

import attrs

from playbill._inputs import MAX_DEPTH, MAX_PLAN_BYTES, InputRefused, read_input, too_deep
from playbill._problems import Problem, ProblemsError, toml_key
from playbill._strict import add_problems, describe, strict_converter

from ._profiles import (
    BUILTIN_PROFILES,
    AgentProfile,
    ProfileSet,
    unknown_names,
)


class ProfileError(ProblemsError):
    """An agent-profile file is invalid. Lists every problem, one per line."""


def load_profiles(path: str | Path) -> ProfileSet:
    """Load a profile file (TOML) into a ``ProfileSet`` over the built-ins.

    Blocking file I/O: call it before ``trio.run``, or through
    ``trio.to_thread.run_sync``.

    Args:
        path: The file.

    Raises:
        ProfileError: The file cannot be read, is not TOML, or holds invalid
            profiles; every problem is reported, each with its path.
    """
    source = str(path)
    try:
        text = read_input(path, MAX_PLAN_BYTES).decode("utf-8")
    except (InputRefused, UnicodeDecodeError) as error:
        raise ProfileError(source, [Problem("", f"cannot read the file: {error}")]) from None
    return parse_profiles(text, source=source)


def parse_profiles(text: str, *, source: str = "<profiles>") -> ProfileSet:
    """Parse the text of a profile file (see the module documentation).

    Args:
        text: TOML.
        source: The file it came from, for error messages.

    Raises:
        ProfileError: Every problem found, each with its path.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(source, [Problem("", f"not valid TOML: {error}")]) from None
    except RecursionError:
        document = None  # deeper than the parser goes: too deep by far
    if document is None or too_deep(document):
        detail = f"tables and arrays nest more than {MAX_DEPTH} levels deep, the limit"
        raise ProfileError(source, [Problem("", detail)])
    problems: list[Problem] = []
    for key in document:
        if key not in ("default", "agents", "profiles"):
            problems.append(
                Problem(toml_key(key), "unknown key (expected default, agents or profiles)")
            )
    default = document.get("default", "default")
    if not isinstance(default, str):
        problems.append(Problem("default", f"expected a profile name, got {describe(default)}"))
        default = "default"
    agents = _agents(document.get("agents", {}), problems)
    tables = _tables(document.get("profiles", {}), problems)
    profiles = _Resolver(tables, problems).resolve_all()
    # Names of profiles that failed to load are known too: no second complaint.
    names = {*BUILTIN_PROFILES, *tables}
    problems.extend(Problem(path, detail) for path, detail in unknown_names(names, agents, default))
    if problems:
        raise ProfileError(source, problems)
    return ProfileSet(profiles={**BUILTIN_PROFILES, **profiles}, agents=agents, default=default)


def _agents(value: object, problems: list[Problem]) -> dict[str, str]:
    if not isinstance(value, dict):
        problems.append(Problem("agents", f"expected a table, got {describe(value)}"))
        return {}
    agents = {}
    for agent, name in value.items():
        if isinstance(name, str):
            agents[agent] = name
        else:
            path = f"agents.{toml_key(agent)}"
            problems.append(Problem(path, f"expected a profile name, got {describe(name)}"))
    return agents


def _tables(value: object, problems: list[Problem]) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        problems.append(Problem("profiles", f"expected a table, got {describe(value)}"))
        return {}
    tables = {}
    for name, table in value.items():
        if isinstance(table, dict):
            tables[name] = table
        else:
            path = f"profiles.{toml_key(name)}"
            problems.append(Problem(path, f"expected a table, got {describe(table)}"))
    return tables


@final
@attrs.define(eq=False)
class _Resolver:
    """Builds the file's profiles, following ``extends``, collecting problems."""

    _tables: Mapping[str, dict[str, Any]]
    _problems: list[Problem]
    _done: dict[str, AgentProfile | None] = attrs.Factory(dict)
    _visiting: list[str] = attrs.Factory(list)

    def resolve_all(self) -> dict[str, AgentProfile]:
        for name in self._tables:
            self._resolve(name)
        return {name: found for name, found in self._done.items() if found is not None}

    def _resolve(self, name: str) -> AgentProfile | None:
        if name in self._done:
            return self._done[name]
        here = f"profiles.{toml_key(name)}"
        table = dict(self._tables[name])
        parent = table.pop("extends", None)
        self._visiting.append(name)
        try:
            base = {} if parent is None else self._base(parent, f"{here}.extends")
            profile = _structure(_merge(base, table), AgentProfile, here, self._problems)
        finally:
            self._visiting.pop()
        self._done[name] = profile
        return profile

    def _base(self, parent: object, where: str) -> dict[str, Any]:
        """The table a profile extends (empty when it cannot be had: reported)."""
        if not isinstance(parent, str):
            self._problems.append(
                Problem(where, f"expected a profile name, got {describe(parent)}")
            )
            return {}
        if parent in self._visiting:
            cycle = " -> ".join([*self._visiting[self._visiting.index(parent) :], parent])
            self._problems.append(Problem(where, f"profiles extend each other: {cycle}"))
            return {}
        if parent in self._tables:
            found = self._resolve(parent)
            # a parent with problems was reported; check the child on its own
            return _unstructure(found) if found is not None else {}
        if parent in BUILTIN_PROFILES:
            return _unstructure(BUILTIN_PROFILES[parent])
        known = ", ".join(sorted({*BUILTIN_PROFILES, *self._tables}))
        self._problems.append(Problem(where, f"unknown profile {parent!r} (known: {known})"))
        return {}


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override``'s keys replacing its own, table by table."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# ------------------------------------------------------------------ cattrs


_CONVERTER = strict_converter()


def _unstructure(profile: AgentProfile) -> dict[str, Any]:
    table: dict[str, Any] = _CONVERTER.unstructure(profile)
    return table


def _structure(
    table: dict[str, Any], cl: type[AgentProfile], where: str, problems: list[Problem]
) -> AgentProfile | None:
    try:
        return _CONVERTER.structure(table, cl)
    except Exception as error:  # every error of cattrs' tree is turned into problems
        # a profile's unknown key lists the known ones, naming no closest one
        add_problems(error, where, problems, hint=False)
        return None
