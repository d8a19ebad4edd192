"""Per-epoch metrics of the two training steps (thin adapters, numpy only).

Classification metrics come from :mod:`ccreco.analysis.metrics`, the one implementation shared
with the evaluation code; this module only names and packs them for the training history.
"""

from __future__ import annotations

import numpy as np


def peak_metrics(y_true: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """Step-1 metrics: accuracy, precision, recall, F1, efficiency*purity and ROC AUC.

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
        ``accuracy``, ``precision``, ``recall``, ``f1``, ``eff_x_purity``, ``auc``.
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y_true).reshape(-1) > 0.5
    pred = np.asarray(p).reshape(-1) >= threshold
    tp = float(np.sum(pred & y))
    fp = float(np.sum(pred & ~y))
    fn = float(np.sum(~pred & y))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    auc = float(roc_auc_score(y, p)) if 0 < y.sum() < y.size else float("nan")
    return {
        "accuracy": float(np.mean(pred == y)) if y.size else float("nan"),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "eff_x_purity": precision * recall,
        "auc": auc,
    }


def cluster_metrics(n_true: np.ndarray, n_pred: np.ndarray) -> dict[str, float]:
    """Step-2 metrics: MAE, RMSE, mean bias and RMS(N_pred - N_true) / sqrt(mean N_true).

    Parameters
    ----------
    n_true : numpy.ndarray
        True numbers of clusters.
    n_pred : numpy.ndarray
        Predicted numbers of clusters.

    Returns
    -------
    dict
        ``mae``, ``rmse``, ``bias``, ``rms_over_sqrt_n`` (1.0 is the Poisson width; PHYSICS.md
        quotes 0.76 for a small CNN on LSTM peaks).
    """
    t = np.asarray(n_true, dtype=np.float64).reshape(-1)
    d = np.asarray(n_pred, dtype=np.float64).reshape(-1) - t
    rmse = float(np.sqrt(np.mean(d**2))) if d.size else float("nan")
    mean_n = float(np.mean(t)) if t.size else float("nan")
    return {
        "mae": float(np.mean(np.abs(d))) if d.size else float("nan"),
        "rmse": rmse,
        "bias": float(np.mean(d)) if d.size else float("nan"),
        "rms_over_sqrt_n": float(rmse / np.sqrt(mean_n)) if mean_n > 0 else float("nan"),
    }


__all__ = ["cluster_metrics", "peak_metrics"]
