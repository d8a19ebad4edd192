"""ccreco.reco.stages: one chain, the same numbers from reconstruction, evaluation, PID and features."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ccreco.errors import ConfigError
from ccreco.io import read
from ccreco.kernels import DERIV_CLUSTERIZE, DERIV_PRESETS, deriv_preset
from ccreco.reco import RecoConfig, Reconstructor
from ccreco.reco.stages import deriv_clusters, resolve_extra_inputs, select_peaks


@pytest.fixture(scope="module")
def chunk(simulated_file):
    return read(simulated_file(60, 3))


def test_every_deriv_preset_carries_its_clusterization() -> None:
    assert set(DERIV_CLUSTERIZE) == set(DERIV_PRESETS)
    assert deriv_preset("tb2023-counting")[1].c == 0.40 and deriv_preset("tb2023")[1].c == 0.35
    with pytest.raises(ConfigError, match="tb2023-counting"):
        deriv_preset("nope")


@pytest.mark.parametrize("preset", ["tb2023", "tb2023-counting"])
def test_reco_evaluate_pid_and_features_count_deriv_clusters_alike(chunk, preset: str) -> None:
    from ccreco.analysis.evaluate import get_method
    from ccreco.analysis.features import FeatureConfig, waveform_features
    from ccreco.analysis.pid import PidConfig, _counters

    r = Reconstructor(RecoConfig(deriv_preset=preset))(chunk)
    by_eval = get_method("deriv").clusters({"preset": preset})(chunk)
    by_pid = _counters(PidConfig(methods=("deriv",), method_options={"deriv": {"preset": preset}}))["deriv"](chunk)
    d, c = deriv_preset(preset)
    feats = waveform_features(chunk.waveforms, chunk.sampling_ns, FeatureConfig(deriv=d, cluster=c))
    np.testing.assert_array_equal(r.deriv_n_clusters, by_eval)
    np.testing.assert_array_equal(by_pid, by_eval)
    np.testing.assert_array_equal(feats.per_waveform["n_clusters"], by_eval)
    direct = deriv_clusters(chunk.waveforms, d, c, sampling_ns=chunk.sampling_ns)
    np.testing.assert_array_equal(direct.n_clusters, by_eval)
    np.testing.assert_array_equal(direct.n_peaks, r.deriv_n_peaks)


@pytest.fixture(scope="module")
def cnn_reco() -> Reconstructor:
    """The reconstruction with the shipped CNN as step 2 (the default step 2 is the per-peak model)."""
    from ccreco.models.shipped import DEFAULT_CNN_MODEL, shipped_model

    return Reconstructor(RecoConfig(cluster_model=str(shipped_model(DEFAULT_CNN_MODEL))))


def test_reco_and_the_cnn_method_count_alike(chunk, cnn_reco) -> None:
    from ccreco.analysis.evaluate import get_method

    r = cnn_reco(chunk)
    np.testing.assert_array_equal(r.n_clusters_int, get_method("cnn").clusters({})(chunk))


def test_cluster_model_takes_flat_times_and_offsets(chunk, cnn_reco) -> None:
    reco = cnn_reco
    r = reco(chunk)
    window = chunk.n_samples * chunk.sampling_ns
    flat = reco.cluster_model.predict(r.peak_time_ns, offsets=r.peak_offsets, sampling_ns=chunk.sampling_ns,
                                      window_ns=window, extra={"track_length_cm": r.track_length_cm})
    lists = reco.cluster_model.predict(list(r.peak_times()), sampling_ns=chunk.sampling_ns, window_ns=window,
                                       extra={"track_length_cm": r.track_length_cm})
    np.testing.assert_array_equal(flat, lists)
    with pytest.raises(ValueError, match="offsets"):
        reco.cluster_model.predict(r.peak_time_ns, offsets=r.peak_offsets[:-1], sampling_ns=chunk.sampling_ns,
                                   window_ns=window)


def test_select_peaks_offsets_and_mask() -> None:
    sel = select_peaks(np.array([True, False, True, True]), np.array([5, 9, 2, 7]), np.array([0, 0, 2, 2]), 3)
    assert sel.index.tolist() == [5, 2, 7] and sel.offsets.tolist() == [0, 1, 1, 3]
    assert sel.selected.tolist() == [True, False, True, True]
    assert sel.times_ns(0.5).tolist() == [2.5, 1.0, 3.5]


def test_extra_inputs_fixed_then_truth_then_fallback(chunk) -> None:
    n = len(chunk)
    truth_len = np.asarray(chunk.truth["track_length_cm"], dtype=np.float32)
    got = resolve_extra_inputs(["track_length_cm"], n, truth=chunk.truth, fallback={"track_length_cm": 9.0})
    np.testing.assert_array_equal(got["track_length_cm"], truth_len)
    got = resolve_extra_inputs(["track_length_cm"], n, truth=chunk.truth, fixed={"track_length_cm": 1.5})
    assert np.all(got["track_length_cm"] == 1.5)
    got = resolve_extra_inputs(["track_length_cm"], n, truth=None, fallback={"track_length_cm": 0.8})
    assert np.all(got["track_length_cm"] == np.float32(0.8))
    with pytest.raises(ConfigError, match="angle_deg.*give it"):
        resolve_extra_inputs(["angle_deg"], n, truth=dataclasses.replace(chunk, truth=None).truth, hint="give it")
    assert resolve_extra_inputs([], n) is None
