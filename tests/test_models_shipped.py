"""Models shipped in ccreco/models/data/: each loads, is self-consistent and has a model card."""

from __future__ import annotations

import numpy as np
import pytest

from ccreco.errors import ModelError
from ccreco.models.inference import PeakModel, load_model
from ccreco.models.shipped import DATA_DIR, available_models, shipped_model


@pytest.mark.parametrize("name", available_models())
def test_shipped_model_loads_with_card(name: str) -> None:
    model = load_model(shipped_model(name))
    meta = model.metadata
    assert not (DATA_DIR / f"{name}.onnx.data").exists()
    card = (DATA_DIR / f"{name}.md").read_text()
    if meta["kind"] == "run_level":  # a fit on blocks of simulated runs, no epochs
        assert meta["train_sample"]["blocks"] >= 100 and set(meta["metrics"]) == {"train", "validation"}
        assert name in card and "before and after the correction" in card
        return
    assert meta["train_sample"]["n_waveforms"] > 0 and meta["metrics"]["best_epoch"] >= 1
    assert name in card and "Validation metrics" in card


def test_shipped_peak_model_separates_a_pulse_from_noise() -> None:
    if "lstm_compact_tb2023_untuned" not in available_models():
        pytest.skip("no shipped LSTM")
    model = PeakModel(shipped_model("lstm_compact_tb2023_untuned"))
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1.58, (200, model.window_length)).astype(np.float32)
    t = np.arange(model.window_length, dtype=np.float32) - model.window_left
    pulse = np.where(t >= -2.5, 30.0 * np.exp(-np.maximum(t + 2.5, 0) / 5.0) * (1 - np.exp(-(t + 2.5) / 1.0)), 0.0)
    signal = (noise + pulse / pulse.max() * 30.0).astype(np.float32)
    p_noise = model.predict(noise, sampling_ns=model.sampling_ns)
    p_signal = model.predict(signal, sampling_ns=model.sampling_ns)
    assert np.median(p_signal) > model.threshold > np.median(p_noise)


def test_unknown_shipped_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ModelError, match="no shipped model 'nope'"):
        shipped_model("nope")


def test_default_models_are_shipped_and_the_cnn_takes_the_path_length() -> None:
    from ccreco.models.inference import ClusterModel
    from ccreco.models.shipped import DEFAULT_CNN_MODEL, DEFAULT_PEAK_MODEL

    assert {DEFAULT_PEAK_MODEL, DEFAULT_CNN_MODEL} <= set(available_models())
    cnn = ClusterModel(shipped_model(DEFAULT_CNN_MODEL))
    # the reconstruction supplies this name (truth, else cell length / cos(angle))
    assert cnn.extra_inputs == ["track_length_cm"]
    perpendicular = cnn.predict([np.arange(20.0, 300.0, 20.0)], sampling_ns=1.0, window_ns=2000.0,
                                extra={"track_length_cm": [0.8]})
    tilted = cnn.predict([np.arange(20.0, 300.0, 20.0)], sampling_ns=1.0, window_ns=2000.0,
                         extra={"track_length_cm": [1.6]})
    assert tilted[0] > perpendicular[0] > 0  # same peaks, longer path: more clusters
