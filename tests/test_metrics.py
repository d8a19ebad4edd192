"""Window, electron and cluster metrics against hand-computed values and scikit-learn."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ccreco.analysis.metrics import (
    cluster_metrics,
    electron_matching,
    electron_metrics,
    jsonable,
    roc,
    selected_candidates,
    window_metrics,
)


def test_window_metrics_by_hand() -> None:
    labels = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    selected = np.array([1, 1, 0, 1, 0, 0, 0, 0], dtype=bool)
    m = window_metrics(labels, selected=selected)
    assert (m["tp"], m["fp"], m["fn"]) == (2, 1, 2)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert m["efficiency_purity"] == pytest.approx(1 / 3)
    assert math.isnan(m["auc"])


def test_window_metrics_with_scores_matches_sklearn() -> None:
    from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

    rng = np.random.default_rng(31)
    y = rng.integers(0, 2, 500)
    s = np.clip(y * 0.3 + rng.random(500) * 0.8, 0, 1)
    m = window_metrics(y, scores=s, threshold=0.6)
    pred = s >= 0.6
    assert m["precision"] == pytest.approx(precision_score(y, pred))
    assert m["recall"] == pytest.approx(recall_score(y, pred))
    assert m["f1"] == pytest.approx(f1_score(y, pred))
    assert m["auc"] == pytest.approx(roc_auc_score(y, s))
    fpr, tpr, _ = roc(y, s)
    assert fpr[0] == 0 and tpr[-1] == 1
    empty = window_metrics(np.zeros(3), selected=np.zeros(3, bool))
    assert math.isnan(empty["precision"]) and math.isnan(empty["recall"])
    with pytest.raises(ValueError):
        window_metrics(y)


def test_selected_candidates_one_to_one() -> None:
    cand = np.array([10, 11, 12, 30, 50])
    peaks = np.array([11, 31, 70])
    sel = selected_candidates(cand, np.array([0, 5]), peaks, np.array([0, 3]), 1)
    assert sel.tolist() == [False, True, False, True, False]


def test_electron_metrics() -> None:
    true = np.array([10, 10, 40, 5])
    toff = np.array([0, 3, 4])
    det = np.array([9, 10, 60, 6, 90])
    doff = np.array([0, 3, 5])
    c = electron_matching(true, toff, det, doff, 2, sampling_ns=0.5,
                          true_times_ns=np.array([5.1, 4.9, 20.0, 2.5]))
    assert (c["n_true"], c["n_matched"], c["n_fakes"], c["n_detected"]) == (4, 3, 2, 5)
    m = electron_metrics(c)
    assert m["electron_efficiency"] == pytest.approx(0.75)
    assert m["fakes_per_waveform"] == pytest.approx(1.0)
    np.testing.assert_allclose(np.sort(c["residuals_ns"]), np.sort([5.0 - 5.1, 4.5 - 4.9, 3.0 - 2.5]))


def test_cluster_metrics() -> None:
    t = np.array([10, 10, 12, 14])
    r = np.array([11, 9, 12, 17])
    m = cluster_metrics(t, r)
    d = r - t
    assert m["bias"] == pytest.approx(d.mean())
    assert m["rms"] == pytest.approx(np.sqrt(np.mean(d**2)))
    assert m["std"] == pytest.approx(d.std())
    assert m["rms_over_sqrt_n"] == pytest.approx(m["rms"] / np.sqrt(11.5))
    assert m["resolution"] == pytest.approx(d.std() / 11.5)
    assert m["profile"][0] == [10.0, 2, 10.0, 1.0]
    assert m["mean_true"] == 11.5 and m["mean_reco"] == 12.25 and m["n_waveforms"] == 4


def test_profile_fit_sees_shrinkage() -> None:
    """Shrinking a noisy count toward the mean lowers the RMS; slope and calibrated RMS tell."""
    rng = np.random.default_rng(3)
    t = rng.poisson(15, 20000).astype(float)
    linear = t + rng.normal(0.0, 3.0, t.size)
    k = 15.0 / (15.0 + 9.0)  # the RMS-optimal shrinkage of a Poisson(15) count measured to +-3
    shrunk = 15 + k * (linear - 15)
    m_s, m_l = cluster_metrics(t, shrunk), cluster_metrics(t, linear)
    assert m_s["slope"] == pytest.approx(k, abs=4 * m_s["slope_err"])
    assert m_s["intercept"] == pytest.approx(15 * (1 - k), abs=4 * m_s["intercept_err"])
    assert m_l["slope"] == pytest.approx(1.0, abs=4 * m_l["slope_err"])
    assert 0 < m_s["slope_err"] < 0.02
    # the raw RMS favours the shrunk response; after calibration both are the measurement's 3
    assert m_s["rms"] < 0.85 * m_l["rms"]
    assert m_s["calibrated_rms"] == pytest.approx(m_l["calibrated_rms"], rel=0.03)
    assert m_l["calibrated_rms"] == pytest.approx(3.0, rel=0.03)
    assert m_s["fit_points"] >= 20 and m_s["slope_range"] == [5.0, 30.0]


def test_profile_fit_needs_two_bins() -> None:
    m = cluster_metrics(np.array([10, 10, 10, 10, 10]), np.array([9, 10, 11, 10, 10]))
    assert m["fit_points"] == 1 and np.isnan(m["slope"]) and np.isnan(m["calibrated_rms"])
    assert json.loads(json.dumps(jsonable(m)))["slope"] is None


def test_jsonable() -> None:
    out = jsonable({"a": float("nan"), "b": np.int64(3), "c": np.array([1.5, np.inf]), "d": (np.float32(2),)})
    assert json.loads(json.dumps(out)) == {"a": None, "b": 3, "c": [1.5, None], "d": [2.0]}
