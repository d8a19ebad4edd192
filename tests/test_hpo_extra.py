"""HPO of step-2 CNNs with extra scalar inputs (``extra = track_length_cm``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("optuna")

from ccreco.errors import ConfigError  # noqa: E402
from ccreco.hpo.space import parse_space  # noqa: E402
from ccreco.hpo.trial import run_cluster_trial  # noqa: E402

PARAMS = {"conv": "4x8", "dense": 4, "epochs": 1, "batch_size": 32, "extra": "track_length_cm"}


def test_space_lists_the_extra_inputs() -> None:
    space = parse_space({"params": {"extra": ["", "track_length_cm", "track_length_cm,angle_deg"], "dense": 8}})
    assert space.extra_inputs() == ("track_length_cm", "angle_deg")
    assert parse_space({"params": {"dense": 8}}).extra_inputs() == ()


def _sample(with_extra: bool) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    n = 64
    length = rng.uniform(0.1, 1.2, n).astype(np.float32)
    counts = rng.poisson(12 * length + 1).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    times = np.concatenate([np.sort(rng.uniform(0, 1500, c)) for c in counts])
    out = {"times": times, "offsets": offsets, "n_true": counts.astype(np.float32), "sampling_ns": np.float64(1.0)}
    if with_extra:
        out["extra_track_length_cm"] = length
    return out


def test_cluster_trial_with_track_length(tmp_path: Path) -> None:
    res = run_cluster_trial(PARAMS, _sample(True), seed=1)
    assert np.isfinite(res["mae"]) and res["throughput_per_s"] > 0
    path = tmp_path / "m.onnx"
    path.write_bytes(res["_onnx"])
    from ccreco.models.inference import ClusterModel

    model = ClusterModel(path)
    assert model.extra_inputs == ["track_length_cm"]
    scores = model.predict_encoded(np.zeros((2, 1024, 1), np.float32), extra={"track_length_cm": np.ones(2)})
    assert scores.shape == (2,)


def test_cluster_trial_names_a_missing_extra() -> None:
    with pytest.raises(ConfigError, match="track_length_cm not in the prepared sample"):
        run_cluster_trial(PARAMS, _sample(False), seed=1)


def test_prepare_clusters_stores_the_extra_inputs(tmp_path: Path) -> None:
    from ccreco.hpo.data import prepare_clusters
    from ccreco.sim import SimConfig, simulate_to_file

    sim = tmp_path / "sim.root"
    simulate_to_file(sim, SimConfig.from_preset("tb2023-untuned"), 12, 5, progress=False)
    path = prepare_clusters(sim, tmp_path / "sample.npz", extra=("track_length_cm",))
    with np.load(path, allow_pickle=False) as z:
        assert z["extra_track_length_cm"].shape == z["n_true"].shape == (12,)
        assert np.all(z["extra_track_length_cm"] > 0)
    # a sample prepared without the extra input is another request: refused, not silently reused
    with pytest.raises(ConfigError, match="was prepared from"):
        prepare_clusters(sim, path)
    with pytest.raises(Exception, match="no_such_field"):
        prepare_clusters(sim, tmp_path / "other.npz", extra=("no_such_field",))
