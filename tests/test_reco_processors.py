"""ccreco's coffea processor is ``ccreco.processors``: a user's own ``processors/`` package wins nothing.

A coffea analysis directory usually holds its own ``processors/`` package; with that directory
first on the path (``PYTHONPATH=.``, a notebook started there) ``ccreco reco`` and
``run_reco`` must still find ccreco's processor.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccreco.sim import SimConfig, simulate_to_file

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def analysis_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("analysis")
    (d / "processors").mkdir()
    (d / "processors" / "__init__.py").write_text("USER_PACKAGE = True\n")
    (d / "processors" / "mine.py").write_text("class MyProcessor:\n    pass\n")
    simulate_to_file(d / "run.root", SimConfig.from_preset("tb2023-untuned"), 30, 5)
    return d


def _env(analysis_dir: Path) -> dict[str, str]:
    # the analysis directory first, then this checkout (so that its ccreco is the one tested)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(analysis_dir), str(ROOT)])
    env["CCRECO_NO_PROGRESS"] = "1"
    return env


def test_cli_reco_beside_a_user_processors_package(analysis_dir: Path) -> None:
    out = analysis_dir / "cli_out"
    proc = subprocess.run([sys.executable, "-m", "ccreco", "reco", "run.root", "-o", str(out), "--no-plots"],
                          cwd=analysis_dir, env=_env(analysis_dir), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counters"]["waveforms_reconstructed"] == 30


def test_run_reco_beside_a_user_processors_package(analysis_dir: Path) -> None:
    code = (
        "import processors, processors.mine\n"
        "assert processors.USER_PACKAGE\n"
        "from ccreco.reco import run_reco\n"
        "s = run_reco(['run.root'], 'lib_out', status=False, plots=False)\n"
        "import ccreco.processors, processors\n"
        "assert processors.USER_PACKAGE and ccreco.processors.ClusterCountingProcessor\n"
        "print(s.data['counters']['waveforms_reconstructed'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=analysis_dir, env=_env(analysis_dir),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "30"


def test_public_name_is_the_class_run_reco_uses() -> None:
    import ccreco.processors
    from ccreco.processors.cluster_counting import ClusterCountingProcessor
    from ccreco.reco.processor import ClusterCountingProcessor as used

    assert ccreco.processors.ClusterCountingProcessor is ClusterCountingProcessor is used
