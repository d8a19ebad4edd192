"""Training plots with mplhep: history curves, ROC (step 1), N_pred vs N_true (step 2), the run-level fit.

No torch here: the functions take the history rows and validation arrays of a
:class:`~ccreco.models.training.TrainResult` (or of its saved JSON).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from ccreco.plotting import styled

if TYPE_CHECKING:  # training imports torch; the plots need only the result's fields
    from ccreco.models.training import TrainResult

#: History quantities drawn for each step (train and validation curves each).
PEAK_CURVES: tuple[str, ...] = ("loss", "accuracy", "precision", "recall", "f1", "efficiency_purity", "auc")
CLUSTER_CURVES: tuple[str, ...] = ("loss", "mae", "rms", "bias", "rms_over_sqrt_n")


def _setup() -> tuple[ModuleType, ModuleType]:
    import matplotlib

    if not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep as hep

    return plt, hep  # the style: the public functions run under ccreco.plotting.styled


def _curve(history: Sequence[Mapping[str, float]], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    epochs = np.array([row["epoch"] for row in history], dtype=float)
    train_key = "loss" if key == "loss" else f"train_{key}"
    val_key = "val_loss" if key == "loss" else f"val_{key}"
    tr = np.array([row.get(train_key, np.nan) for row in history], dtype=float)
    va = np.array([row.get(val_key, np.nan) for row in history], dtype=float)
    return epochs, tr, va


@styled
def plot_history(
    history: Sequence[Mapping[str, float]],
    keys: Sequence[str],
    directory: str | os.PathLike[str],
    prefix: str,
    best_epoch: int | None = None,
) -> list[Path]:
    """One PNG per history quantity with training and validation curves.

    Parameters
    ----------
    history : sequence of mapping
        Rows of :attr:`TrainResult.history`.
    keys : sequence of str
        Quantities (``loss`` or a metric name).
    directory : path-like
        Output directory (created).
    prefix : str
        File name prefix (``peaks`` / ``clusters``).
    best_epoch : int, optional
        Marked with a vertical line.

    Returns
    -------
    list of pathlib.Path
        The written files.
    """
    plt, hep = _setup()
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for key in keys:
        epochs, tr, va = _curve(history, key)
        fig, ax = plt.subplots(figsize=(8, 6))
        ax.plot(epochs, tr, "o-", label="training", markersize=3)
        ax.plot(epochs, va, "s-", label="validation", markersize=3)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", ls="--", label=f"kept (epoch {best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key.replace("efficiency_purity", "efficiency x purity").replace("_", " "))
        ax.legend()
        hep.label.exp_label(exp="", llabel="Simulation", rlabel="", data=False, ax=ax)
        path = out / f"{prefix}_{key}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        files.append(path)
    return files


@styled
def plot_roc(
    y_true: np.ndarray, score: np.ndarray, path: str | os.PathLike[str], threshold: float | None = None
) -> Path:
    """ROC curve (signal efficiency vs background efficiency) with its AUC.

    Parameters
    ----------
    y_true : numpy.ndarray
        0/1 labels.
    score : numpy.ndarray
        Predicted probabilities.
    path : path-like
        Output PNG.
    threshold : float, optional
        Working point to mark.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    from ccreco.analysis.metrics import roc, window_metrics

    plt, hep = _setup()
    y = np.asarray(y_true).reshape(-1) > 0.5
    s = np.asarray(score).reshape(-1)
    fpr, tpr, _ = roc(y, s)
    auc = window_metrics(y, scores=s)["auc"]
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.plot(fpr, tpr, label=f"AUC = {auc:.4f}")
    ax.plot([0, 1], [0, 1], color="grey", ls=":")
    if threshold is not None:
        ax.plot(np.mean(s[~y] >= threshold), np.mean(s[y] >= threshold), "k*", markersize=12,
                label=f"p >= {threshold:g}")
    ax.set_xlabel("noise windows accepted (FPR)")
    ax.set_ylabel("signal windows accepted (TPR)")
    ax.legend(loc="lower right")
    hep.label.exp_label(exp="", llabel="Simulation", rlabel="", data=False, ax=ax)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


