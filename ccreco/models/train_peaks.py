"""Step-1 training: candidate windows + signal/noise labels -> trained peak classifier.

The sample is balanced by undersampling the majority class (configurable), shuffled across
files, capped, split 70/30 (``validation_fraction``) and fed to :func:`ccreco.models.training.fit`
with Adam and binary cross-entropy by default. The window normalisation scale is fitted on the
training part and stored in the model graph and metadata.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ccreco.constants import SAMPLING_NS
from ccreco.errors import ConfigError
from ccreco.models.config import PEAK_PRESETS, PEAK_TRAIN, PeakModelConfig, TrainConfig
from ccreco.models.metrics import peak_metrics
from ccreco.models.model import build_peak_model
from ccreco.models.training import TrainResult, fit, predict, split_indices


def balance_indices(labels: np.ndarray, cfg: TrainConfig, rng: np.random.Generator) -> np.ndarray:
    """Indices of the examples kept by the class balancing of ``cfg``, shuffled.

    Parameters
    ----------
    labels : numpy.ndarray
        0/1 labels.
    cfg : TrainConfig
        ``balance`` ("undersample" keeps ``noise_per_signal`` noise windows per signal window,
        undersampling whichever class is in excess; "none" keeps all) and ``max_samples``.
    rng : numpy.random.Generator
        Seeded generator.

    Returns
    -------
    numpy.ndarray
        int64 indices into ``labels``, in random order.
    """
    labels = np.asarray(labels)
    sig = np.flatnonzero(labels == 1)
    noise = np.flatnonzero(labels == 0)
    if cfg.balance == "undersample" and sig.size and noise.size:
        n_noise = min(noise.size, int(round(sig.size * cfg.noise_per_signal)))
        n_sig = min(sig.size, int(round(n_noise / cfg.noise_per_signal)))
        sig = rng.choice(sig, size=max(n_sig, 1), replace=False)
        noise = rng.choice(noise, size=max(n_noise, 1), replace=False)
    keep = rng.permutation(np.concatenate([sig, noise]))
    if cfg.max_samples is not None:
        keep = keep[: cfg.max_samples]
    return keep.astype(np.int64)


#: Decision thresholds scanned for the natural-mix F1 (applied with ``auto_threshold``).
THRESHOLD_SCAN: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98)


def natural_metrics(
    model: torch.nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    unseen: np.ndarray,
    threshold: float,
    rng: np.random.Generator,
    max_windows: int = 500_000,
    auto: bool = False,
) -> dict[str, float]:
    """Metrics on windows never trained on, at the sample's natural signal/noise mix.

    Undersampling leaves the validation set balanced, which flatters precision. Here the
    validation signal windows are joined by noise windows not used in training (validation
    noise plus those the balancing dropped) in the proportion of the full sample.

    Parameters
    ----------
    model : torch.nn.Module
        The trained classifier.
    x, y : numpy.ndarray
        All windows and labels, before balancing.
    unseen : numpy.ndarray
        bool, windows not in the training split.
    threshold : float
        The stored decision threshold.
    rng : numpy.random.Generator
        Seeded generator (subsampling).
    max_windows : int
        Cap on the windows evaluated.
    auto : bool
        Report the ``natural_<metric>`` at the scanned threshold with the best F1 instead.

    Returns
    -------
    dict
        ``natural_<metric>`` at ``threshold`` (the chosen one with ``auto``), the threshold used
        (``threshold``), ``natural_noise_per_signal``, and the scanned threshold with the best
        natural F1 (``natural_best_threshold``, ``natural_best_f1``).
    """
    sig = np.flatnonzero(unseen & (y == 1))
    noise = np.flatnonzero(unseen & (y == 0))
    n_sig_all, n_noise_all = int(np.sum(y == 1)), int(np.sum(y == 0))
    if sig.size == 0 or noise.size == 0 or n_sig_all == 0:
        return {}
    ratio = n_noise_all / n_sig_all
    n_sig = min(sig.size, int(max_windows / (1 + ratio)) or 1)
    sig = rng.choice(sig, n_sig, replace=False)
    n_noise = min(noise.size, int(round(n_sig * ratio)))
    noise = rng.choice(noise, n_noise, replace=False)
    idx = np.concatenate([sig, noise])
    p = predict(model, [x[idx]])
    t = y[idx]
    scan = {thr: peak_metrics(t, p, thr)["f1"] for thr in THRESHOLD_SCAN}
    best = max(scan, key=scan.__getitem__)
    used = best if auto else threshold
    out = {f"natural_{k}": v for k, v in peak_metrics(t, p, used).items()}
    out.update(
        threshold=used,
        natural_noise_per_signal=n_noise / n_sig,
        natural_best_threshold=best,
        natural_best_f1=scan[best],
    )
    return out


def train_peak_model(
    windows: np.ndarray,
    labels: np.ndarray,
    model_config: PeakModelConfig | str = "compact",
    train_config: TrainConfig = PEAK_TRAIN,
    *,
    sampling_ns: float = SAMPLING_NS,
    sample: Mapping[str, Any] | None = None,
    candidates: Mapping[str, Any] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
) -> TrainResult:
    """Train the step-1 classifier on in-memory windows.

    Parameters
    ----------
    windows : numpy.ndarray
        Raw candidate windows, shape ``(n, L)`` or ``(n, L, 1)`` with
        ``L = model_config.window_length`` (windows from several files concatenated).
    labels : numpy.ndarray
        1 for a signal (electron) peak, 0 for noise, shape ``(n,)``.
    model_config : PeakModelConfig or str
        Topology, or a :data:`~ccreco.models.config.PEAK_PRESETS` name.
    train_config : TrainConfig
        Training options (defaults: Adam, BCE, batch 150, 50 epochs, patience 10, 70/30).
    sampling_ns : float
        Sampling period of the data (stored in the model and checked at inference).
    sample : mapping, optional
        Description of where the windows come from (files, waveforms, simulation preset);
        stored in the model metadata.
    candidates : mapping, optional
        The :class:`~ccreco.kernels.candidates.CandidateConfig` fields that produced the
        windows, stored as ``candidates`` metadata so inference selects candidates the same way.
    checkpoint : path-like, optional
        Keep the best weights in this file (``torch.save``) rather than in memory.

    Returns
    -------
    TrainResult
        The trained model (best epoch), history, validation metrics and predictions.

    Raises
    ------
    ConfigError
        Windows whose length differs from the configuration's, or labels of another length.
    """
    cfg = PEAK_PRESETS[model_config] if isinstance(model_config, str) else model_config
    x = np.asarray(windows, dtype=np.float32)
    if x.ndim == 2:
        x = x[:, :, None]
    y = np.asarray(labels).reshape(-1)
    if x.ndim != 3 or x.shape[1:] != cfg.input_shape:
        raise ConfigError(
            f"windows of shape {np.shape(windows)}; the model takes (n, {cfg.window_length}, 1) "
            f"(window_left={cfg.window_left}, window_right={cfg.window_right})"
        )
    if y.shape[0] != x.shape[0]:
        raise ConfigError(f"{y.shape[0]} labels for {x.shape[0]} windows")
    if not np.isin(y, (0, 1)).all():
        raise ConfigError("labels must be 0 (noise) or 1 (signal)")
    loss = train_config.resolved_loss("peaks")
    train_config = dataclasses.replace(train_config, loss=loss)  # recorded resolved
    rng = np.random.default_rng(train_config.seed)
    keep = balance_indices(y, train_config, rng)
    x_all, y_all = x, y
    x, y = x[keep], y[keep].astype(np.float32)
    tr, va = split_indices(keep.size, train_config.validation_fraction, rng)
    trained_on = np.zeros(y_all.size, dtype=bool)
    trained_on[keep[tr]] = True
    torch.manual_seed(train_config.seed)
    model, info = build_peak_model(cfg)
    scale = model.set_normalization(torch.from_numpy(x[tr]))
    thr = train_config.threshold
    result = fit(
        model,
        ([x[tr]], y[tr]),
        ([x[va]], y[va]),
        train_config,
        loss=loss,
        metrics=lambda t, p: peak_metrics(t, p, thr),
        checkpoint=checkpoint,
        desc=f"train peaks ({cfg.cell} {cfg.hidden})",
    )
    best = result.history[result.best_epoch - 1]
    metrics = {k.removeprefix("val_"): v for k, v in best.items() if k.startswith("val_")}
    p_val = predict(model, [x[va]])
    metrics.update(natural_metrics(model, x_all, y_all, ~trained_on, thr, rng, auto=train_config.auto_threshold))
    if metrics.get("threshold", thr) != thr:  # auto_threshold: balanced metrics at the chosen cut
        thr = float(metrics["threshold"])
        metrics.update(peak_metrics(y[va], p_val, thr))
    metrics["threshold"] = thr
    info_sample = dict(sample or {})
    info_sample.update(
        n_windows_in=int(np.asarray(labels).size),
        n_signal_in=int(np.sum(np.asarray(labels) == 1)),
        n_used=int(keep.size),
        n_train=int(tr.size),
        n_validation=int(va.size),
        n_signal_train=int(y[tr].sum()),
        n_signal_validation=int(y[va].sum()),
        seed=train_config.seed,
    )
    return TrainResult(
        model=model,
        info=info,
        model_config=cfg,
        train_config=train_config,
        fit=result,
        metrics=metrics,
        y_val=y[va],
        p_val=p_val,
        sample=info_sample,
        metadata={
            "sampling_ns": float(sampling_ns),
            "window_left": cfg.window_left,
            "window_right": cfg.window_right,
            "normalization": {"kind": "window_mean_subtracted_then_scaled", "scale": scale, "in_graph": True},
            "threshold": thr,
            **({"candidates": dict(candidates)} if candidates is not None else {}),
        },
    )


__all__ = ["THRESHOLD_SCAN", "balance_indices", "natural_metrics", "train_peak_model"]
