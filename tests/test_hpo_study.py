from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from ccreco.errors import ConfigError  # noqa: E402
from ccreco.hpo.report import export_trial_model, plot_study, write_results  # noqa: E402
from ccreco.hpo.space import parse_space  # noqa: E402
from ccreco.hpo.study import recover_interrupted, run_study, trials_table  # noqa: E402
from ccreco.hpo.trial import build_configs  # noqa: E402

RESOURCES = ("n_params", "throughput_per_s", "cpu_s", "cpus_used", "wall_s", "peak_rss_mb", "maxrss_mb", "host",
             "model_file", "loss_fn", "epochs_run")
PEAK_FIELDS = ("auc", "f1", "precision", "recall", "efficiency_purity") + RESOURCES


@pytest.fixture
def peak_data(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    y = (rng.random(1500) < 0.5).astype(np.int8)
    w = rng.normal(size=(1500, 15)).astype(np.float32)
    w[y == 1, 5:8] += 3.0
    path = tmp_path / "peaks.npz"
    np.savez(path, windows=w, labels=y)
    return path


def _check_fields(row: dict, fields: tuple[str, ...]) -> None:
    for f in fields:
        assert f in row, f
    assert row["n_params"] > 0 and row["throughput_per_s"] > 0
    assert row["wall_s"] > 0 and row["cpu_s"] > 0 and 0 < row["cpus_used"] < 8
    assert row["peak_rss_mb"] >= row["rss_start_mb"] > 10


@pytest.mark.slow
def test_dask_peaks_study_records_fields_failures_and_outputs(tmp_path: Path, peak_data: Path) -> None:
    # 'swish' is not an accepted activation: those trials fail in the worker with the
    # ConfigError, and the study goes on.
    space = parse_space({"params": {"cell": ["lstm", "gru"], "activation": ["relu", "swish"], "hidden": 6,
                                    "dense": 8, "epochs": 1, "batch_size": 256}})
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = run_study(space, peak_data, storage=storage, n_trials=4, sampler="grid", executor="dask", workers=2,
                      models_dir=tmp_path / "models", objectives=["auc", "throughput_per_s"])
    rows = trials_table(study)
    assert len(rows) == 4
    done = [r for r in rows if r["state"] == "COMPLETE"]
    failed = [r for r in rows if r["state"] == "FAIL"]
    assert {r["activation"] for r in done} == {"relu"} and {r["activation"] for r in failed} == {"swish"}
    assert all("ConfigError: activation must be one of" in r["error"] for r in failed)
    for r in done:
        _check_fields(r, PEAK_FIELDS)
        assert 0.0 <= r["auc"] <= 1.0 and r["loss_fn"] == "bce"
    assert len({r["host"] for r in rows if "host" in r}) >= 1
    # resuming with the same N adds nothing
    again = run_study(space, peak_data, storage=storage, n_trials=4, sampler="grid",
                      objectives=["auc", "throughput_per_s"], show_progress=False)
    assert len(again.trials) == 4

    paths = write_results(study, tmp_path / "out", "peaks")
    md = (tmp_path / "out" / "results.md").read_text()
    assert "| trial | state | cell | activation | auc | throughput" in md.replace("ONNX /s", "throughput")
    assert md.count("\n| ") == 5 and "ConfigError" in md
    assert (tmp_path / "out" / "results.csv").read_text().count("\n") >= 5
    plots = plot_study(study, tmp_path / "out" / "plots")
    names = {p.name for p in plots}
    assert {"history.png", "pareto.png", "auc_vs_cell.png", "throughput_per_s_vs_activation.png"} <= names
    assert all(p.stat().st_size > 1000 for p in plots) and all(p.stat().st_size > 100 for p in paths)

    from ccreco.models.inference import PeakModel, load_model

    path, trial = export_trial_model(study, tmp_path / "models", tmp_path / "out" / "best.onnx")
    model = load_model(path)
    assert isinstance(model, PeakModel)
    assert model.metadata["train_sample"]["hpo"]["trial"] == trial.number
    assert model.metadata["model_config"]["hidden"] == 6
    assert model.metrics["auc"] == pytest.approx(trial.user_attrs["auc"])
    with pytest.raises(ConfigError, match="not a complete trial"):
        export_trial_model(study, tmp_path / "models", tmp_path / "x.onnx", pick=failed[0]["number"])


def _fake_trial(params: dict, data: str, *, seed: int, hpo_info: dict) -> dict:
    if params["x"] > 0.9:
        raise RuntimeError("x too large")
    return {"auc": 1.0 - (params["x"] - 0.3) ** 2, "n_params": 1}


def test_resume_after_interruption_and_reseeding(tmp_path: Path) -> None:
    space = parse_space({"params": {"x": {"low": 0.0, "high": 1.0}}})
    storage = f"sqlite:///{tmp_path / 's.db'}"
    first = run_study(space, "unused.npz", storage=storage, n_trials=3, sampler="random", seed=5,
                      trial_fn=_fake_trial, show_progress=False)
    # a killed process leaves a RUNNING trial behind
    orphan = first.ask()
    orphan_x = space.suggest(orphan)["x"]
    study = run_study(space, "unused.npz", storage=storage, n_trials=6, sampler="random", seed=5,
                      trial_fn=_fake_trial, show_progress=False)
    rows = trials_table(study)
    assert len(rows) == 3 + 1 + 3
    interrupted = rows[3]
    assert interrupted["state"] == "FAIL" and interrupted["error"] == "interrupted"
    assert rows[4]["x"] == orphan_x  # re-enqueued first
    xs = [r["x"] for r in rows]
    # the resumed sampler is reseeded: no replay of the first trials' values
    assert not set(xs[5:]) & set(xs[:3])
    assert recover_interrupted(study) == 0
    finished = [r for r in rows if r.get("error") != "interrupted"]
    assert len(finished) == 6
    for r in finished:
        assert r["state"] == ("FAIL" if r["x"] > 0.9 else "COMPLETE")
        if r["state"] == "FAIL":
            assert "RuntimeError: x too large" in r["error"]


def test_bad_objectives_and_names(tmp_path: Path) -> None:
    space = parse_space({"params": {"x": [1, 2]}})
    storage = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.raises(ConfigError, match="unknown objective"):
        run_study(space, "d.npz", storage=storage, objectives=["speed"])
    with pytest.raises(ConfigError, match="one or two"):
        run_study(space, "d.npz", storage=storage, objectives=["auc", "f1", "mae"])
    run_study(space, "d.npz", storage=storage, n_trials=1, trial_fn=_fake_trial_x, show_progress=False)
    with pytest.raises(ConfigError, match="resume it with the same objectives"):
        run_study(space, "d.npz", storage=storage, objectives=["f1"], trial_fn=_fake_trial_x)
    with pytest.raises(ConfigError, match="unknown hyperparameter 'hiden'"):
        build_configs("peaks", {"hiden": 3}, 0)
    with pytest.raises(ConfigError, match="unknown hyperparameter 'cell' for clusters"):
        run_study(parse_space({"params": {"cell": ["lstm"]}}), "d.npz", storage=storage, kind="clusters")
    with pytest.raises(ConfigError, match="set by the study"):
        run_study(parse_space({"params": {"seed": [1, 2]}}), "d.npz", storage=storage)
    with pytest.raises(ConfigError, match="not a peaks loss"):
        build_configs("peaks", {"loss": "mse"}, 0)
    model, train = build_configs("peaks", {"dense": 16, "loss": "focal", "learning_rate": 0.01}, 2)
    assert model.dense == (16, 1) and train.loss == "focal" and train.seed == 2
    assert math.isclose(train.learning_rate, 0.01)
    model, train = build_configs("clusters", {"conv": "16x3,8x3", "dense": "32,8"}, 0)
    assert model.conv == ((16, 3), (8, 3)) and model.dense == (32, 8) and train.optimizer == "rmsprop"


def _fake_trial_x(params: dict, data: str, *, seed: int, hpo_info: dict) -> dict:
    return {"auc": float(params["x"]) / 2}


@pytest.mark.filterwarnings("ignore:Port .* is already in use")
def test_existing_scheduler(tmp_path: Path, peak_data: Path) -> None:
    from distributed import LocalCluster

    space = parse_space({"params": {"x": {"low": 0.0, "high": 1.0}}})
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        study = run_study(space, peak_data, storage=f"sqlite:///{tmp_path / 's.db'}", n_trials=5, sampler="random",
                          seed=2, executor="dask", scheduler=cluster.scheduler_address, trial_fn=_shipped_trial,
                          show_progress=False)
    rows = trials_table(study)
    assert len(rows) == 5 and {r["state"] for r in rows} <= {"COMPLETE", "FAIL"}
    for r in rows:
        if r["x"] > 0.9:
            assert r["state"] == "FAIL" and "RuntimeError: x too large" in r["error"]
        else:
            assert r["state"] == "COMPLETE" and r["n_windows"] == 1500  # the scattered sample arrived


def _shipped_trial(params: dict, data: dict, *, seed: int, hpo_info: dict) -> dict:
    out = _fake_trial(params, "", seed=seed, hpo_info=hpo_info)
    out["n_windows"] = int(data["windows"].shape[0])
    return out
