"""Model configurations, presets and the torch modules built from them."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ccreco.constants import CNN_BINS, WINDOW_LEFT, WINDOW_RIGHT  # noqa: E402
from ccreco.errors import ConfigError  # noqa: E402
from ccreco.models.config import (  # noqa: E402
    CLUSTER_PRESETS,
    CLUSTER_TRAIN,
    PEAK_PRESETS,
    PEAK_TRAIN,
    ClusterModelConfig,
    PeakModelConfig,
    TrainConfig,
    from_dict,
    to_json,
    with_overrides,
)
from ccreco.models.model import build_cluster_model, build_peak_model, count_parameters  # noqa: E402


def test_compact_preset_has_published_parameter_count() -> None:
    model, _ = build_peak_model(PEAK_PRESETS["compact"])
    assert count_parameters(model) == 6531


def test_anwar2024_topology() -> None:
    cfg = PEAK_PRESETS["anwar2024"]
    assert (cfg.cell, cfg.hidden, cfg.dense, cfg.activation, cfg.dropout) == ("lstm", 128, (96, 1), "relu", 0.1)
    model, _ = build_peak_model(cfg)
    # Keras count: LSTM 4*(128*(1+128)+128) + 128*96+96 + 96+1 + 1+1
    assert count_parameters(model) == 66560 + 12384 + 97 + 2


def test_window_shape_comes_from_constants() -> None:
    for cfg in PEAK_PRESETS.values():
        assert cfg.input_shape == (WINDOW_LEFT + WINDOW_RIGHT + 1, 1)
        _, info = build_peak_model(cfg)
        assert info.input_shapes == (cfg.input_shape,)
    assert ClusterModelConfig().input_shape == (CNN_BINS, 1)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("activation", ["relu", "selu", "sigmoid", "tanh"])
def test_peak_model_variants_give_probabilities(cell: str, activation: str) -> None:
    cfg = PeakModelConfig(cell=cell, hidden=8, layers=2, dense=(6, 3), activation=activation,
                          window_left=3, window_right=4)
    model, info = build_peak_model(cfg)
    out = model.eval()(*info.example_inputs(5))
    assert out.shape == (5, 1)
    assert torch.all((out >= 0) & (out <= 1))


@pytest.mark.parametrize("name", sorted(CLUSTER_PRESETS))
def test_cluster_presets_build(name: str) -> None:
    model, info = build_cluster_model(CLUSTER_PRESETS[name])
    assert model.eval()(*info.example_inputs(3)).shape == (3, 1)


def test_cluster_model_with_extra_input() -> None:
    cfg = dataclasses.replace(CLUSTER_PRESETS["ihep"], extra=("track_length_cm", "angle_deg"))
    model, info = build_cluster_model(cfg)
    assert info.input_names == ("encoded", "extra")
    assert info.input_shapes == ((CNN_BINS, 1), (2,))
    assert model.eval()(*info.example_inputs(4)).shape == (4, 1)


@pytest.mark.parametrize(
    "kwargs",
    [{"cell": "rnn"}, {"activation": "gelu"}, {"hidden": 0}, {"dropout": 1.0}, {"dense": (4, -1)}, {"window_left": -1}],
)
def test_bad_peak_config_is_rejected(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        PeakModelConfig(**kwargs)


def test_bad_cluster_and_train_configs_are_rejected() -> None:
    with pytest.raises(ConfigError, match="reduce"):
        ClusterModelConfig(bins=8, conv=((4, 4), (4, 4)))
    with pytest.raises(ConfigError, match="encoding"):
        ClusterModelConfig(encoding="gaussian")
    with pytest.raises(ConfigError, match="validation_fraction"):
        TrainConfig(validation_fraction=1.0)
    with pytest.raises(ConfigError, match="optimizer"):
        TrainConfig(optimizer="lbfgs")


def test_training_defaults() -> None:
    assert (PEAK_TRAIN.optimizer, PEAK_TRAIN.batch_size, PEAK_TRAIN.epochs,
            PEAK_TRAIN.validation_fraction) == ("adam", 150, 50, 0.3)
    assert (CLUSTER_TRAIN.optimizer, CLUSTER_TRAIN.batch_size, CLUSTER_TRAIN.epochs) == ("rmsprop", 250, 200)


def test_overrides_convert_by_field_type() -> None:
    model, train = with_overrides(
        (PEAK_PRESETS["compact"], PEAK_TRAIN),
        {"cell": "gru", "dense": "16,1", "dropout": "0.2", "epochs": "3", "max_samples": "none",
         "activation_last": "yes"},
    )
    assert (model.cell, model.dense, model.dropout, model.activation_last) == ("gru", (16, 1), 0.2, True)
    assert (train.epochs, train.max_samples) == (3, None)
    (cnn,) = with_overrides((CLUSTER_PRESETS["ihep"],), {"conv": "8x3,4x3", "extra": "track_length_cm"})
    assert cnn.conv == ((8, 3), (4, 3)) and cnn.extra == ("track_length_cm",)


def test_overrides_report_unknown_key_and_bad_value() -> None:
    with pytest.raises(ConfigError, match="unknown key 'hiden'.*hidden"):
        with_overrides((PEAK_PRESETS["compact"], PEAK_TRAIN), {"hiden": "3"})
    with pytest.raises(ConfigError, match="epochs"):
        with_overrides((PEAK_PRESETS["compact"], PEAK_TRAIN), {"epochs": "many"})


def test_json_round_trip() -> None:
    for cfg in [*PEAK_PRESETS.values(), *CLUSTER_PRESETS.values(), PEAK_TRAIN]:
        assert from_dict(type(cfg), json.loads(to_json(cfg))) == cfg


def test_frozen_lstm_hidden_bias_stays_zero_in_training() -> None:
    model, info = build_peak_model(PeakModelConfig(hidden=4, dense=(3, 1), window_left=2, window_right=2))
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1)
    loss = model.logits(*info.example_inputs(8)).sum()
    loss.backward()
    opt.step()
    assert np.all(model.rnn.bias_hh_l0.detach().numpy() == 0)
