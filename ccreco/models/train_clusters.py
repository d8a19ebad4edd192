"""Step-2 training: detected peak times + MC-truth cluster counts -> trained cluster CNN.

Peak times are encoded by :func:`ccreco.models.encoding.encode_peak_times` (the same function
inference uses), the target is the truth ``n_clusters``, and the CNN is trained with RMSprop and
MSE on the standardised target by default; the history reports MAE (the reference metric),
RMSE, bias and RMS / sqrt(N).
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
from ccreco.models.config import (
    CLUSTER_PRESETS,
    CLUSTER_TRAIN,
    ClusterModelConfig,
    PeakClusterConfig,
    TrainConfig,
)
from ccreco.models.encoding import GEOMETRY_INPUTS, encode_peak_times
from ccreco.models.metrics import cluster_metrics, waveform_cluster_metrics
from ccreco.models.model import build_cluster_model, build_peak_cluster_model
from ccreco.models.training import TrainResult, fit, predict, split_indices


def _extra_matrix(cfg: ClusterModelConfig, extra: Mapping[str, Any] | np.ndarray | None, n: int) -> np.ndarray | None:
    if not cfg.extra:
        if extra is not None:
            raise ConfigError("extra inputs given but the model configuration has extra=()")
        return None
    if extra is None:
        raise ConfigError(f"the model configuration needs extra inputs {list(cfg.extra)}")
    if isinstance(extra, Mapping):
        missing = [k for k in cfg.extra if k not in extra]
        if missing:
            raise ConfigError(f"extra inputs {missing} missing")
        arr = np.stack([np.asarray(extra[k], dtype=np.float32).reshape(-1) for k in cfg.extra], axis=1)
    else:
        arr = np.asarray(extra, dtype=np.float32).reshape(n, -1)
    if arr.shape != (n, len(cfg.extra)):
        raise ConfigError(f"extra inputs of shape {arr.shape}, expected ({n}, {len(cfg.extra)})")
    return arr


def train_cluster_model(
    peak_times: Any,
    n_true: np.ndarray,
    model_config: ClusterModelConfig | str = "ihep",
    train_config: TrainConfig = CLUSTER_TRAIN,
    *,
    extra: Mapping[str, Any] | np.ndarray | None = None,
    sampling_ns: float = SAMPLING_NS,
    sample: Mapping[str, Any] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    calibrate: bool = False,
) -> TrainResult:
    """Train the step-2 CNN on in-memory peak times.

    Parameters
    ----------
    peak_times : awkward.Array or sequence of array-like
        Detected peak times (ns from the waveform start), one list per waveform (in practice
        from the step-1 model run on simulated waveforms).
    n_true : numpy.ndarray
        MC-truth number of primary clusters per waveform.
    model_config : ClusterModelConfig or str
        Topology and encoding, or a :data:`~ccreco.models.config.CLUSTER_PRESETS` name.
    train_config : TrainConfig
        Training options (defaults: RMSprop, MSE, batch 250, 200 epochs, patience 20, 70/30).
    extra : mapping or numpy.ndarray, optional
        Per-waveform scalar inputs named by ``model_config.extra`` (e.g. track length).
    sampling_ns : float
        Sampling period of the data (stored and checked at inference).
    sample : mapping, optional
        Description of the training sample (files, step-1 model), stored in the metadata.
    checkpoint : path-like, optional
        Keep the best weights in this file instead of in memory.
    calibrate : bool
        Fit the line mean N_pred = intercept + slope * N_true on the validation waveforms
        (:func:`ccreco.analysis.metrics.profile_fit`) and store it as ``calibration`` in the
        metadata; :class:`~ccreco.models.inference.ClusterModel` then inverts it.

    Returns
    -------
    TrainResult
        The trained CNN, history, validation metrics and predictions.
    """
    cfg = CLUSTER_PRESETS[model_config] if isinstance(model_config, str) else model_config
    encoding = cfg.to_encoding()
    x = encode_peak_times(peak_times, encoding)
    y = np.asarray(n_true, dtype=np.float32).reshape(-1)
    if y.shape[0] != x.shape[0]:
        raise ConfigError(f"{y.shape[0]} targets for {x.shape[0]} waveforms")
    ex = _extra_matrix(cfg, extra, x.shape[0])
    loss = train_config.resolved_loss("clusters")
    if (loss == "poisson") != (cfg.output == "exp"):
        raise ConfigError(f"loss {loss!r} with output {cfg.output!r}: the poisson loss goes with output='exp' "
                          "and the other losses with output='linear'")
    train_config = dataclasses.replace(train_config, loss=loss)  # recorded resolved
    rng = np.random.default_rng(train_config.seed)
    keep = rng.permutation(x.shape[0])
    if train_config.max_samples is not None:
        keep = keep[: train_config.max_samples]
    tr, va = (keep[i] for i in split_indices(keep.size, train_config.validation_fraction, rng))
    torch.manual_seed(train_config.seed)
    model, info = build_cluster_model(cfg)
    norm = model.set_normalization(torch.from_numpy(y[tr]), None if ex is None else torch.from_numpy(ex[tr]))
    inputs_tr = [x[tr]] + ([] if ex is None else [ex[tr]])
    inputs_va = [x[va]] + ([] if ex is None else [ex[va]])
    result = fit(
        model,
        (inputs_tr, y[tr]),
        (inputs_va, y[va]),
        train_config,
        loss=loss,
        metrics=cluster_metrics,
        checkpoint=checkpoint,
        desc="train clusters (cnn)",
    )
    best = result.history[result.best_epoch - 1]
    metrics = {k.removeprefix("val_"): v for k, v in best.items() if k.startswith("val_")}
    p_val = predict(model, inputs_va)
    calibration = None
    if calibrate:
        line = waveform_cluster_metrics(y[va], p_val)
        if np.isfinite(line["slope"]) and line["slope"] > 0:
            calibration = {"slope": line["slope"], "intercept": line["intercept"],
                           "slope_range": line["slope_range"], "n_waveforms": int(va.size)}
    info_sample = dict(sample or {})
    info_sample.update(
        n_waveforms_in=int(x.shape[0]),
        n_used=int(keep.size),
        n_train=int(tr.size),
        n_validation=int(va.size),
        mean_n_true=float(y.mean()) if y.size else float("nan"),
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
            "encoding": {
                "kind": encoding.kind,
                "bins": encoding.bins,
                "window_ns": encoding.window_ns,
                "bin_ns": encoding.bin_ns,
                "t0_ns": encoding.t0_ns,
            },
            "extra_inputs": list(cfg.extra),
            "target": "n_clusters (MC truth, primary clusters)",
            "normalization": dict(norm, in_graph=True),
            **({"calibration": calibration} if calibration is not None else {}),
        },
    )


#: Training defaults of the per-peak model (Adam, Poisson likelihood, large batches: one
#: example is one candidate, about a hundred per waveform).
PEAK_CLUSTER_TRAIN: TrainConfig = TrainConfig(
    optimizer="adam", batch_size=2048, epochs=30, patience=5, balance="none", learning_rate=2e-3
)

#: Default topology of the per-peak model (``PeakClusterConfig`` is frozen: one shared instance).
_DEFAULT_PEAK_CLUSTER = PeakClusterConfig()


#: Quantiles of the training waveforms' summaries stored as a per-peak model's ``input_ranges``.
INPUT_RANGE_QUANTILES: tuple[float, float] = (0.005, 0.995)


def waveform_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sum per-candidate values within each waveform.

    Parameters
    ----------
    values : numpy.ndarray
        ``(m,)`` per-candidate values.
    offsets : numpy.ndarray
        ``(n + 1,)`` waveform offsets.

    Returns
    -------
    numpy.ndarray
        float64 ``(n,)`` (0 for a waveform without candidates).
    """
    csum = np.concatenate([[0.0], np.cumsum(np.asarray(values, dtype=np.float64))])
    off = np.asarray(offsets, dtype=np.int64)
    sums: np.ndarray = csum[off[1:]] - csum[off[:-1]]
    return sums


