"""Training loops of both steps on small in-memory samples."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ccreco.errors import ConfigError, ModelError  # noqa: E402
from ccreco.models.config import PeakModelConfig, TrainConfig  # noqa: E402
from ccreco.models.model import build_peak_model  # noqa: E402
from ccreco.models.train_clusters import train_cluster_model  # noqa: E402
from ccreco.models.train_peaks import balance_indices, train_peak_model  # noqa: E402
from ccreco.models.training import load_checkpoint, save_checkpoint  # noqa: E402

SMALL = PeakModelConfig(hidden=8, dense=(8, 1), dropout=0.0)


def _windows(n: int, seed: int, frac: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < frac).astype(np.int64)
    x = rng.normal(0.0, 1.0, (n, 15, 1)).astype(np.float32) + rng.uniform(-5, 30, (n, 1, 1)).astype(np.float32)
    x[y == 1, 5, 0] += 8.0
    return x, y


def test_peak_training_learns_and_records_history(tmp_path: Path) -> None:
    x, y = _windows(3000, 0)
    res = train_peak_model(x, y, SMALL, TrainConfig(epochs=6, learning_rate=1e-2, batch_size=64, seed=3))
    assert res.metrics["auc"] > 0.95 and res.metrics["f1"] > 0.85
    assert len(res.history) == 6
    keys = set(res.history[0])
    for m in ("accuracy", "precision", "recall", "f1", "efficiency_purity", "auc"):
        assert {f"train_{m}", f"val_{m}"} <= keys
    assert {"epoch", "loss", "val_loss", "seconds"} <= keys
    best = min(res.history, key=lambda r: r["val_loss"])
    assert res.fit.best_epoch == best["epoch"]
    # natural mix: all validation signal + unseen noise in the full sample's proportion (4:1)
    assert res.metrics["natural_noise_per_signal"] == pytest.approx(np.sum(y == 0) / np.sum(y == 1), rel=0.02)
    assert res.metrics["natural_precision"] <= res.metrics["precision"]
    assert res.metrics["natural_best_threshold"] in (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98)
    s = res.sample
    assert s["n_signal_train"] + s["n_signal_validation"] == s["n_signal_in"]  # balanced: all signal kept
    assert s["n_used"] == 2 * s["n_signal_in"]
    assert s["n_validation"] == round(0.3 * s["n_used"])
    csv_path, json_path = res.save_history(tmp_path)
    assert csv_path.read_text().count("\n") == 7
    assert json.loads(json_path.read_text())["best_epoch"] == res.fit.best_epoch


def test_training_is_seeded() -> None:
    x, y = _windows(800, 1)
    cfg = TrainConfig(epochs=2, seed=11)
    a = train_peak_model(x, y, SMALL, cfg)
    b = train_peak_model(x, y, SMALL, cfg)
    c = train_peak_model(x, y, SMALL, TrainConfig(epochs=2, seed=12))
    assert [r["val_loss"] for r in a.history] == [r["val_loss"] for r in b.history]
    np.testing.assert_array_equal(a.p_val, b.p_val)
    assert a.history[-1]["val_loss"] != c.history[-1]["val_loss"]


def test_early_stopping_keeps_best_epoch(tmp_path: Path) -> None:
    x, y = _windows(600, 2)
    # a huge learning rate makes the validation loss bounce; patience 1 stops at the first rise
    res = train_peak_model(x, y, SMALL, TrainConfig(epochs=30, patience=1, learning_rate=0.5, seed=0),
                           checkpoint=tmp_path / "best.pt")
    assert len(res.history) < 30 and res.fit.stopped_early
    assert res.fit.best_epoch == len(res.history) - 1
    assert res.metrics["loss"] == pytest.approx(min(r["val_loss"] for r in res.history))


def test_checkpoint_round_trip_weights_only(tmp_path: Path) -> None:
    a, _ = build_peak_model(SMALL)
    b, _ = build_peak_model(SMALL)
    path = tmp_path / "w.pt"
    save_checkpoint(a, path)
    load_checkpoint(b, path)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    other, _ = build_peak_model(PeakModelConfig(hidden=4))
    with pytest.raises(ModelError, match="w.pt"):
        load_checkpoint(other, path)


def test_balancing() -> None:
    y = np.array([1] * 100 + [0] * 1000)
    rng = np.random.default_rng(0)
    idx = balance_indices(y, TrainConfig(noise_per_signal=2.0), rng)
    assert (y[idx] == 1).sum() == 100 and (y[idx] == 0).sum() == 200
    idx = balance_indices(y, TrainConfig(balance="none", max_samples=50), rng)
    assert idx.size == 50 and np.unique(idx).size == 50
    y_rare_noise = np.array([1] * 500 + [0] * 20)
    idx = balance_indices(y_rare_noise, TrainConfig(), rng)
    assert (y_rare_noise[idx] == 1).sum() == 20


def test_wrong_window_length_is_refused() -> None:
    x, y = _windows(100, 0)
    with pytest.raises(ConfigError, match=r"\(n, 13, 1\).*window_left=4"):
        train_peak_model(x, y, PeakModelConfig(window_left=4, window_right=8), TrainConfig(epochs=1))
    with pytest.raises(ConfigError, match="99 labels"):
        train_peak_model(x, y[:99], SMALL, TrainConfig(epochs=1))


def test_cluster_training_beats_the_mean(tmp_path: Path) -> None:
    from ccreco.models.config import ClusterModelConfig

    rng = np.random.default_rng(5)
    n_true = rng.poisson(14, 1500)
    times = [np.sort(rng.uniform(0, 1500, k)) for k in n_true]
    cfg = ClusterModelConfig(conv=((8, 4), (8, 4)), dense=(16,), encoding="counts")
    res = train_cluster_model(times, n_true, cfg, TrainConfig(optimizer="rmsprop", batch_size=64, epochs=15,
                                                              learning_rate=3e-3, balance="none", seed=1))
    spread = float(np.std(n_true))
    assert res.metrics["rms"] < 0.5 * spread
    assert {"train_mae", "val_mae", "val_rms_over_sqrt_n"} <= set(res.history[0])
    meta = res.full_metadata()
    assert meta["encoding"]["kind"] == "counts" and meta["metrics"]["best_epoch"] == res.fit.best_epoch


def test_cluster_training_with_extra_input() -> None:
    from ccreco.models.config import ClusterModelConfig

    rng = np.random.default_rng(6)
    length = rng.uniform(0.2, 1.6, 400)
    n_true = rng.poisson(12 * length)
    times = [rng.uniform(0, 2000, k) for k in n_true]
    cfg = ClusterModelConfig(conv=((4, 4),), dense=(8,), extra=("track_length_cm",))
    res = train_cluster_model(times, n_true, cfg, TrainConfig(optimizer="rmsprop", epochs=2, balance="none"),
                              extra={"track_length_cm": length})
    assert res.info.input_names == ("encoded", "extra")
    with pytest.raises(ConfigError, match="track_length_cm"):
        train_cluster_model(times, n_true, cfg, TrainConfig(epochs=1))


def test_poisson_cnn_with_calibration_line(tmp_path: Path) -> None:
    """output='exp' + poisson loss: a positive rate; the stored calibration line is inverted."""
    from ccreco.models.config import ClusterModelConfig
    from ccreco.models.inference import ClusterModel

    rng = np.random.default_rng(8)
    n_true = rng.poisson(14, 1200)
    times = [np.sort(rng.uniform(0, 1500, k)) for k in n_true]
    cfg = ClusterModelConfig(conv=((8, 4), (8, 4)), dense=(16,), encoding="counts", output="exp")
    train = TrainConfig(optimizer="adam", batch_size=64, epochs=12, learning_rate=3e-3, balance="none", seed=2,
                        loss="poisson")
    res = train_cluster_model(times, n_true, cfg, train, calibrate=True)
    assert np.all(res.p_val > 0)
    assert res.metrics["rms"] < 0.6 * float(np.std(n_true))
    cal = res.metadata["calibration"]
    assert 0.3 < cal["slope"] < 1.5 and cal["n_waveforms"] == res.y_val.size
    path = res.export(tmp_path / "cnn_poisson.onnx")
    model = ClusterModel(path)
    raw = model.predict(times[:50], sampling_ns=1.0, window_ns=2000.0)
    got = model.predict(times[:50], sampling_ns=1.0, window_ns=2000.0, calibrate=True)
    np.testing.assert_allclose(got, (raw - cal["intercept"]) / cal["slope"], rtol=1e-5)
    with pytest.raises(ConfigError, match="poisson"):
        train_cluster_model(times, n_true, ClusterModelConfig(conv=((4, 4),), dense=(4,)), train)
    with pytest.raises(ConfigError, match="output"):
        ClusterModelConfig(output="log")


def test_plots_are_written(tmp_path: Path) -> None:
    pytest.importorskip("mplhep")
    from ccreco.models.plots import plot_training

    x, y = _windows(400, 3)
    res = train_peak_model(x, y, SMALL, TrainConfig(epochs=2))
    files = plot_training(res, tmp_path)
    assert {f.name for f in files} >= {"peaks_loss.png", "peaks_auc.png", "peaks_roc.png"}
    rng = np.random.default_rng(0)
    n_true = rng.poisson(10, 200)
    from ccreco.models.config import ClusterModelConfig

    cres = train_cluster_model([rng.uniform(0, 2000, k) for k in n_true], n_true,
                               ClusterModelConfig(conv=((4, 4),), dense=(4,)), TrainConfig(epochs=2, balance="none"))
    files = plot_training(cres, tmp_path)
    assert (tmp_path / "clusters_npred_vs_ntrue.png") in files and (tmp_path / "clusters_mae.png").stat().st_size > 0


def test_auto_threshold_is_stored_and_reported() -> None:
    rng = np.random.default_rng(8)
    y = (rng.random(3000) < 0.15).astype(np.int64)
    x = rng.normal(0.0, 1.0, (3000, 15, 1)).astype(np.float32)
    x[y == 1, 5, 0] += 3.0  # overlapping classes: the best natural-mix cut is above 0.5
    cfg = TrainConfig(epochs=5, batch_size=32, learning_rate=1e-2, seed=2)
    res = train_peak_model(x, y, SMALL, dataclasses.replace(cfg, auto_threshold=True))
    thr = res.metrics["natural_best_threshold"]
    assert res.metrics["threshold"] == thr == res.metadata["threshold"] > 0.5
    assert res.metrics["natural_f1"] == res.metrics["natural_best_f1"]
    fixed = train_peak_model(x, y, SMALL, cfg)
    assert fixed.metadata["threshold"] == fixed.metrics["threshold"] == 0.5
    assert fixed.metrics["natural_best_f1"] == res.metrics["natural_best_f1"]
