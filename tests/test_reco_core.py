"""ccreco.reco.core: the two-step reconstruction of in-memory chunks with the shipped models."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest

from ccreco.errors import ConfigError, ModelError
from ccreco.io import read
from ccreco.reco import RecoConfig, Reconstructor, reconstruct
from ccreco.reco.hists import book, fill


@pytest.fixture(scope="module")
def sim_file(simulated_file):
    return simulated_file(200, 11)


@pytest.fixture(scope="module")
def reco():
    return Reconstructor()


def test_result_is_consistent_per_waveform(sim_file, reco):
    chunk = read(sim_file)
    r = reconstruct(chunk, reconstructor=reco)
    n = len(chunk)
    assert len(r) == n and r.has_truth
    assert r.score.size == r.n_candidates.sum()
    assert np.array_equal(np.diff(r.peak_offsets), r.n_peaks)
    assert r.n_peaks.sum() == np.count_nonzero(r.score >= reco.threshold)
    assert r.peak_time_ns.size == r.peak_amplitude_mv.size == r.n_peaks.sum()
    # peaks lie in the acquisition window and are sorted within each waveform
    assert np.all((r.peak_time_ns >= 0) & (r.peak_time_ns < chunk.n_samples * chunk.sampling_ns))
    for w in range(0, n, 37):
        t = r.peak_time_ns[r.peak_offsets[w]:r.peak_offsets[w + 1]]
        assert np.all(np.diff(t) > 0)
    # detected peaks are selected candidates: positive amplitude above the candidate cut
    assert np.all(r.peak_amplitude_mv > 0)
    np.testing.assert_allclose(r.dndx, r.n_clusters / r.track_length_cm, rtol=1e-6)
    assert r.length_source == "truth"
    np.testing.assert_array_equal(r.n_clusters_true, np.asarray(chunk.truth["n_clusters"]))
    np.testing.assert_array_equal(r.n_clusters_int, np.rint(np.maximum(r.n_clusters, 0)))
    assert r.deriv_n_peaks is not None and r.deriv_n_clusters is not None
    # the shipped chain's level on the table cluster sizes of this preset: +12.8 % on 2000
    # waveforms (model card of perpeak_random_wide, "Known limits"); a broken chain is far off
    bias = (r.n_clusters - r.n_clusters_true).mean()
    assert 0.0 < bias < 0.2 * r.n_clusters_true.mean()


def test_no_truth_uses_configured_geometry(sim_file, reco):
    chunk = dataclasses.replace(read(sim_file), truth=None)
    cfg = RecoConfig(angle_deg=45.0, cell_length_cm=0.8, deriv=False)
    r = Reconstructor(cfg)(chunk)
    assert r.length_source == "config" and not r.has_truth and r.deriv_n_peaks is None
    np.testing.assert_allclose(r.track_length_cm, 0.8 / np.cos(np.deg2rad(45.0)), rtol=1e-6)


def test_hists_are_filled_once_per_waveform(sim_file, reco):
    r = reco(read(sim_file))
    h = fill(book(True), r)
    assert h["n_clusters"].sum().value == len(r)
    assert h["peak_time"].sum().value == r.n_peaks.sum()
    # every window the LSTM scored, once; those its stored pre-selection passed over are not scores
    assert r.scored is not None and 0 < np.count_nonzero(r.scored) < r.score.size
    assert np.all(r.score[~r.scored] == 0)
    assert h["lstm_score"].sum().value == np.count_nonzero(r.scored)
    assert h["lstm_score_signal"].sum().value + h["lstm_score_noise"].sum().value == np.count_nonzero(r.scored)
    assert h["n_clusters_vs_true"].sum().value == len(r)
    assert "residual" not in book(False)


def test_model_mismatch_is_refused(sim_file, reco):
    chunk = read(sim_file)
    with pytest.raises(ModelError, match="0.5 ns") as err:
        reco.check(0.5, chunk.n_samples, "x.root")
    assert "lstm" in str(err.value) and "x.root" in str(err.value)
    from ccreco.models.shipped import DEFAULT_CNN_MODEL, shipped_model

    # a CNN encodes the acquisition window: another window length is refused
    cnn = Reconstructor(RecoConfig(threads=1, cluster_model=str(shipped_model(DEFAULT_CNN_MODEL))))
    with pytest.raises(ModelError, match="1000.0 ns"):
        cnn.check(1.0, 1000)
    half = dataclasses.replace(chunk, sampling_ns=0.5)
    with pytest.raises(ModelError):
        reconstruct(half, reconstructor=reco)


def test_pickled_reconstructor_gives_identical_results(sim_file, reco):
    chunk = read(sim_file)
    copy = pickle.loads(pickle.dumps(reco))
    assert copy.peak_model._session is None  # sessions are re-created lazily on the worker
    a, b = reco(chunk), copy(chunk)
    np.testing.assert_array_equal(a.n_clusters, b.n_clusters)
    np.testing.assert_array_equal(a.peak_time_ns, b.peak_time_ns)


def test_config_from_strings_and_errors():
    cfg = RecoConfig.from_strings({"threshold": "0.6", "deriv": "false", "angle_deg": "30", "threads": "2"})
    assert cfg.threshold == 0.6 and cfg.deriv is False and cfg.angle_deg == 30.0 and cfg.threads == 2
    with pytest.raises(ConfigError, match="closest"):
        RecoConfig.from_strings({"treshold": "0.5"})
    with pytest.raises(ConfigError, match="threshold"):
        RecoConfig(threshold=1.5)
    with pytest.raises(ConfigError, match="deriv_preset"):
        RecoConfig(deriv_preset="nope")
    with pytest.raises(ModelError, match="not found"):
        Reconstructor(RecoConfig(peak_model="/nonexistent/model.onnx"))


def test_step2_model_is_opened_by_the_one_kind_dispatch(monkeypatch):
    import ccreco.models.inference as inference
    from ccreco.models.shipped import DEFAULT_CLUSTER_MODEL, DEFAULT_PEAK_MODEL, shipped_model

    calls = []
    real = inference.load_model

    def spy(path, **kwargs):
        calls.append((str(path), kwargs.get("kinds")))
        return real(path, **kwargs)

    monkeypatch.setattr(inference, "load_model", spy)
    r = Reconstructor(RecoConfig(threads=1))
    assert calls == [(str(shipped_model(DEFAULT_CLUSTER_MODEL)), ("clusters", "peak_clusters"))]
    assert isinstance(r.cluster_model, inference.PeakClusterModel)  # the default step 2 is per-peak
    # a model of a kind step 2 cannot use is refused by the class it was asked for, naming both kinds
    peaks = shipped_model(DEFAULT_PEAK_MODEL)
    with pytest.raises(ModelError, match="a 'peaks' model where a 'clusters' model is needed") as err:
        real(peaks, kinds=("clusters", "peak_clusters"))
    assert str(peaks) in str(err.value)
    with pytest.raises(ModelError, match="a 'peaks' model where a 'clusters' model is needed"):
        Reconstructor(RecoConfig(cluster_model=str(peaks)))
    assert isinstance(real(peaks), inference.PeakModel)  # without kinds: whatever the file is


def test_step2_level_divides_the_count_and_dndx(sim_file, reco):
    """``step2_level`` (the level measured on a tuned simulation) divides the step-2 count and
    dN/dx, nothing else; it is recorded in the provenance and refused outside [0.5, 2]."""
    chunk = read(sim_file)
    plain = reco(chunk)
    corrected_reco = Reconstructor(RecoConfig(threads=1, step2_level=1.25))
    corrected = corrected_reco(chunk)
    np.testing.assert_allclose(corrected.n_clusters, plain.n_clusters / 1.25, rtol=1e-6)
    np.testing.assert_allclose(corrected.dndx, plain.dndx / 1.25, rtol=1e-6)
    np.testing.assert_array_equal(corrected.n_clusters_int, np.rint(np.maximum(corrected.n_clusters, 0)))
    np.testing.assert_array_equal(corrected.peak_time_ns, plain.peak_time_ns)
    np.testing.assert_array_equal(corrected.deriv_n_clusters, plain.deriv_n_clusters)
    assert corrected_reco.provenance()["config"]["step2_level"] == 1.25
    for bad in (0.0, 0.3, 3.0):
        with pytest.raises(ConfigError, match="step2_level"):
            RecoConfig(step2_level=bad)
    assert RecoConfig.from_strings({"step2_level": "1.061"}).step2_level == 1.061
