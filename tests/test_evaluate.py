"""Evaluation of the DERIV method, the method registry and the ``ccreco evaluate`` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import kernels_reference as ref
import numpy as np
import pytest

from ccreco.analysis.evaluate import (
    METHODS,
    PeakResult,
    deriv_configs,
    evaluate_clusters,
    evaluate_peaks,
    get_method,
    register_method,
)
from ccreco.cli import main
from ccreco.errors import ConfigError, MissingBranchError
from ccreco.io import WaveformChunk
from ccreco.kernels import ClusterizeConfig, DerivConfig


def synthetic_chunk(n: int, seed: int) -> WaveformChunk:
    wf, peaks = ref.synthetic(n, 500, seed=seed, noise=0.3, n_pulses=5)
    truth = ak.Array({"electron_peak_ns": [p.tolist() for p in peaks], "n_clusters": [len(p) for p in peaks]})
    meta = ak.Array({"run": np.zeros(n, np.int64), "event": np.arange(n), "channel": np.zeros(n, np.int32)})
    return WaveformChunk(wf, 1.0, meta, truth)


def test_deriv_on_clean_pulses_is_perfect() -> None:
    chunks = [synthetic_chunk(20, 41), synthetic_chunk(10, 42)]
    opts = {"N1": "5", "N2": "4", "c": "0.01"}
    m = evaluate_peaks(chunks, "deriv", options=opts)
    assert m["n_waveforms"] == 30 and m["auc"] != m["auc"]  # nan: no scores
    assert m["recall"] == 1.0 and m["precision"] == 1.0 and m["electron_efficiency"] == 1.0
    assert m["fakes_per_waveform"] == 0.0 and abs(m["residual_mean_ns"]) < 1e-9
    assert m["candidate_recall"] == 1.0  # every clean pulse offers its candidate
    c = evaluate_clusters(chunks, "deriv", options=opts)
    assert c["bias"] == 0.0 and c["rms"] == 0.0 and c["mean_true"] == 5.0
    assert evaluate_peaks(chunks, "deriv", options=opts, max_waveforms=25)["n_waveforms"] == 25


def test_candidate_recall_is_reported_beside_the_window_count() -> None:
    chunk = synthetic_chunk(20, 43)
    # a second electron 1 sample after each pulse: one candidate per pulse offers only half
    doubled = [sorted(p + [t + 1 for t in p]) for p in ak.to_list(chunk.truth["electron_peak_ns"])]
    truth = ak.Array({"electron_peak_ns": doubled, "n_clusters": [len(p) for p in doubled]})
    chunk = WaveformChunk(chunk.waveforms, 1.0, chunk.meta, truth)
    one = evaluate_peaks(chunk, "deriv", options={"N1": "5", "N2": "4"},
                         candidates={"rule": "top", "min_distance": 5}, keep_scores=True)
    assert one["candidate_recall"] == pytest.approx(one["labels"].sum() / 200) == pytest.approx(0.5)
    every = evaluate_peaks(chunk, "deriv", options={"N1": "5", "N2": "4"}, candidates={"threshold": None})
    assert every["candidate_recall"] > one["candidate_recall"]
    assert every["candidates_per_waveform"] > one["candidates_per_waveform"]


def test_registry_accepts_a_scoring_method() -> None:
    def factory(options: dict) -> object:
        cut = float(options.get("cut", "0.5"))

        def finder(chunk: WaveformChunk, cw: object) -> PeakResult:
            scores = (cw.windows[:, cw.config.window_left, 0] > 3.0).astype(float)  # type: ignore[attr-defined]
            sel = scores >= cut
            counts = np.add.reduceat(sel, cw.offsets[:-1]) if len(sel) else np.zeros(len(chunk), int)  # type: ignore[attr-defined]
            off = np.concatenate([[0], np.cumsum(counts)])
            return PeakResult(cw.sample_index[sel], off, sel, scores)  # type: ignore[attr-defined]

        return finder

    register_method("toy", peaks=factory, description="test", replace=True)
    try:
        m = evaluate_peaks(synthetic_chunk(10, 43), "toy")
        assert 0.5 < m["auc"] <= 1.0 and m["recall"] == 1.0
        with pytest.raises(ConfigError, match="no cluster counter"):
            evaluate_clusters(synthetic_chunk(2, 1), "toy")
        with pytest.raises(ConfigError, match="already registered"):
            register_method("toy", peaks=factory)
    finally:
        METHODS.pop("toy", None)
    with pytest.raises(ConfigError, match="deriv"):
        get_method("nope")


def test_deriv_options() -> None:
    d, c = deriv_configs({"N1": "7", "c": "0.3", "t0_ns": "100"})
    assert d.n1 == 7.0 and c == ClusterizeConfig(c=0.3, t0_ns=100.0)
    assert deriv_configs({"preset": "tb2023-counting"})[1].c == 0.40
    d, _ = deriv_configs({"preset": "analysts"})
    assert d == DerivConfig(n1=9.0, n2=1.1, n3=0.1, n4=0.1)
    with pytest.raises(ConfigError, match="preset"):
        deriv_configs({"preset": "x"})


def test_missing_truth() -> None:
    chunk = synthetic_chunk(3, 44)
    bare = WaveformChunk(chunk.waveforms, 1.0, chunk.meta, None)
    with pytest.raises(MissingBranchError, match="electron_peak_ns"):
        evaluate_peaks(bare)
    with pytest.raises(MissingBranchError, match="n_clusters"):
        evaluate_clusters(bare)


def test_cli_on_simulated_file(tmp_path: Path) -> None:
    f = tmp_path / "sim.root"
    assert main(["simulate", "--preset", "tb2023-untuned", "-n", "200", "--seed", "45", "-o", str(f)]) == 0
    out = tmp_path / "peaks.json"
    assert main(["evaluate", "peaks", "--method", "deriv", "--data", str(f), "--json", str(out),
                 "--set", "N1=4"]) == 0
    m = json.loads(out.read_text())
    for key in ("precision", "recall", "f1", "auc", "efficiency_purity", "electron_efficiency",
                "fakes_per_waveform", "n_waveforms"):
        assert key in m
    assert m["auc"] is None and m["n_waveforms"] == 200 and 0.2 < m["electron_efficiency"] < 0.9
    out2 = tmp_path / "clusters.json"
    assert main(["evaluate", "clusters", "--data", str(f), "--json", str(out2), "--set", "c=0.25"]) == 0
    c = json.loads(out2.read_text())
    for key in ("bias", "rms", "mean_true", "mean_reco", "n_waveforms", "rms_over_sqrt_n", "slope", "slope_err",
                "intercept", "calibrated_rms", "calibrated_rms_over_sqrt_n"):
        assert key in c
    assert 0.3 < c["slope"] < 1.5 and c["calibrated_rms"] > 0
    assert c["level"] == pytest.approx(c["mean_reco"] / c["mean_true"])  # what reco's step2_level takes
    assert main(["evaluate", "peaks", "--data", str(f), "--set", "N9=1"]) == 2
    assert main(["evaluate", "peaks", "--data", str(f), "--method", "nope"]) == 2


def test_threshold_argument_moves_the_working_point(simulated_file) -> None:  # noqa: ANN001
    # the Python threshold reaches the step-1 model (it was accepted and ignored before)
    f = simulated_file(150, 46)
    loose = evaluate_peaks(str(f), "lstm", threshold=0.3)
    tight = evaluate_peaks(str(f), "lstm", threshold=0.95)
    stored = evaluate_peaks(str(f), "lstm")
    assert loose["fakes_per_waveform"] > stored["fakes_per_waveform"] > tight["fakes_per_waveform"]
    assert loose["electron_efficiency"] > tight["electron_efficiency"]
    assert loose["options"]["threshold"] == "0.3"
    assert evaluate_peaks(str(f), "lstm", options={"threshold": "0.3"})["f1"] == loose["f1"]
    with pytest.raises(ConfigError, match="window scores"):
        evaluate_peaks(str(f), "deriv", threshold=0.5)
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        evaluate_peaks(str(f), "lstm", threshold=1.5)
