"""Step-1 training: candidate windows + signal/noise labels -> trained peak classifier.

The sample is balanced by undersampling the majority class (configurable), shuffled across
files, capped, split 70/30 (``validation_fraction``) and fed to :func:`ccreco.models.training.fit`
with Adam and binary cross-entropy by default. The window normalisation scale is fitted on the
training part and stored in the model graph and metadata.
"""

from __future__ import annotations

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
    rng = np.random.default_rng(train_config.seed)
    keep = balance_indices(y, train_config, rng)
    x, y = x[keep], y[keep].astype(np.float32)
    tr, va = split_indices(keep.size, train_config.validation_fraction, rng)
    torch.manual_seed(train_config.seed)
    model, info = build_peak_model(cfg)
    scale = model.set_normalization(torch.from_numpy(x[tr]))
    thr = train_config.threshold
    result = fit(
        model,
        ([x[tr]], y[tr]),
        ([x[va]], y[va]),
        train_config,
        loss="bce",
        metrics=lambda t, p: peak_metrics(t, p, thr),
        checkpoint=checkpoint,
        desc=f"train peaks ({cfg.cell} {cfg.hidden})",
    )
    best = result.history[result.best_epoch - 1]
    metrics = {k.removeprefix("val_"): v for k, v in best.items() if k.startswith("val_")}
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
        p_val=predict(model, [x[va]]),
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


__all__ = ["balance_indices", "train_peak_model"]
