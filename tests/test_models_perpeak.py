"""The per-peak step-2 model: inputs, truth targets, training, export, inference, evaluation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ccreco.errors import ConfigError  # noqa: E402
from ccreco.kernels import CandidateConfig, candidate_windows  # noqa: E402
from ccreco.models.config import PeakClusterConfig  # noqa: E402
from ccreco.models.dataset import peak_cluster_sample, peak_cluster_targets  # noqa: E402
from ccreco.models.encoding import (  # noqa: E402
    CONTEXT_CHANNELS,
    WAVEFORM_CHANNELS,
    context_channels,
    peak_context,
    peak_features,
)
from ccreco.models.inference import step1_hint  # noqa: E402
from ccreco.sim import SimConfig, simulate, simulate_to_file  # noqa: E402


@pytest.fixture(scope="module")
def sim_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("perpeak") / "sim.root"
    simulate_to_file(path, SimConfig.from_preset("tb2023-untuned"), 300, seed=5, progress=False)
    return path


def test_peak_features_ignore_baseline_and_context_edges() -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(0, 1, (5, 15)).astype(np.float32)
    w[:, 5] += 10
    t = np.array([10.0, 20.0, 35.0, 5.0, 50.0])
    s = np.array([0.9, 0.1, 0.7, 0.2, 0.95])
    a = peak_features(w, t, s, 5)
    b = peak_features(w + 3.0, t, s, 5)
    np.testing.assert_allclose(a, b, atol=1e-5)
    x = peak_context(a, np.array([0, 3, 3, 5]), 2)  # waveforms of 3, 0 and 2 candidates
    assert x.shape == (5, 5, len(CONTEXT_CHANNELS))
    assert x[0, :, 0].tolist() == [0, 0, 1, 1, 1] and x[2, :, 0].tolist() == [1, 1, 1, 0, 0]
    assert x[3, :, 0].tolist() == [0, 0, 1, 1, 0]  # the third waveform does not see the first
    assert x[0, 3, 1] == pytest.approx(10.0)  # dt to the next candidate
    # t_rel: time since the first candidate with score >= 0.5 of the waveform
    assert x[1, 2, 2] == pytest.approx(10.0) and x[3, 2, 2] == pytest.approx(-45.0)
    with pytest.raises(ValueError, match="offsets"):
        peak_context(a, np.array([0, 4]), 1)


def test_waveform_channels_carry_each_waveforms_totals() -> None:
    # waveform 0: confident candidates at 10, 12, 30, 50 ns (gaps 2, 18, 20: one close), one not
    # confident at 31 ns; waveform 1: one candidate that is not confident
    f = np.array([[10, 5, 3, 0.9], [12, 10, 3, 0.9], [30, 5, 3, 0.9], [31, 50, 3, 0.2], [50, 4, 1, 0.9],
                  [5, 1, 1, 0.3]], dtype=np.float32)
    channels = context_channels(WAVEFORM_CHANNELS)
    x = peak_context(f, np.array([0, 5, 6]), 1, channels)
    assert x.shape == (6, 3, len(CONTEXT_CHANNELS) + len(WAVEFORM_CHANNELS))
    base = len(CONTEXT_CHANNELS)
    want = {"wf_score_sum": 3.8, "wf_confident": 4.0, "wf_span_ns": 40.0, "wf_close_fraction": 1 / 3}
    for c, name in enumerate(channels[base:]):
        assert x[2, 0, base + c] == pytest.approx(want[name], rel=1e-6)  # the same in every present slot
        assert x[2, 1, base + c] == pytest.approx(want[name], rel=1e-6)
    assert x[0, 0, base:].tolist() == [0.0] * len(WAVEFORM_CHANNELS)  # slot before the first candidate: empty
    np.testing.assert_allclose(x[5, 1, base:], [0.3, 0.0, 0.0, 0.0])  # no confident candidate
    # the base channels are unchanged by adding waveform channels
    np.testing.assert_array_equal(x[..., :base], peak_context(f, np.array([0, 5, 6]), 1))
    with pytest.raises(ValueError, match="waveform channels"):
        context_channels(("wf_score_sum", "bogus"))
    with pytest.raises(ValueError, match="must start with"):
        peak_context(f, np.array([0, 5, 6]), 1, ("wf_score_sum",))
    with pytest.raises(ConfigError, match="waveform_channels"):
        PeakClusterConfig(waveform_channels=("wf_span_ns", "wf_span_ns"))
    assert PeakClusterConfig(waveform_channels=()).channels == CONTEXT_CHANNELS


def test_targets_sum_to_the_clusters_in_the_window() -> None:
    chunk = next(simulate(SimConfig.from_preset("tb2023-untuned"), 80, seed=2, chunk_size=80))
    cw = candidate_windows(chunk.waveforms, CandidateConfig(), sampling_ns=chunk.sampling_ns)
    y = peak_cluster_targets(cw, chunk.truth)
    assert y.shape == (len(cw),) and np.all(y >= 0) and np.all(y == np.rint(y))
    per_wf = np.add.reduceat(np.append(y, 0), cw.offsets[:-1])[: cw.n_waveforms]
    per_wf[np.diff(cw.offsets) == 0] = 0
    t = chunk.truth
    inside = (t["electron_peak_ns"] >= 0) & (t["electron_peak_ns"] < chunk.n_samples * chunk.sampling_ns - 0.5)
    in_window = np.array([len(set(c)) for c in ak.to_list(t["electron_cluster"][inside])])
    has_cand = np.diff(cw.offsets) > 0
    np.testing.assert_array_equal(per_wf[has_cand], in_window[has_cand])
    assert np.all(in_window <= np.asarray(t["n_clusters"]))
    # about one candidate in ten opens a cluster; most targets are 0 or 1
    assert 0.02 < y.mean() < 0.5 and np.mean(y <= 1) > 0.98
    with pytest.raises(Exception, match="electron_cluster"):
        peak_cluster_targets(cw, t[["electron_peak_ns", "n_clusters"]])


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ConfigError, match="context"):
        PeakClusterConfig(context=-1)
    with pytest.raises(ConfigError, match="activation"):
        PeakClusterConfig(activation="bad")
    assert PeakClusterConfig(context=3, waveform_channels=()).input_shape == (7, len(CONTEXT_CHANNELS))
    assert PeakClusterConfig(context=3, waveform_channels=("wf_span_ns",)).input_shape == (7, len(CONTEXT_CHANNELS) + 1)


def test_train_export_infer_evaluate(sim_file: Path, tmp_path: Path) -> None:
    from ccreco.analysis.evaluate import evaluate_clusters
    from ccreco.models.inference import PeakClusterModel, PeakModel, load_model
    from ccreco.models.shipped import shipped_model
    from ccreco.models.train_clusters import PEAK_CLUSTER_TRAIN, train_peak_cluster_model, waveform_sums

    cfg = PeakClusterConfig(context=2, dense=(8,), waveform_channels=("wf_score_sum", "wf_span_ns"))
    pm = PeakModel(shipped_model("lstm_compact_tb2023_untuned"))
    sample = peak_cluster_sample(sim_file, pm, cfg.context, channels=cfg.channels)
    assert sample["x"].shape[1:] == cfg.input_shape and sample["offsets"].size == 301
    assert sample["info"]["target_sum_over_n_clusters"] == pytest.approx(1.0, abs=0.02)
    res = train_peak_cluster_model(sample, cfg, dataclasses.replace(PEAK_CLUSTER_TRAIN, epochs=3, seed=4))
    assert len(res.history) == 3 and res.metrics["n_waveforms"] == 90
    # the Poisson fit gets the mean rate right: summed output close to the truth on average
    assert abs(res.metrics["bias"]) < 0.25 * res.metrics["mean_true"]
    with pytest.raises(ConfigError, match="context"):
        train_peak_cluster_model(sample, dataclasses.replace(cfg, context=3), PEAK_CLUSTER_TRAIN)
    with pytest.raises(ConfigError, match="channels"):  # same shape, other quantities
        train_peak_cluster_model(sample,
                                 dataclasses.replace(cfg, waveform_channels=("wf_confident", "wf_close_fraction")),
                                 PEAK_CLUSTER_TRAIN)
    path = res.export(tmp_path / "pp.onnx")
    model = load_model(path)
    assert isinstance(model, PeakClusterModel) and model.context == 2
    assert tuple(model.metadata["channels"]) == cfg.channels  # inference builds the same inputs
    # the training waveforms' range of every summary is stored, quantiles included
    assert set(model.input_ranges) == {"n_candidates", *WAVEFORM_CHANNELS}
    lo, hi = model.input_ranges["n_candidates"]
    assert 0 <= lo <= hi and model.metadata["input_ranges"]["quantiles"] == [0.005, 0.995]
    assert model.calibration is not None and model.calibration["slope"] > 0
    lam = model.predict_context(sample["x"][:500])
    with torch.no_grad():
        ref = res.model(torch.from_numpy(sample["x"][:500])).numpy().reshape(-1)
    np.testing.assert_allclose(lam, ref, rtol=1e-4, atol=1e-6)
    with pytest.raises(Exception, match="context input"):
        model.predict_context(sample["x"][:5, :3])
    raw = evaluate_clusters(sim_file, "perpeak", options={"model": str(path)})
    lam_all = model.predict_context(sample["x"])
    expect = np.rint(np.maximum(waveform_sums(lam_all, sample["offsets"]), 0))
    assert raw["mean_reco"] == pytest.approx(expect.mean(), abs=1e-9)
    cal = evaluate_clusters(sim_file, "perpeak", options={"model": str(path), "calibrate": "1"})
    assert {"slope", "intercept", "calibrated_rms"} <= set(cal)
    assert cal["mean_reco"] != raw["mean_reco"]
    with pytest.raises(ConfigError, match="unknown options"):
        evaluate_clusters(sim_file, "perpeak", options={"model": str(path), "bogus": "1"})
    # the reconstruction takes a per-peak model as its step-2 model
    from ccreco.io import read
    from ccreco.reco import RecoConfig, Reconstructor

    reco = Reconstructor(RecoConfig(cluster_model=str(path)))
    out = reco(read(sim_file))
    assert np.rint(np.maximum(out.n_clusters, 0)).mean() == pytest.approx(raw["mean_reco"], abs=1e-9)


def test_shipped_model_says_when_the_data_are_outside_its_training(tmp_path: Path) -> None:
    """The default step 2 records the range of its training waveforms and flags data beyond it."""
    from ccreco.io import read
    from ccreco.reco import Reconstructor
    from ccreco.reco.batch import OUTSIDE_TRAINING_WARN, training_range_check

    reco = Reconstructor()
    ranges = reco.cluster_model.input_ranges
    assert {"n_candidates", "wf_span_ns", "wf_score_sum"} <= set(ranges)
    normal = tmp_path / "normal.root"
    simulate_to_file(normal, SimConfig.from_preset("tb2023-untuned"), 200, seed=21, progress=False)
    wide = tmp_path / "wide.root"  # a 1.6 cm cell: drift spans twice the training's
    simulate_to_file(wide, SimConfig.from_preset("tb2023-untuned", cell_size_cm=1.6), 100, seed=22, progress=False)
    fractions = {}
    for name, path in (("normal", normal), ("wide", wide)):
        out = reco(read(path)).outside_training
        assert set(out) == set(ranges)
        fractions[name] = float(np.mean(np.logical_or.reduce(list(out.values()))))
    assert fractions["normal"] < OUTSIDE_TRAINING_WARN < 0.5 < fractions["wide"]
    # the run's counters become a summary entry with a warning naming the summaries
    check = training_range_check({"waveforms_reconstructed": 100, "step2_outside_training": 40,
                                  "step2_outside_training_wf_span_ns": 38, "step2_outside_training_n_candidates": 5})
    assert check is not None and check["fraction"] == pytest.approx(0.4)
    assert "wf_span_ns 38.0 %" in check["warning"] and check["by_summary"]["n_candidates"] == 5
    quiet = training_range_check({"waveforms_reconstructed": 100, "step2_outside_training": 1})
    assert quiet is not None and quiet["warning"] is None
    assert training_range_check({"waveforms_reconstructed": 100}) is None  # a CNN records no range


def test_shipped_model_says_when_its_step1_inputs_differ_from_training(caplog: pytest.LogCaptureFixture,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-peak model records the step-1 selection it was trained on; reco and evaluate say
    when the selection in use differs (``--set preselect=false``, ``roi=false``, another model)."""
    import logging

    from ccreco.analysis import methods
    from ccreco.analysis.methods import perpeak_clusters_factory

    monkeypatch.setattr(methods, "_WARNED", set())  # warned once per process: not yet in this test
    from ccreco.reco import RecoConfig, Reconstructor

    assert Reconstructor().step2_input_differences == []
    assert Reconstructor(RecoConfig(preselect=False)).step2_input_differences == [
        "first-stage pre-selection off (trained with it)"]
    reco = Reconstructor(RecoConfig(roi=False))
    assert reco.step2_input_differences == ["region of interest off (trained with it)"]
    assert reco.provenance()["step2_input_differences"] == reco.step2_input_differences
    model, cands = reco.cluster_model, reco.candidates
    assert model.step1_differences(dataclasses.replace(cands, min_distance=cands.min_distance + 1)) == [
        f"candidate min_distance = {cands.min_distance + 1} (trained with {cands.min_distance})",
        "region of interest off (trained with it)"]
    assert model.step1_differences(Reconstructor().candidates, "other_lstm.onnx")[0].startswith(
        "step-1 model other_lstm.onnx (trained with lstm_compact_tb2023_untuned.onnx)")
    with caplog.at_level(logging.WARNING, logger="ccreco.analysis.methods"):
        perpeak_clusters_factory({"preselect": "false"})
    assert "first-stage pre-selection off" in caplog.text
    assert step1_hint(reco.step2_input_differences) == ""  # roi=true is the default: nothing to add


