"""The conservative glob-overlap check of mutation scopes."""

from __future__ import annotations

import itertools
from fnmatch import fnmatchcase

import pytest
from hypothesis import given
from hypothesis import strategies as st

from playbill.runtime.logic._scopes import globs_overlap, path_in_scope, scopes_overlap


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("src/**", "src/a.py"),
        ("src/*.py", "src/a*"),
        ("**", "docs/x.md"),
        ("src", "src/a.py"),  # a scope on a directory covers what is in it
        ("src/", "src/deep/a.py"),
        ("./src/a.py", "src/a.py"),
        ("src/**/test_*.py", "src/pkg/sub/test_x.py"),
        ("a/**/b", "a/b"),
        ("src/[ab].py", "src/a.py"),
        ("../outside", "anything"),  # ``..`` could be anything: overlap
        ("", "src/a.py"),  # the whole repository
    ],
)
def test_overlapping_globs(a: str, b: str) -> None:
    assert globs_overlap(a, b)
    assert globs_overlap(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("src/*.py", "docs/**"),
        ("src/a.py", "src/b.py"),
        ("src/a.py", "src/a.pyc"),
        ("src", "src2/x"),
        ("src/*.py", "src/*.md"),
        ("test_*.py", "conftest.py"),
        ("src/[ab].py", "src/c.py"),
    ],
)
def test_disjoint_globs(a: str, b: str) -> None:
    assert not globs_overlap(a, b)
    assert not globs_overlap(b, a)


def test_read_only_scopes_overlap_nothing() -> None:
    assert not scopes_overlap((), ("**",))
    assert scopes_overlap(("docs/**", "src/a.py"), ("src/*.py",))


SEGMENTS = ["a", "b", "ab", "a.py", "b.py"]
PATTERNS = [*SEGMENTS, "*", "**", "*.py", "a*", "?", "[ab]", "*b*"]
PATHS = ["/".join(p) for n in range(1, 4) for p in itertools.product(SEGMENTS, repeat=n)]


def matches(glob: str, path: str) -> bool:
    """The documented semantics, by brute force: segment by segment, ``**`` any
    number of segments, and a glob also covers what is under what it names."""
    pattern = [s for s in glob.split("/") if s]
    parts = path.split("/")

    def match(i: int, j: int) -> bool:
        if i == len(pattern):
            return True  # what is under a match is covered too
        if pattern[i] == "**":
            return any(match(i + 1, k) for k in range(j, len(parts) + 1))
        return j < len(parts) and fnmatchcase(parts[j], pattern[i]) and match(i + 1, j + 1)

    return match(0, 0)


globs = st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=3).map("/".join)


@given(globs, globs)
def test_the_check_never_misses_a_common_path(a: str, b: str) -> None:
    """Sound: when some path matches both globs, they are said to overlap."""
    common = [p for p in PATHS if matches(a, p) and matches(b, p)]
    if common:
        assert globs_overlap(a, b), common[0]


@given(globs, globs)
def test_the_check_is_symmetric(a: str, b: str) -> None:
    assert globs_overlap(a, b) == globs_overlap(b, a)


# ------------------------------------------------------------------ path_in_scope


@pytest.mark.parametrize(
    ("path", "scope"),
    [
        ("src/a.py", ["src"]),  # a glob covers what is under the path it names
        ("src/deep/a.py", ["src/"]),
        ("src/a.py", ["src/*.py"]),
        ("src/a.py", ["docs/**", "src/a.py"]),
        ("src/pkg/sub/test_x.py", ["src/**/test_*.py"]),
        ("a/b", ["a/**/b"]),  # ``**`` matches no segment too
        ("a/x/y/b", ["a/**/b"]),
        ("src/a.py", ["src/[ab].py"]),
        ("anything/at/all", ["**"]),
        ("src/a.py", [""]),  # the empty glob names the whole repository
        ("./src/a.py", ["src/a.py"]),
        ("src//a.py", ["./src/a.py"]),
        ("src/a.py/inner", ["src/*.py"]),  # under a matched path
    ],
)
def test_paths_in_scope(path: str, scope: list[str]) -> None:
    assert path_in_scope(path, scope)


@pytest.mark.parametrize(
    ("path", "scope"),
    [
        ("src/a.py", []),  # read-only
        ("src2/x", ["src"]),
        ("src/a.pyc", ["src/a.py"]),
        ("src/sub/a.py", ["src/*.py"]),  # ``*`` stays within one segment
        ("src/c.py", ["src/[ab].py"]),
        ("docs/a.py", ["src/**"]),
        ("/etc/passwd", ["**"]),  # absolute paths are in no scope
        ("src/../etc/passwd", ["**"]),  # nor are ``..`` escapes
        ("", ["**"]),
        ("outside/a", ["../outside"]),  # a ``..`` glob covers nothing
        ("a/c/d", ["a/**/b"]),
    ],
)
def test_paths_out_of_scope(path: str, scope: list[str]) -> None:
    assert not path_in_scope(path, scope)


paths = st.sampled_from(PATHS)


@given(st.lists(globs, max_size=3), paths)
def test_path_in_scope_is_the_documented_semantics(scope: list[str], path: str) -> None:
    assert path_in_scope(path, scope) == any(matches(g, path) for g in scope)


@given(st.lists(globs, max_size=3), paths)
def test_a_path_in_scope_overlaps_the_scope(scope: list[str], path: str) -> None:
    """The two checks agree: a path a scope covers overlaps that scope."""
    if path_in_scope(path, scope):
        assert scopes_overlap(scope, [path])
