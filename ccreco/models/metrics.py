"""Per-epoch metrics of the two training steps: thin adapters over :mod:`ccreco.analysis.metrics`.

The definitions live once, in :mod:`ccreco.analysis.metrics` (shared with ``ccreco evaluate``);
this module only picks the scalars that go into the training history and the ONNX metadata,
under the same names.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Step-1 history metrics (names as in :func:`ccreco.analysis.metrics.window_metrics`).
PEAK_METRICS: tuple[str, ...] = ("accuracy", "precision", "recall", "f1", "efficiency_purity", "auc")
#: Step-2 history metrics (``mae`` plus :func:`ccreco.analysis.metrics.cluster_metrics` scalars).
CLUSTER_METRICS: tuple[str, ...] = ("mae", "bias", "rms", "std", "rms_over_sqrt_n", "resolution")


def peak_metrics(y_true: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """Step-1 metrics at ``threshold``: accuracy, precision, recall, F1, efficiency*purity, AUC.

    Parameters
    ----------
    y_true : numpy.ndarray
        0/1 labels.
    p : numpy.ndarray
        Predicted signal probabilities.
    threshold : float
        Decision threshold.

    Returns
    -------
    dict
        The :data:`PEAK_METRICS` (``nan`` where undefined, e.g. precision with no selection).
    """
    from ccreco.analysis.metrics import window_metrics

    m = window_metrics(np.asarray(y_true).reshape(-1) > 0.5, scores=np.asarray(p).reshape(-1), threshold=threshold)
    return {k: float(m[k]) for k in PEAK_METRICS}


def cluster_metrics(n_true: np.ndarray, n_pred: np.ndarray) -> dict[str, float]:
    """Step-2 metrics: MAE (the reference's training metric) and the cluster-count scalars.

    Parameters
    ----------
    n_true : numpy.ndarray
        True numbers of clusters.
    n_pred : numpy.ndarray
        Predicted (real-valued) numbers of clusters.

    Returns
    -------
    dict
        The :data:`CLUSTER_METRICS`: ``rms`` = RMS(N_pred - N_true), ``rms_over_sqrt_n`` = rms /
        sqrt(mean N_true) (1 is the Poisson width; PHYSICS.md quotes 0.76 for a small CNN on
        LSTM peaks), ``resolution`` = std / mean N_true.
    """
    from ccreco.analysis.metrics import cluster_metrics as _cluster_metrics

    t = np.asarray(n_true, dtype=np.float64).reshape(-1)
    r = np.asarray(n_pred, dtype=np.float64).reshape(-1)
    m = _cluster_metrics(t, r)
    out = {"mae": float(np.mean(np.abs(r - t))) if t.size else float("nan")}
    out.update({k: float(m[k]) for k in CLUSTER_METRICS if k != "mae"})
    return out


def waveform_cluster_metrics(n_true: np.ndarray, n_pred: np.ndarray) -> dict[str, Any]:
    """All waveform-level cluster-count metrics, the linearity fit included.

    Parameters
    ----------
    n_true : numpy.ndarray
        True numbers of clusters.
    n_pred : numpy.ndarray
        Predicted numbers.

    Returns
    -------
    dict
        :func:`ccreco.analysis.metrics.cluster_metrics` (``bias``, ``rms``, ``slope``,
        ``intercept``, ``calibrated_rms``, ``profile``, ...).
    """
    from ccreco.analysis.metrics import cluster_metrics as _cluster_metrics

    return _cluster_metrics(np.asarray(n_true, dtype=np.float64), np.asarray(n_pred, dtype=np.float64))


__all__ = ["CLUSTER_METRICS", "PEAK_METRICS", "cluster_metrics", "peak_metrics", "waveform_cluster_metrics"]