def test_cnn_says_which_step1_selection_it_was_trained_without(caplog: pytest.LogCaptureFixture,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped CNN was trained on the bare rule's peaks (no region of interest, no first-stage
    pre-selection; its ``train_sample.peak_model``): reco and ``evaluate --method cnn`` say so
    (once per process) and name the options that give it those inputs; with them the
    differences are gone."""
    import logging

    from ccreco.analysis import methods
    from ccreco.analysis.methods import cnn_clusters_factory

    monkeypatch.setattr(methods, "_WARNED", set())
    from ccreco.models.shipped import DEFAULT_CNN_MODEL, shipped_model
    from ccreco.reco import RecoConfig, Reconstructor

    cnn = str(shipped_model(DEFAULT_CNN_MODEL))
    diffs = Reconstructor(RecoConfig(cluster_model=cnn)).step2_input_differences
    assert diffs == ["region of interest on (trained without it)", "first-stage pre-selection on (trained without it)"]
    assert step1_hint(diffs) == " (--set roi=false --set preselect=false gives the inputs it was trained on)"
    assert step1_hint(diffs[1:], "option") == " (method option preselect=false gives the inputs it was trained on)"
    assert Reconstructor(RecoConfig(cluster_model=cnn, roi=False, preselect=False)).step2_input_differences == []
    with caplog.at_level(logging.WARNING, logger="ccreco.analysis.methods"):
        cnn_clusters_factory({})
        cnn_clusters_factory({})
    assert caplog.text.count("cnn: the step-2 model cnn_ihep_tb2023_mix.onnx was trained on other step-1 inputs") == 1
    assert "method options roi=false, preselect=false give the inputs" in caplog.text


def test_geometry_channel_takes_the_given_angle() -> None:
    """``sec_angle`` is a channel the waveform cannot tell: given per waveform, checked, placed in every slot."""
    from ccreco.models.encoding import GEOMETRY_CHANNELS, geometry_inputs, geometry_values

    assert GEOMETRY_CHANNELS == ("sec_angle",)
    chans = context_channels(("wf_confident", "sec_angle"))
    assert geometry_inputs(chans) == ("angle_deg",) and geometry_inputs(CONTEXT_CHANNELS) == ()
    g = geometry_values({"angle_deg": np.array([0.0, 60.0])}, 2)
    np.testing.assert_allclose(g["sec_angle"], [1.0, 2.0], rtol=1e-6)
    with pytest.raises(ValueError, match="angle_deg"):
        geometry_values({"angle_deg": 90.0}, 1)
    f = np.array([[10, 5, 3, 0.9], [30, 6, 4, 0.2], [12, 5, 3, 0.8]], dtype=np.float32)
    off = np.array([0, 2, 3])
    x = peak_context(f, off, 1, chans, geometry=geometry_values({"angle_deg": np.array([0.0, 60.0])}, 2))
    assert x.shape == (3, 3, len(chans))
    # slots holding a candidate carry its waveform's value; empty slots (outside the waveform) stay 0
    assert x[0, :, -1].tolist() == [0.0, 1.0, 1.0] and x[2, :, -1].tolist() == [0.0, 2.0, 0.0]
    with pytest.raises(ValueError, match="sec_angle needs"):
        peak_context(f, off, 1, chans)


def test_shipped_angle_model_needs_and_uses_the_angle(tmp_path: Path) -> None:
    """perpeak_random_wide_angle: refuses to count without an angle, counts differently at
    another angle, and reco/evaluate take the angle from the truth or the configuration."""
    from ccreco.analysis.evaluate import evaluate_clusters
    from ccreco.errors import ModelError
    from ccreco.io import read
    from ccreco.models.dataset import scored_windows
    from ccreco.models.shipped import shipped_model
    from ccreco.reco import RecoConfig, Reconstructor

    path = tmp_path / "a30.root"
    simulate_to_file(path, SimConfig.from_preset("heed-tube", angle_deg=30.0), 150, seed=23, progress=False)
    model_path = shipped_model("perpeak_random_wide_angle")
    reco = Reconstructor(RecoConfig(cluster_model=str(model_path)))
    model = reco.cluster_model
    assert model.extra_inputs == ("angle_deg",)
    chunk = read(path)
    cw, scored = scored_windows(chunk, reco.candidates)
    scores = reco.peak_model.predict_scored(cw.windows, scored, sampling_ns=chunk.sampling_ns)
    with pytest.raises(ModelError, match="needs angle_deg"):
        model.count(cw, scores, sampling_ns=chunk.sampling_ns)
    at = {a: model.count(cw, scores, sampling_ns=chunk.sampling_ns, extra={"angle_deg": a}).sum() for a in (0.0, 30.0)}
    assert at[0.0] != at[30.0]
    # reco takes the truth's angle (30 degrees here) over the configured one
    out = reco(chunk)
    np.testing.assert_allclose(out.n_clusters.sum(), at[30.0], rtol=1e-5)
    # evaluate: the truth's angle, or a fixed one given as an option
    m_truth = evaluate_clusters(str(path), "perpeak", options={"model": str(model_path)})
    m_zero = evaluate_clusters(str(path), "perpeak", options={"model": str(model_path), "angle_deg": "0"})
    assert m_truth["mean_reco"] != m_zero["mean_reco"]
    by_name = evaluate_clusters(str(path), "perpeak", options={"model": "perpeak_random_wide_angle"})
    assert by_name["mean_reco"] == m_truth["mean_reco"]  # a shipped model by its name


def test_angle_model_flags_angles_beyond_its_training(tmp_path: Path) -> None:
    """The angle-aware model records the trained angle range (from 0) and flags larger angles."""
    from ccreco.io import read
    from ccreco.models.dataset import scored_windows
    from ccreco.models.shipped import shipped_model
    from ccreco.reco import RecoConfig, Reconstructor

    reco = Reconstructor(RecoConfig(cluster_model=str(shipped_model("perpeak_random_wide_angle"))))
    model = reco.cluster_model
    lo, hi = model.input_ranges["angle_deg"]
    assert lo == 0.0 and 55.0 < hi < 60.0
    path = tmp_path / "small.root"
    simulate_to_file(path, SimConfig.from_preset("heed-tube"), 40, seed=24, progress=False)
    chunk = read(path)
    cw, scored = scored_windows(chunk, reco.candidates)
    scores = reco.peak_model.predict_scored(cw.windows, scored, sampling_ns=chunk.sampling_ns)
    ok = model.outside_training_range(cw, scores, {"angle_deg": 0.0})["angle_deg"]
    steep = model.outside_training_range(cw, scores, {"angle_deg": 75.0})["angle_deg"]
    assert not ok.any() and steep.all()
    assert "angle_deg" not in model.outside_training_range(cw, scores)  # no angle given: not checked
