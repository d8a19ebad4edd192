"""Metrics of peak finding (window and electron level) and cluster counting.

Definitions (docs/ALGORITHMS.md, "Metrics"):

- **window level**: every candidate window has a truth label (signal/noise,
  :func:`ccreco.kernels.candidate_labels`) and a method *selects* it or not (score >= threshold,
  or for DERIV: a DERIV peak is matched one-to-one to the candidate, :func:`selected_candidates`).
  precision = TP / (TP + FP), recall = TP / (TP + FN) over signal *windows*, F1 their harmonic
  mean, efficiency*purity = recall * precision; ROC/AUC over the scores (scikit-learn).
- **electron level**: true electron peaks vs detected peaks, matched one-to-one within the
  tolerance (:func:`ccreco.kernels.match_peaks`): electron efficiency = matched true peaks / all
  true peaks; fakes = unmatched detected peaks per waveform; residual = detected - true time (ns).
- **cluster counting**: ``d = N_reco - N_true`` per waveform: bias = mean(d),
  rms = sqrt(mean(d**2)), std = std(d), rms / sqrt(mean N_true) (1 = Poisson width),
  resolution = std(d) / mean(N_true), and the N_reco vs N_true profile.
- **linearity** (what shrinkage toward the training mean cannot hide): a weighted straight-line
  fit ``mean N_reco = intercept + slope * N_true`` of the profile over N_true in
  :data:`SLOPE_RANGE` (bins with >= :data:`MIN_PROFILE_COUNT` waveforms; each mean weighted by
  ``count / max(var, 1/4)``), with errors from the fit covariance. A model that pulls every
  waveform toward its training mean has a small RMS but a slope well below 1, which divides
  every difference between particles. ``calibrated_rms`` is the RMS of
  ``(N_reco - intercept) / slope - N_true``: the resolution left after inverting that line
  (what a calibrated analysis gets), also as ``calibrated_rms_over_sqrt_n`` and
  ``calibrated_resolution`` (std / mean N_true).

Undefined ratios (0/0) are ``nan``; :func:`jsonable` turns them into ``None``.
"""

from __future__ import annotations

import math
from typing import Any, TypedDict

import numpy as np

from ccreco._extras import require
from ccreco.kernels import match_peaks

#: N_true range of the linearity fit (issue 16: slope over N_true 5-30).
SLOPE_RANGE: tuple[float, float] = (5.0, 30.0)
#: Fewest waveforms in a profile bin that enters the linearity fit.
MIN_PROFILE_COUNT: int = 5
#: Floor of the per-bin variance in the fit weights (integer counts: a bin whose N_reco are all
#: equal still has an error).
_VAR_FLOOR: float = 0.25


class ProfileFit(TypedDict):
    """The result of :func:`profile_fit` (a plain dict at run time)."""

    slope: float
    slope_err: float
    intercept: float
    intercept_err: float
    fit_chi2_ndf: float
    fit_points: int
    calibrated_bias: float
    calibrated_rms: float
    calibrated_rms_over_sqrt_n: float
    calibrated_resolution: float
    slope_range: list[float]


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else float("nan")


