"""``file_changed`` and ``artifact_exists``, and the package's public surface."""

from __future__ import annotations

import hashlib
import inspect
import os
from pathlib import Path

import pytest

import playbill.validators
from fixtures.validators.helpers import make_ctx
from playbill.runtime import ArtifactExists, Evidence, FileChanged
from playbill.validators import run_validator

# ------------------------------------------------------------- file_changed


@pytest.mark.parametrize(
    ("glob", "path", "expected"),
    [
        ("src/a.py", "src/a.py", True),
        ("src/a.py", "src/a.pyc", False),
        ("src/*.py", "src/a.py", True),
        ("src/*.py", "src/sub/a.py", False),
        ("src/**", "src/sub/deep/a.py", True),
        ("src/**/*.py", "src/a.py", True),  # ``**`` may match no segment
        ("src/**/*.py", "src/x/y/a.py", True),
        ("src/**/*.py", "src/x/y/a.txt", False),
        ("**/test_*.py", "tests/unit/test_x.py", True),
        ("src", "src/a.py", True),  # a glob covers what lies under it
        ("src", "srcx/a.py", False),
        ("docs/**", "src/a.py", False),
        ("./src/*.py", "src/a.py", True),
        ("src/?.py", "src/ab.py", False),
        ("src/[ab].py", "src/b.py", True),
        ("../src", "src/a.py", False),  # ``..`` never matches
        ("src/**", "src/../etc/passwd", False),
        ("src/**", "/src/a.py", False),
    ],
)
async def test_globs_follow_the_scope_language(
    tmp_path: Path, glob: str, path: str, expected: bool
) -> None:
    result = await run_validator(FileChanged(path=glob), make_ctx(tmp_path, changed=(path,)))
    assert result.passed is expected
    if not expected:
        assert result.failure is not None
        assert result.failure.kind == "file_not_changed"


@pytest.mark.parametrize("glob", ["", ".", "./", " / "])
async def test_a_glob_that_names_no_path_is_a_validator_error(tmp_path: Path, glob: str) -> None:
    result = await run_validator(FileChanged(path=glob), make_ctx(tmp_path, changed=("a.py",)))
    assert result.failure is not None
    assert result.failure.kind == "validator_error"


async def test_file_changed_passes_when_a_changed_file_matches(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, changed=("README.md", "src/pkg/a.py", "src/pkg/b.py"))
    result = await run_validator(FileChanged(path="src/**/*.py"), ctx)
    assert result.passed
    assert [e.ref for e in result.evidence] == ["src/pkg/a.py", "src/pkg/b.py"]
    assert result.evidence[0].kind == "file"
    assert result.score == 1.0


async def test_file_changed_fails_when_nothing_matches(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, changed=("README.md",))
    result = await run_validator(FileChanged(path="src/**"), ctx)
    assert result.failure is not None
    assert (result.failure.failure_class, result.failure.kind) == ("validation", "file_not_changed")
    assert "no changed file matches 'src/**' (1 files changed)" in result.failure.detail


# ---------------------------------------------------------- artifact_exists


async def test_an_artifact_file_is_evidenced_with_its_sha256(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    content = b"wheel bytes\x00\xff" * 1000
    (tmp_path / "dist" / "app.whl").write_bytes(content)
    result = await run_validator(ArtifactExists(path="dist/app.whl"), make_ctx(tmp_path))
    assert result.passed
    assert result.evidence == (
        Evidence(
            kind="file",
            ref="dist/app.whl",
            detail="a regular file",
            sha256=hashlib.sha256(content).hexdigest(),
        ),
    )


async def test_an_artifact_directory_passes(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    result = await run_validator(ArtifactExists(path="site"), make_ctx(tmp_path))
    assert result.passed
    assert result.evidence[0].sha256 is None


async def test_a_symlink_inside_the_worktree_is_followed(tmp_path: Path) -> None:
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "out.bin").write_bytes(b"x")
    (tmp_path / "latest").symlink_to(tmp_path / "build" / "out.bin")
    result = await run_validator(ArtifactExists(path="latest"), make_ctx(tmp_path))
    assert result.passed
    assert result.evidence[0].sha256 == hashlib.sha256(b"x").hexdigest()


async def test_a_missing_artifact_fails(tmp_path: Path) -> None:
    result = await run_validator(ArtifactExists(path="dist/app.whl"), make_ctx(tmp_path))
    assert result.failure is not None
    assert (result.failure.failure_class, result.failure.kind) == ("validation", "artifact_missing")
    assert "nothing at 'dist/app.whl', expected the artifact to exist" in result.failure.detail


async def test_an_artifact_that_is_not_a_file_or_directory_fails(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    result = await run_validator(ArtifactExists(path="pipe"), make_ctx(tmp_path))
    assert result.failure is not None
    assert result.failure.kind == "artifact_missing"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/etc/passwd", "absolute path"),
        ("../outside/secret.txt", "'..' segment"),
        ("link/secret.txt", "resolves outside the worktree"),
        (".", "names the worktree itself"),
        ("", "empty path"),
    ],
)
async def test_an_artifact_path_outside_the_worktree_is_refused(
    tmp_path: Path, path: str, reason: str
) -> None:
    worktree = tmp_path / "wt"
    worktree.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not yours")
    (worktree / "link").symlink_to(outside)
    result = await run_validator(ArtifactExists(path=path), make_ctx(worktree))
    assert result.failure is not None
    assert (result.failure.failure_class, result.failure.kind) == ("validation", "validator_error")
    assert reason in result.failure.detail
    assert result.evidence == ()


# ------------------------------------------------------------ the surface


def test_the_public_surface_is_curated_and_documented() -> None:
    package = playbill.validators
    assert (package.__doc__ or "").strip()
    names = package.__all__
    assert len(names) == len(set(names))
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public == set(names)
    for name in names:
        obj = getattr(package, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__, f"{name} has no docstring of its own"
            assert obj.__module__.startswith("playbill.validators._"), name
