"""Sweeps on Ray: the rows of a local sweep, resuming, and one-line errors.

One local Ray instance (2 CPUs) serves the whole module: it takes seconds to
start. It is started by ``ray_simulator`` itself, so that its start and
shutdown are tested too; sweeps in between reuse the connection.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from custom_strategy import TestsFirst
from needs import need
from playbill.cli import cli
from playbill.runtime import STRATEGIES as BUILTIN
from playbill.sweeps import PROGRESS_FILE, ROWS_CSV, ROWS_JSONL, SweepSetup, load_setup, run_sweep
from playbill.sweeps import _ray as ray_module

ray = need("ray")
pytestmark = pytest.mark.ray

STRATEGIES = ("pipeline", "parallel")


def ray_processes() -> list[int]:
    """Ray's processes started from this one (its raylet, GCS server and workers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().split("(", 1)[1].rsplit(")", 1)
        except (OSError, IndexError, ValueError):
            continue
        state = rest.split()[0]
        if state != "Z" and ("ray" in name or "gcs_server" in name):
            found.append(int(stat.parent.name))
    return found


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    before = set(ray_processes())
    with ray_module.ray_simulator(ray_module.LOCAL, num_cpus=2):
        assert ray.is_initialized()
        assert ray.cluster_resources()["CPU"] == 2
        assert set(ray_processes()) - before, "Ray's processes are not found: the check is blind"
        yield
    assert not ray.is_initialized()
    for _ in range(500):  # ray.shutdown ends them; give the kernel a moment (at most 10 s)
        left = set(ray_processes()) - before
        if not left:
            break
        time.sleep(0.02)
    assert not left, "Ray processes outlived ray.shutdown"


@pytest.fixture(scope="module")
def setup() -> SweepSetup:
    return load_setup(None, None)


def sweep_cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--journal", str(tmp_path / "journal.db"), "sweep", *args])
    return result.exit_code, result.output


def test_ray_rows_are_the_local_rows_byte_for_byte(tmp_path: Path) -> None:
    common = ("--strategies", ",".join(STRATEGIES), "--seeds", "0:5", "--no-plots")
    code, output = sweep_cli(tmp_path, *common, "--out", str(tmp_path / "local"), "--workers", "1")
    assert code == 0, output
    code, output = sweep_cli(tmp_path, *common, "--out", str(tmp_path / "ray"), "--ray")
    assert code == 0, output
    assert "20 runs simulated, 0 reused" in output
    for name in (ROWS_CSV, ROWS_JSONL):
        local = (tmp_path / "local" / name).read_bytes()
        assert local.count(b"\n") >= 20
        assert (tmp_path / "ray" / name).read_bytes() == local, name
    assert ray.is_initialized(), "a sweep disconnected a connection it did not make"


def test_an_interrupted_ray_sweep_keeps_its_rows_and_resumes(
    tmp_path: Path, setup: SweepSetup
) -> None:
    out = tmp_path / "s"
    seeds = range(10)  # 40 cells: batches of 2, at most 4 in flight on 2 CPUs
    told: list[int] = []

    def interrupt(finished: int, total: int) -> None:
        told.append(finished)
        if finished > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(setup, out, strategies=STRATEGIES, seeds=seeds, ray=True, progress=interrupt)
    kept = (out / PROGRESS_FILE).read_bytes().count(b"\n")
    assert told[0] == 0  # the first report: nothing reused
    assert 0 < told[1] <= kept < 40  # the batches in flight were kept; the others never ran
    resumed = run_sweep(setup, out, strategies=STRATEGIES, seeds=seeds, ray=True)
    assert (resumed.reused, resumed.ran) == (kept, 40 - kept)
    whole = run_sweep(setup, tmp_path / "whole", strategies=STRATEGIES, seeds=seeds, workers=1)
    assert resumed.rows == whole.rows
    for name in (ROWS_CSV, ROWS_JSONL):
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_bad_address_is_one_line_and_exit_2(tmp_path: Path) -> None:
    address = f"127.0.0.1:{closed_port()}"
    out = tmp_path / "s"
    args = ("--strategies", "pipeline", "--seeds", "0:2", "--no-plots", "--out", str(out))
    code, output = sweep_cli(tmp_path, *args, "--ray", address)
    assert code == 2
    [line] = output.splitlines()
    assert line.startswith(f"playbill: error: Ray at {address}: cannot connect: ")
    assert not (out / PROGRESS_FILE).exists()
    code, output = sweep_cli(tmp_path, *args, "--ray", "ray://localhost:99999")
    assert (code, output.strip()) == (
        2,
        "playbill: error: Ray at ray://localhost:99999: '99999' is not a port: expected host:port",
    )


def test_without_ray_installed_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    args = ("--strategies", "pipeline", "--seeds", "0:2", "--no-plots", "--out", str(tmp_path))
    code, output = sweep_cli(tmp_path, *args, "--ray")
    assert (code, output.strip()) == (
        2,
        "playbill: error: --ray needs ray, which is not installed: pip install 'playbill[ray]'",
    )


def test_rows_of_another_playbill_version_are_refused(
    tmp_path: Path, setup: SweepSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ray_module, "__version__", "0.0.0-driver")  # the workers keep theirs
    with pytest.raises(ray_module.RayClusterError) as caught:
        run_sweep(setup, tmp_path, strategies=["pipeline"], seeds=[0], ray=True)
    assert caught.value.address == ray_module.LOCAL
    assert "this sweep 0.0.0-driver" in caught.value.detail
    log = tmp_path / PROGRESS_FILE
    assert not log.exists() or not log.read_bytes()  # nothing of theirs was written


def test_strategies_of_ones_own_run_on_ray_too(tmp_path: Path) -> None:
    # custom_strategy is importable here (tests/), not by Ray's workers: its code is sent.
    own = load_setup(strategies={**BUILTIN, "tests_first": TestsFirst()})
    seeds = range(3)
    on_ray = run_sweep(own, tmp_path / "ray", strategies=["tests_first"], seeds=seeds, ray=True)
    local = run_sweep(own, tmp_path / "local", strategies=["tests_first"], seeds=seeds, workers=1)
    assert on_ray.rows == local.rows
    assert (tmp_path / "ray" / ROWS_JSONL).read_bytes() == (
        tmp_path / "local" / ROWS_JSONL
    ).read_bytes()
