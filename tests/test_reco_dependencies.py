"""``reconstruct()`` on an in-memory chunk needs only what inference needs.

numpy, awkward, uproot, numba and onnxruntime: no coffea/dask (batch runs), no torch/onnx
(training/export), no scikit-learn/iminuit/scipy (analysis), no plotting, no optuna.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]
#: Packages the in-memory reconstruction must not import.
NOT_NEEDED = ("coffea", "dask", "distributed", "torch", "onnx", "onnxscript", "sklearn", "iminuit", "scipy",
              "matplotlib", "mplhep", "optuna", "hist", "ROOT")


@pytest.fixture(scope="module")
def small_file(simulated_file) -> Path:  # noqa: ANN001
    return simulated_file(20, 4)


def test_reconstruct_imports_no_batch_training_or_analysis_package(small_file: Path) -> None:
    code = (
        "import sys\n"
        f"for name in {NOT_NEEDED!r}:\n"
        "    sys.modules[name] = None  # importing it now raises ImportError\n"
        "from ccreco.io import read\n"
        "from ccreco.reco import RecoConfig, reconstruct\n"
        f"r = reconstruct(read({str(small_file)!r}), RecoConfig(deriv=True))\n"
        "print(len(r), int(r.n_clusters_int.sum()) > 0)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["20", "True"]