def window_metrics(
    labels: np.ndarray,
    *,
    scores: np.ndarray | None = None,
    selected: np.ndarray | None = None,
    threshold: float = 0.5,
) -> dict[str, float]:
    """Window-level precision, recall, F1, efficiency*purity and AUC.

    Parameters
    ----------
    labels : numpy.ndarray
        0/1 truth label of each candidate window.
    scores : numpy.ndarray, optional
        Signal score of each window (for AUC, and for the selection when ``selected`` is not
        given: ``scores >= threshold``).
    selected : numpy.ndarray, optional
        bool, which windows the method selected (methods without scores).
    threshold : float
        Working point on ``scores``.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1``, ``efficiency_purity``, ``auc`` (nan without scores or
        with one class only), ``accuracy``, ``n_windows``, ``n_signal``, ``tp``, ``fp``, ``fn``.
    """
    y = np.asarray(labels).reshape(-1) > 0
    if selected is None:
        if scores is None:
            raise ValueError("window_metrics needs scores or selected")
        sel = np.asarray(scores).reshape(-1) >= threshold
    else:
        sel = np.asarray(selected, dtype=bool).reshape(-1)
    if sel.shape != y.shape:
        raise ValueError(f"labels and selection differ in length: {y.size} vs {sel.size}")
    tp = int(np.sum(sel & y))
    fp = int(np.sum(sel & ~y))
    fn = int(np.sum(~sel & y))
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    auc = float("nan")
    if scores is not None and 0 < y.sum() < y.size:
        require("sklearn", "ROC metrics")
        from sklearn.metrics import roc_auc_score

        auc = float(roc_auc_score(y, np.asarray(scores).reshape(-1)))
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "efficiency_purity": precision * recall,
        "auc": auc,
        "accuracy": _ratio(int(np.sum(sel == y)), y.size),
        "n_windows": int(y.size),
        "n_signal": int(y.sum()),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def roc(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve of window scores (scikit-learn ``roc_curve``).

    Parameters
    ----------
    labels : numpy.ndarray
        0/1 window labels.
    scores : numpy.ndarray
        Window scores.

    Returns
    -------
    fpr, tpr, thresholds : numpy.ndarray
        As :func:`sklearn.metrics.roc_curve`.
    """
    require("sklearn", "ROC metrics")
    from sklearn.metrics import roc_curve

    fpr, tpr, thr = roc_curve(np.asarray(labels).reshape(-1) > 0, np.asarray(scores).reshape(-1))
    return fpr, tpr, thr


def selected_candidates(
    cand_index: np.ndarray,
    cand_offsets: np.ndarray,
    peak_index: np.ndarray,
    peak_offsets: np.ndarray,
    tolerance: int,
) -> np.ndarray:
    """Which candidate windows a peak finder without scores (DERIV) selected.

    A candidate is selected when a found peak is matched to it one-to-one within ``tolerance``
    samples (found peaks as the reference, candidates as the detected positions).

    Parameters
    ----------
    cand_index, cand_offsets : numpy.ndarray
        Candidate samples (sorted per waveform) and offsets.
    peak_index, peak_offsets : numpy.ndarray
        Found peak samples (sorted per waveform) and offsets.
    tolerance : int
        Matching tolerance in samples.

    Returns
    -------
    numpy.ndarray
        bool, one per candidate.
    """
    _, cand_match = match_peaks(peak_index, peak_offsets, cand_index, cand_offsets, tolerance)
    return cand_match >= 0


def electron_matching(
    true_index: np.ndarray,
    true_offsets: np.ndarray,
    peak_index: np.ndarray,
    peak_offsets: np.ndarray,
    tolerance: int,
    *,
    sampling_ns: float,
    true_times_ns: np.ndarray | None = None,
    peak_times_ns: np.ndarray | None = None,
) -> dict[str, Any]:
    """Counts for the electron-level metrics of one block (summable over blocks).

    Parameters
    ----------
    true_index, true_offsets : numpy.ndarray
        True electron peak samples (sorted per waveform) and offsets.
    peak_index, peak_offsets : numpy.ndarray
        Detected peak samples (sorted per waveform) and offsets.
    tolerance : int
        Matching tolerance in samples.
    sampling_ns : float
        Sampling period (residuals in ns).
    true_times_ns, peak_times_ns : numpy.ndarray, optional
        Exact times for the residuals (default: samples x ``sampling_ns``).

    Returns
    -------
    dict
        ``n_true``, ``n_matched``, ``n_detected``, ``n_fakes``, ``n_waveforms`` (ints),
        ``residuals_ns`` (float64 array, detected - true, one per matched pair).
    """
    ref_match, det_match = match_peaks(true_index, true_offsets, peak_index, peak_offsets, tolerance)
    t_true = true_index * sampling_ns if true_times_ns is None else np.asarray(true_times_ns, np.float64)
    t_peak = peak_index * sampling_ns if peak_times_ns is None else np.asarray(peak_times_ns, np.float64)
    hit = ref_match >= 0
    return {
        "n_true": int(ref_match.size),
        "n_matched": int(hit.sum()),
        "n_detected": int(det_match.size),
        "n_fakes": int(np.sum(det_match < 0)),
        "n_waveforms": int(len(true_offsets) - 1),
        "residuals_ns": np.asarray(t_peak[ref_match[hit]] - t_true[hit], dtype=np.float64),
    }


def electron_metrics(counts: dict[str, Any]) -> dict[str, float]:
    """Electron efficiency, fakes per waveform and residual summary from summed counts.

    Parameters
    ----------
    counts : dict
        Output of :func:`electron_matching` (or the element-wise sum over blocks, residual
        arrays concatenated).

    Returns
    -------
    dict
        ``electron_efficiency``, ``fakes_per_waveform``, ``peaks_per_waveform``,
        ``true_per_waveform``, ``residual_mean_ns``, ``residual_std_ns``.
    """
    res = np.asarray(counts["residuals_ns"], dtype=np.float64)
    n = counts["n_waveforms"]
    return {
        "electron_efficiency": _ratio(counts["n_matched"], counts["n_true"]),
        "fakes_per_waveform": _ratio(counts["n_fakes"], n),
        "peaks_per_waveform": _ratio(counts["n_detected"], n),
        "true_per_waveform": _ratio(counts["n_true"], n),
        "residual_mean_ns": float(res.mean()) if res.size else float("nan"),
        "residual_std_ns": float(res.std()) if res.size else float("nan"),
    }


def cluster_metrics(n_true: np.ndarray, n_reco: np.ndarray) -> dict[str, Any]:
    """Cluster-count bias, RMS and resolution; N_reco vs N_true profile.

    Parameters
    ----------
    n_true : numpy.ndarray
        True number of clusters per waveform.
    n_reco : numpy.ndarray
        Reconstructed number per waveform.

    Returns
    -------
    dict
        ``bias`` (mean d), ``rms`` (sqrt mean d**2), ``std``, ``mean_true``, ``mean_reco``,
        ``level`` (mean_reco / mean_true: what ``RecoConfig.step2_level`` takes when measured on a
        simulation tuned to the data), ``rms_over_sqrt_n`` (rms / sqrt(mean_true)), ``resolution`` (std / mean_true),
        ``n_waveforms``, ``profile``: list of ``[n_true, count, mean n_reco, std n_reco]``, and
        the linearity fit of :func:`profile_fit` (``slope``, ``intercept``, their errors,
        ``calibrated_rms``, ...).
    """
    t = np.asarray(n_true, dtype=np.float64).reshape(-1)
    r = np.asarray(n_reco, dtype=np.float64).reshape(-1)
    if t.shape != r.shape:
        raise ValueError(f"n_true and n_reco differ in length: {t.size} vs {r.size}")
    nan = float("nan")
    d = r - t
    mean_true = float(t.mean()) if t.size else nan
    rms = float(np.sqrt(np.mean(d**2))) if d.size else nan
    std = float(d.std()) if d.size else nan
    profile = []
    for value in np.unique(t):
        sel = r[t == value]
        profile.append([float(value), int(sel.size), float(sel.mean()), float(sel.std())])
    return {
        "bias": float(d.mean()) if d.size else nan,
        "rms": rms,
        "std": std,
        "mean_true": mean_true,
        "mean_reco": float(r.mean()) if r.size else nan,
        "level": float(r.mean()) / mean_true if r.size and mean_true > 0 else nan,
        "rms_over_sqrt_n": rms / math.sqrt(mean_true) if mean_true > 0 else nan,
        "resolution": std / mean_true if mean_true > 0 else nan,
        "n_waveforms": int(t.size),
        "profile": profile,
        **profile_fit(t, r),
    }


def profile_fit(
    n_true: np.ndarray,
    n_reco: np.ndarray,
    fit_range: tuple[float, float] = SLOPE_RANGE,
    min_count: int = MIN_PROFILE_COUNT,
) -> ProfileFit:
    """Weighted straight-line fit of the profile mean N_reco vs N_true, and the calibrated RMS.

    Parameters
    ----------
    n_true : numpy.ndarray
        True number of clusters per waveform.
    n_reco : numpy.ndarray
        Reconstructed number per waveform (integer or real).
    fit_range : (float, float)
        Inclusive N_true range of the fit.
    min_count : int
        Fewest waveforms in an N_true bin for it to enter the fit.

    Returns
    -------
    ProfileFit
        A dict: ``slope``, ``slope_err``, ``intercept``, ``intercept_err``, ``fit_chi2_ndf``,
        ``fit_points`` (bins used), ``calibrated_bias``, ``calibrated_rms``,
        ``calibrated_rms_over_sqrt_n``, ``calibrated_resolution`` (all ``nan`` with fewer than
        two bins or a slope <= 0) and ``slope_range`` (the fit range).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.repeat(np.arange(5, 25), 10).astype(float)
    >>> fit = profile_fit(t, 0.5 * t + 7.0)
    >>> round(fit["slope"], 6), round(fit["intercept"], 6), round(fit["calibrated_rms"], 6)
    (0.5, 7.0, 0.0)
    """
    t = np.asarray(n_true, dtype=np.float64).reshape(-1)
    r = np.asarray(n_reco, dtype=np.float64).reshape(-1)
    if t.shape != r.shape:
        raise ValueError(f"n_true and n_reco differ in length: {t.size} vs {r.size}")
    nan = float("nan")
    out: ProfileFit = {"slope": nan, "slope_err": nan, "intercept": nan, "intercept_err": nan,
                       "fit_chi2_ndf": nan, "fit_points": 0, "calibrated_bias": nan, "calibrated_rms": nan,
                       "calibrated_rms_over_sqrt_n": nan, "calibrated_resolution": nan,
                       "slope_range": [float(fit_range[0]), float(fit_range[1])]}
    in_range = (t >= fit_range[0]) & (t <= fit_range[1])
    xs, ys, ws = [], [], []
    for value in np.unique(t[in_range]):
        sel = r[t == value]
        if sel.size < max(int(min_count), 1):
            continue
        xs.append(value)
        ys.append(sel.mean())
        ws.append(sel.size / max(float(sel.var()), _VAR_FLOOR))
    out["fit_points"] = len(xs)
    if len(xs) < 2:
        return out
    x, y, w = np.asarray(xs), np.asarray(ys), np.asarray(ws)
    s, sx, sy = w.sum(), (w * x).sum(), (w * y).sum()
    sxx, sxy = (w * x * x).sum(), (w * x * y).sum()
    det = s * sxx - sx * sx
    if det <= 0:
        return out
    slope = (s * sxy - sx * sy) / det
    intercept = (sxx * sy - sx * sxy) / det
    chi2 = float((w * (y - intercept - slope * x) ** 2).sum())
    out.update({"slope": float(slope), "slope_err": math.sqrt(s / det), "intercept": float(intercept),
                "intercept_err": math.sqrt(sxx / det),
                "fit_chi2_ndf": chi2 / (len(xs) - 2) if len(xs) > 2 else nan})
    if slope <= 0:
        return out
    d = (r - intercept) / slope - t
    mean_true = float(t.mean())
    cal_rms = float(np.sqrt(np.mean(d**2)))
    out.update({"calibrated_bias": float(d.mean()), "calibrated_rms": cal_rms,
                "calibrated_rms_over_sqrt_n": cal_rms / math.sqrt(mean_true) if mean_true > 0 else nan,
                "calibrated_resolution": float(d.std()) / mean_true if mean_true > 0 else nan})
    return out


def jsonable(value: Any) -> Any:
    """Convert metrics to plain JSON types (nan/inf -> None, numpy -> Python).

    Parameters
    ----------
    value : Any
        A metric dict, list or scalar.

    Returns
    -------
    Any
        The same structure with JSON-safe values.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


__all__ = [
    "MIN_PROFILE_COUNT",
    "SLOPE_RANGE",
    "ProfileFit",
    "cluster_metrics",
    "electron_matching",
    "electron_metrics",
    "jsonable",
    "profile_fit",
    "roc",
    "selected_candidates",
    "window_metrics",
]
