from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from ccreco.hpo.space import parse_space  # noqa: E402
from ccreco.hpo.study import run_study, trials_table  # noqa: E402

FIELDS = ("auc", "f1", "precision", "recall", "efficiency_purity", "n_params", "throughput_per_s",
          "cpu_s", "cpus_used", "wall_s", "maxrss_mb")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.5).astype(np.int64)
    w = rng.normal(size=(2000, 15)).astype(np.float32)
    w[y == 1, 5:8] += 3.0
    path = tmp_path / "data.npz"
    np.savez(path, windows=w, labels=y)
    return path


SPACE = {"params": {"cell": ["lstm", "gru"], "hidden": 6, "dense": 8,
                    "epochs": 1, "batch_size": 256, "fail": [False, True]}}


@pytest.mark.parametrize("executor", ["iterative", "dask"])
def test_study_records_fields_and_failures(tmp_path: Path, data: Path, executor: str) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    space = parse_space(SPACE)
    study = run_study(space, data, storage=storage, n_trials=4, sampler="grid", executor=executor, workers=2)
    rows = trials_table(study)
    assert len(rows) == 4
    done = [r for r in rows if r["state"] == "COMPLETE"]
    failed = [r for r in rows if r["state"] == "FAIL"]
    assert len(done) == 2 and len(failed) == 2
    assert all("injected failure" in r["error"] for r in failed)
    for r in done:
        for f in FIELDS:
            assert f in r, f
    # resuming with the same N adds nothing
    again = run_study(space, data, storage=storage, n_trials=4, sampler="grid")
    assert len(again.trials) == 4