@styled
def plot_counts(n_true: np.ndarray, n_pred: np.ndarray, path: str | os.PathLike[str]) -> Path:
    """N_pred vs N_true (2-D histogram) and the residual distribution.

    Parameters
    ----------
    n_true, n_pred : numpy.ndarray
        True and predicted cluster counts (validation sample).
    path : path-like
        Output PNG.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    import hist

    plt, hep = _setup()
    t = np.asarray(n_true, dtype=float)
    p = np.asarray(n_pred, dtype=float)
    hi = max(float(np.max(t)) if t.size else 1.0, float(np.max(p)) if p.size else 1.0) + 1
    h2 = hist.Hist.new.Reg(int(min(hi, 100)), 0, hi, name="true", label="N true").Reg(
        int(min(hi, 100)), 0, hi, name="pred", label="N predicted"
    ).Double()
    h2.fill(true=t, pred=p)
    d = p - t
    h1 = hist.Hist.new.Reg(61, -15.25, 15.25, name="d", label="N predicted - N true").Double()
    h1.fill(d=d)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(16, 7))
    hep.hist2dplot(h2, ax=a1, cmin=1)
    from ccreco.plotting import legend, profile

    _, mean, err = profile(h2.values(), h2.axes[1].centers)  # mean N predicted per N true bin
    ok = np.isfinite(mean)
    a1.errorbar(h2.axes[0].centers[ok], mean[ok], yerr=err[ok], fmt="o", color="k", ms=3, label="profile (mean)")
    a1.plot([0, hi], [0, hi], color="red", ls="--", label="N predicted = N true")
    legend(a1, loc="upper left")
    hep.histplot(h1, ax=a2, yerr=True, histtype="step",
                 label=f"mean {np.mean(d):.2f}, RMS {np.sqrt(np.mean(d**2)):.2f}" if d.size else None)
    legend(a2)
    for ax in (a1, a2):
        hep.label.exp_label(exp="", llabel="Simulation", rlabel="", data=False, ax=ax)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


@styled
def plot_run_level(levels: Mapping[str, tuple[np.ndarray, np.ndarray]], directory: str | os.PathLike[str]
                   ) -> list[Path]:
    """The run-level correction on its blocks: true level vs predicted, and log(level) before/after.

    Parameters
    ----------
    levels : mapping of str to (numpy.ndarray, numpy.ndarray)
        Sample name (``train``, ``validation``) -> each block's true level (counted over true
        clusters) and the level the correction predicts for it.
    directory : path-like
        Output directory (created).

    Returns
    -------
    list of pathlib.Path
        The written files (PNG and PDF of ``run_level``).
    """
    from ccreco.plotting import figure, label, legend, save

    fig, (a1, a2) = figure(figsize=(16, 7), ncols=2)
    lo = min(float(np.min(np.concatenate(v))) for v in levels.values())
    hi = max(float(np.max(np.concatenate(v))) for v in levels.values())
    for (name, (true, pred)), marker in zip(levels.items(), ("o", "s", "^"), strict=False):
        a1.plot(pred, true, marker, ms=3, alpha=0.6, ls="none", label=f"{name} ({len(true)} runs)")
    a1.plot([lo, hi], [lo, hi], color="red", ls="--", label="true = predicted")
    a1.set_xlabel("predicted level (from the run statistics)")
    a1.set_ylabel("true level (counted / true clusters)")
    legend(a1, loc="upper left")
    name = "validation" if "validation" in levels else next(iter(levels))
    true, pred = levels[name]
    before, after = np.log(true), np.log(true) - np.log(pred)
    before, after = before - before.mean(), after - after.mean()
    edges = np.linspace(min(before.min(), after.min()), max(before.max(), after.max()), 41)
    a2.hist(before, edges, histtype="step", lw=2, label=f"uncorrected: RMS {np.std(before):.3f}")
    a2.hist(after, edges, histtype="step", lw=2, label=f"corrected: RMS {np.std(after):.3f}")
    a2.set_xlabel(f"log(level) about its mean, {name} runs")
    a2.set_ylabel("runs")
    legend(a2)
    for ax in (a1, a2):
        label(ax)
    fig.tight_layout()
    return [Path(p) for p in save(fig, directory, "run_level")]


def plot_training(result: TrainResult, directory: str | os.PathLike[str]) -> list[Path]:
    """All plots of a training result: curves plus ROC (peaks) or N_pred vs N_true (clusters).

    Parameters
    ----------
    result : TrainResult
        From :func:`~ccreco.models.train_peaks.train_peak_model` or
        :func:`~ccreco.models.train_clusters.train_cluster_model`.
    directory : path-like
        Output directory (created).

    Returns
    -------
    list of pathlib.Path
        The written files.
    """
    out = Path(directory)
    kind = result.info.kind
    history = result.history
    best = result.fit.best_epoch
    if kind == "peaks":
        files = plot_history(history, PEAK_CURVES, out, "peaks", best)
        y, p = result.y_val, result.p_val
        if 0 < np.sum(y > 0.5) < y.size:
            files.append(plot_roc(y, p, out / "peaks_roc.png", result.train_config.threshold))
        return files
    files = plot_history(history, CLUSTER_CURVES, out, "clusters", best)
    files.append(plot_counts(result.y_val, result.p_val, out / "clusters_npred_vs_ntrue.png"))
    return files


__all__ = ["CLUSTER_CURVES", "PEAK_CURVES", "plot_counts", "plot_history", "plot_roc", "plot_run_level",
           "plot_training"]
