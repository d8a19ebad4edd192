from __future__ import annotations

from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from ccreco.errors import ConfigError  # noqa: E402
from ccreco.hpo.space import load_space, parse_space  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "hpo_space_peaks.toml"


def test_example_space_samples_in_range() -> None:
    space = load_space(EXAMPLE)
    kinds = {p.name: p.kind for p in space.params}
    assert kinds["cell"] == "categorical" and kinds["hidden"] == "int"
    assert kinds["learning_rate"] == "float" and kinds["epochs"] == "fixed"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(5):
        values = space.suggest(study.ask())
        assert values["cell"] in ("lstm", "gru")
        assert 16 <= values["hidden"] <= 64
        assert 1e-4 <= values["learning_rate"] <= 1e-2
        assert values["batch_size"] in (64, 128, 192, 256)
        assert values["epochs"] == 8 and values["loss"] in ("bce", "focal")


def test_grid() -> None:
    space = parse_space({"params": {"a": [1, 2], "b": {"low": 1, "high": 3}, "c": 5}})
    assert space.grid() == {"a": [1, 2], "b": [1, 2, 3]}


@pytest.mark.parametrize(
    "params",
    [{"x": {"low": 2, "high": 1}}, {"x": {"low": 0.0, "high": 1.0, "log": True}}, {"x": []}, {"x": {"lo": 1}}],
)
def test_bad_space(params: dict) -> None:
    with pytest.raises(ConfigError):
        parse_space({"params": params})


def test_no_params() -> None:
    with pytest.raises(ConfigError):
        parse_space({})


@pytest.mark.parametrize("kind", ["peaks", "clusters"])
def test_example_spaces_give_valid_configs(kind: str) -> None:
    from ccreco.hpo.trial import build_configs

    space = load_space(EXAMPLE.with_name(f"hpo_space_{kind}.toml"))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2))
    for _ in range(10):
        model, train = build_configs(kind, space.suggest(study.ask()), seed=1)
        assert train.seed == 1 and train.resolved_loss(kind) == train.loss