def _per_peak_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    y, p = np.asarray(y, np.float64), np.asarray(p, np.float64)
    return {"mean_target": float(y.mean()) if y.size else float("nan"),
            "mean_prediction": float(p.mean()) if p.size else float("nan")}


def train_peak_cluster_model(
    sample: Mapping[str, Any],
    model_config: PeakClusterConfig = _DEFAULT_PEAK_CLUSTER,
    train_config: TrainConfig = PEAK_CLUSTER_TRAIN,
    *,
    checkpoint: str | os.PathLike[str] | None = None,
) -> TrainResult:
    """Train the per-peak cluster model (formulation (b) of step 2).

    Parameters
    ----------
    sample : mapping
        Output of :func:`ccreco.models.dataset.peak_cluster_sample` made with
        ``model_config.context``.
    model_config : PeakClusterConfig
        Context and topology.
    train_config : TrainConfig
        Optimizer, batch, epochs, patience, seed, threads, validation fraction (the split is
        by waveform; ``max_samples`` limits waveforms).
    checkpoint : path-like, optional
        Keep the best weights in this file.

    Returns
    -------
    TrainResult
        The model; ``metrics`` are waveform-level (:func:`ccreco.analysis.metrics.cluster_metrics`
        of the summed outputs on the validation waveforms: bias, rms, slope, calibrated rms, ...);
        ``y_val`` / ``p_val`` are validation N_true and summed predictions.
    """
    x = np.asarray(sample["x"], dtype=np.float32)
    y = np.asarray(sample["y"], dtype=np.float32)
    off = np.asarray(sample["offsets"], dtype=np.int64)
    n_true = np.asarray(sample["n_true"], dtype=np.float32)
    made_with = sample.get("info", {}).get("channels")
    if made_with is not None and tuple(made_with) != model_config.channels:
        raise ConfigError(f"sample made with channels {list(made_with)}, the model config asks for "
                          f"{list(model_config.channels)} (peak_cluster_sample(..., channels=config.channels))")
    if x.shape[1:] != model_config.input_shape:
        raise ConfigError(f"sample examples of shape {x.shape[1:]}, the model expects {model_config.input_shape} "
                          f"(context {model_config.context})")
    n_wf = off.size - 1
    rng = np.random.default_rng(train_config.seed)
    keep = rng.permutation(n_wf)
    if train_config.max_samples is not None:
        keep = keep[: train_config.max_samples]
    tr_wf, va_wf = (np.sort(keep[i]) for i in split_indices(keep.size, train_config.validation_fraction, rng))

    def rows(wfs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        counts = off[wfs + 1] - off[wfs]
        starts = np.repeat(off[wfs], counts)
        idx = starts + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
        sub = np.zeros(wfs.size + 1, dtype=np.int64)
        np.cumsum(counts, out=sub[1:])
        return idx, sub

    tr, _ = rows(tr_wf)
    va, va_off = rows(va_wf)
    torch.manual_seed(train_config.seed)
    model, info = build_peak_cluster_model(model_config)
    norm = model.set_normalization(torch.from_numpy(x[tr]), torch.from_numpy(y[tr]))
    result = fit(model, ([x[tr]], y[tr]), ([x[va]], y[va]), train_config, loss="poisson",
                 metrics=_per_peak_metrics, checkpoint=checkpoint, desc="train clusters (per-peak)")
    lam = predict(model, [x[va]])
    n_pred = waveform_sums(lam, va_off)
    wm = waveform_cluster_metrics(n_true[va_wf], n_pred)
    metrics = {k: v for k, v in wm.items() if k != "profile" and not isinstance(v, list)}
    metrics["mae"] = float(np.mean(np.abs(n_pred - n_true[va_wf]))) if va_wf.size else float("nan")
    calibration = None
    if np.isfinite(wm["slope"]) and wm["slope"] > 0:
        # the line mean N_reco = intercept + slope * N_true on the validation waveforms; inference
        # inverts it (N = (sum - intercept) / slope) unless asked for the raw sum
        calibration = {"slope": float(wm["slope"]), "intercept": float(wm["intercept"]),
                       "slope_range": list(wm["slope_range"]), "n_waveforms": int(va_wf.size)}
    # the range of the training waveforms' summaries: inference counts the waveforms outside it
    # (PeakClusterModel.outside_training_range), a check that the data are what the model knows
    input_ranges = None
    if sample.get("waveform"):
        lo_q, hi_q = INPUT_RANGE_QUANTILES
        input_ranges = {"quantiles": [lo_q, hi_q], **{
            name: [float(np.quantile(v[tr_wf], lo_q)), float(np.quantile(v[tr_wf], hi_q))]
            for name, v in sorted(sample["waveform"].items()) if tr_wf.size and name not in GEOMETRY_INPUTS.values()}}
        # a given geometry input (|angle|): from 0 (the perpendicular limit) to the largest trained
        for name, v in sample["waveform"].items():
            if name in GEOMETRY_INPUTS.values() and tr_wf.size:
                input_ranges[name] = [0.0, float(np.max(v[tr_wf]))]
    info_sample = dict(sample.get("info", {}))
    info_sample.update(n_waveforms_in=int(n_wf), n_used=int(keep.size), n_train=int(tr_wf.size),
                       n_validation=int(va_wf.size), n_train_candidates=int(tr.size),
                       mean_n_true=float(n_true.mean()) if n_true.size else float("nan"), seed=train_config.seed)
    return TrainResult(
        model=model,
        info=info,
        model_config=model_config,
        train_config=dataclasses.replace(train_config, loss=None),
        fit=result,
        metrics=metrics,
        y_val=n_true[va_wf],
        p_val=n_pred.astype(np.float32),
        sample=info_sample,
        metadata={
            "sampling_ns": float(sample["sampling_ns"]),
            "window_ns": float(sample["window_ns"]),
            "context": int(model_config.context),
            "channels": list(model_config.channels),
            "peak_model": dict(info_sample.get("peak_model", {})),
            "loss": "poisson",
            "target": "primary clusters opened per step-1 candidate; N_clusters = sum over candidates",
            "normalization": dict(norm, in_graph=True),
            "calibration": calibration,
            "input_ranges": input_ranges,
        },
    )


__all__ = ["INPUT_RANGE_QUANTILES", "PEAK_CLUSTER_TRAIN", "train_cluster_model", "train_peak_cluster_model",
           "waveform_sums"]
