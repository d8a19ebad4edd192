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


def _run_blocked(blocked: tuple[str, ...], body: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        f"for name in {blocked!r}:\n"
        "    sys.modules[name] = None\n" + body
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(("module", "extra"), [("torch", "train"), ("optuna", "hpo"), ("coffea.processor", "coffea"),
                                               ("iminuit", "tune"), ("mplhep", "plots"),
                                               ("sklearn.metrics", "analysis")])
def test_a_missing_optional_module_names_its_extra(module: str, extra: str) -> None:
    from ccreco._extras import require
    from ccreco.errors import CcrecoError, MissingExtraError

    top = module.split(".")[0]
    proc = _run_blocked((top,), (
        "from ccreco._extras import require\n"
        "from ccreco.errors import MissingExtraError\n"
        "try:\n"
        f"    require({module!r}, 'this step')\n"
        "except MissingExtraError as exc:\n"
        "    print(exc.name, exc.extra, '|', exc)\n"
    ))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == \
        f"{top} {extra} | this step needs {top}: pip install 'ccreco[{extra}]' (or 'ccreco[all]')"
    assert issubclass(MissingExtraError, CcrecoError) and issubclass(MissingExtraError, ModuleNotFoundError)
    assert require("numpy").__name__ == "numpy"  # an installed module is returned as it is


def test_a_dependency_of_an_optional_module_is_named_too() -> None:
    # mplhep installed but matplotlib missing: the hint names matplotlib (the plots extra)
    proc = _run_blocked(("matplotlib",), (
        "from ccreco._extras import require\n"
        "try:\n"
        "    require('mplhep', 'plots')\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, '|', exc)\n"
    ))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == \
        "MissingExtraError | plots needs matplotlib: pip install 'ccreco[plots]' (or 'ccreco[all]')"


def test_training_api_without_torch_names_the_train_extra() -> None:
    proc = _run_blocked(("torch",), (
        "import ccreco.models as m\n"
        "from ccreco.models.config import PEAK_PRESETS\n"  # the numpy-only parts still import
        "try:\n"
        "    m.train_peak_model\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, '|', exc)\n"
    ))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == ("MissingExtraError | ccreco.models.train_peak_model needs torch: "
                                   "pip install 'ccreco[train]' (or 'ccreco[all]')")


def test_run_reco_without_coffea_names_the_coffea_extra(small_file: Path, tmp_path: Path) -> None:
    # ``ccreco reco`` runs every executor (iterative included) through coffea's Runner today
    proc = _run_blocked(("coffea", "dask", "distributed"), (
        "from ccreco.reco import run_reco\n"
        "try:\n"
        f"    run_reco([{str(small_file)!r}], {str(tmp_path / 'out')!r}, plots=False, status=False)\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, '|', exc)\n"
    ))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == ("MissingExtraError | batch reconstruction (ccreco reco, run_reco) needs coffea: "
                                   "pip install 'ccreco[coffea]' (or 'ccreco[all]')")
    assert not (tmp_path / "out").exists()  # nothing published


def test_the_cli_turns_a_missing_optional_module_into_the_hint() -> None:
    from ccreco.cli import describe_exception

    exc = ModuleNotFoundError("No module named 'optuna'", name="optuna")
    assert describe_exception(exc) == "optuna is not installed: pip install 'ccreco[hpo]' (or 'ccreco[all]')"
    other = ModuleNotFoundError("No module named 'nonexistent_pkg'", name="nonexistent_pkg")
    assert describe_exception(other) == "ModuleNotFoundError: No module named 'nonexistent_pkg'"
