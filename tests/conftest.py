"""Shared pytest configuration: headless plotting, no progress bars, deterministic numba cache."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("CCRECO_NO_PROGRESS", "1")


@pytest.fixture(scope="session")
def root_exe() -> str:
    """Path of the ROOT executable from the ROOT wheel in this environment.

    Fails (not skips) when it is missing: ``make test`` installs the ``root`` wheel, and the
    ROOT-side checks are part of the suite.
    """
    exe = shutil.which("root", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    if exe is None:
        pytest.fail("the ROOT executable 'root' is not installed (pip install root==0.1a12)")
    return exe


@pytest.fixture(scope="session")
def simulated_file(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """Factory of simulated ROOT files, each made once per test session and shared.

    ``simulated_file(n, seed, preset="tb2023-untuned", **overrides) -> Path``. The files are
    read-only by convention: a test that modifies one must copy it first.
    """
    from ccreco.sim import SimConfig, simulate_to_file

    made: dict[tuple, Path] = {}

    def make(n: int, seed: int, preset: str = "tb2023-untuned", **overrides: object) -> Path:
        key = (int(n), int(seed), preset, tuple(sorted(overrides.items())))
        if key not in made:
            path = tmp_path_factory.mktemp("simulated") / f"{preset}_{n}_{seed}.root"
            simulate_to_file(path, SimConfig.from_preset(preset, **overrides), int(n), int(seed))
            made[key] = path
        return made[key]

    return make


@pytest.fixture
def plot_legends(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The legend texts of every figure ``ccreco.plotting.save`` writes, by plot name (filled as drawn)."""
    from ccreco import plotting

    legends: dict[str, list[str]] = {}
    real = plotting.save

    def save(fig, plot_dir, name):  # noqa: ANN001, ANN202
        legends[name] = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
        return real(fig, plot_dir, name)

    monkeypatch.setattr(plotting, "save", save)
    return legends
