"""The ``loss`` training option: validation, focal/BCE equivalence, tiny trainings, metadata."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ccreco.errors import ConfigError  # noqa: E402
from ccreco.models.config import (  # noqa: E402
    CLUSTER_TRAIN,
    PEAK_PRESETS,
    PEAK_TRAIN,
    ClusterModelConfig,
    PeakModelConfig,
    TrainConfig,
    with_overrides,
)
from ccreco.models.train_clusters import train_cluster_model  # noqa: E402
from ccreco.models.train_peaks import train_peak_model  # noqa: E402
from ccreco.models.training import BinaryFocalLoss, loss_function  # noqa: E402

SMALL = PeakModelConfig(hidden=8, dense=(8, 1), dropout=0.0)
SMALL_CNN = ClusterModelConfig(conv=((4, 4),), dense=(8,))


def _windows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.int64)
    x = rng.normal(0.0, 1.0, (n, 15, 1)).astype(np.float32)
    x[y == 1, 5, 0] += 6.0
    return x, y


def _clusters(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    n_true = rng.poisson(12, n)
    return [np.sort(rng.uniform(0, 1500, k)) for k in n_true], n_true


def test_defaults_and_validation() -> None:
    assert PEAK_TRAIN.resolved_loss("peaks") == "bce" and CLUSTER_TRAIN.resolved_loss("clusters") == "mse"
    assert TrainConfig().resolved_loss("peaks") == "bce" and TrainConfig().resolved_loss("clusters") == "mse"
    assert (TrainConfig().focal_gamma, TrainConfig().focal_alpha, TrainConfig().huber_delta) == (2.0, None, 1.0)
    with pytest.raises(ConfigError, match="loss must be one of"):
        TrainConfig(loss="hinge")
    with pytest.raises(ConfigError, match="focal_gamma"):
        TrainConfig(focal_gamma=-1.0)
    with pytest.raises(ConfigError, match="focal_alpha"):
        TrainConfig(focal_alpha=1.0)
    with pytest.raises(ConfigError, match="huber_delta"):
        TrainConfig(huber_delta=0.0)
    with pytest.raises(ConfigError, match="loss 'mse' is not a peaks loss"):
        TrainConfig(loss="mse").resolved_loss("peaks")
    with pytest.raises(ConfigError, match="loss 'focal' is not a clusters loss"):
        TrainConfig(loss="focal").resolved_loss("clusters")
    x, y = _windows(50, 0)
    with pytest.raises(ConfigError, match="loss 'huber'"):
        train_peak_model(x, y, SMALL, TrainConfig(epochs=1, loss="huber"))


def test_set_option_converts_loss_fields() -> None:
    _, train = with_overrides((PEAK_PRESETS["compact"], PEAK_TRAIN),
                              {"loss": "focal", "focal_gamma": "1.5", "focal_alpha": "0.25"})
    assert (train.loss, train.focal_gamma, train.focal_alpha) == ("focal", 1.5, 0.25)
    (train,) = with_overrides((CLUSTER_TRAIN,), {"loss": "huber", "huber_delta": "0.5", "focal_alpha": "none"})
    assert (train.loss, train.huber_delta, train.focal_alpha) == ("huber", 0.5, None)
    with pytest.raises(ConfigError, match="loss"):
        with_overrides((CLUSTER_TRAIN,), {"loss": "l2"})


def test_focal_with_gamma_zero_is_bce() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(257, generator=gen) * 4
    target = (torch.rand(257, generator=gen) < 0.4).float()
    bce = torch.nn.BCEWithLogitsLoss()(logits, target)
    focal0 = loss_function("focal", TrainConfig(loss="focal", focal_gamma=0.0))(logits, target)
    torch.testing.assert_close(focal0, bce, rtol=1e-6, atol=1e-7)
    # gamma > 0 only down-weights (every term <= its BCE term); alpha weights the classes
    assert float(BinaryFocalLoss(2.0)(logits, target)) < float(bce)
    a = 0.25
    weighted = BinaryFocalLoss(0.0, a)(logits, target)
    per = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    expected = (per * (a * target + (1 - a) * (1 - target))).mean()
    torch.testing.assert_close(weighted, expected)
    # numerically stable at extreme logits
    big = BinaryFocalLoss(2.0)(torch.tensor([80.0, -80.0]), torch.tensor([0.0, 1.0]))
    assert torch.isfinite(big)


@pytest.mark.parametrize("loss", ["bce", "focal"])
def test_tiny_peak_training_with_each_loss(loss: str) -> None:
    x, y = _windows(2000, 1)
    res = train_peak_model(x, y, SMALL, TrainConfig(epochs=4, learning_rate=1e-2, batch_size=64, seed=2, loss=loss))
    assert res.train_config.loss == loss and res.full_metadata()["train_config"]["loss"] == loss
    assert res.metrics["auc"] > 0.9
    assert np.isfinite([r["loss"] for r in res.history]).all()


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_tiny_cluster_training_with_each_loss(loss: str) -> None:
    times, n_true = _clusters(300, 3)
    res = train_cluster_model(times, n_true, SMALL_CNN,
                              TrainConfig(optimizer="rmsprop", epochs=2, balance="none", loss=loss))
    assert res.full_metadata()["train_config"]["loss"] == loss
    assert np.isfinite(res.p_val).all() and np.isfinite([r["val_loss"] for r in res.history]).all()


def test_default_loss_is_resolved_in_onnx_metadata(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from ccreco.models.inference import read_metadata

    times, n_true = _clusters(120, 4)
    res = train_cluster_model(times, n_true, SMALL_CNN, TrainConfig(epochs=1, balance="none"))
    assert res.train_config.loss == "mse"
    x, y = _windows(200, 5)
    focal = dataclasses.replace(PEAK_TRAIN, epochs=1, loss="focal", focal_gamma=1.0, focal_alpha=0.3)
    pres = train_peak_model(x, y, SMALL, focal)
    meta = read_metadata(pres.export(tmp_path / "focal.onnx"))
    assert (meta["train_config"]["loss"], meta["train_config"]["focal_gamma"], meta["train_config"]["focal_alpha"]) == (
        "focal", 1.0, 0.3)
    assert read_metadata(res.export(tmp_path / "cnn.onnx"))["train_config"]["loss"] == "mse"
