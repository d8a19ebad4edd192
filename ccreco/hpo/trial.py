"""One HPO trial: train a step-1 model on prepared arrays and measure metrics and resources.

Resources are measured in the process that trains (a dask worker or the main process):
CPU time from ``resource.getrusage(RUSAGE_SELF)`` (user + system, all threads), mean CPUs used =
CPU time / wall time, and peak memory as ``ru_maxrss`` of that process after the trial (a
high-water mark over the process lifetime, so it is an upper bound for later trials in the
same process) together with its increase during the trial.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ccreco.errors import ConfigError

#: Hyperparameters that go to PeakModelConfig (``dense`` is the first dense layer's width).
MODEL_KEYS: tuple[str, ...] = ("cell", "hidden", "dense", "activation", "dropout")
#: Hyperparameters that go to TrainConfig.
TRAIN_KEYS: tuple[str, ...] = ("optimizer", "learning_rate", "batch_size", "epochs", "patience")


def _maxrss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0 * 1024.0) if sys.platform == "darwin" else rss / 1024.0


def peak_configs(params: Mapping[str, Any], seed: int) -> tuple[Any, Any]:
    """Build (PeakModelConfig, TrainConfig) from sampled hyperparameters.

    Parameters
    ----------
    params : mapping
        Sampled values; unknown names raise.
    seed : int
        Training seed.

    Returns
    -------
    tuple
        The model and training configurations.
    """
    from ccreco.models.config import PeakModelConfig, TrainConfig

    unknown = set(params) - set(MODEL_KEYS) - set(TRAIN_KEYS) - {"fail"}
    if unknown:
        raise ConfigError(f"unknown hyperparameters for peaks: {sorted(unknown)}")
    model_kw = {k: params[k] for k in MODEL_KEYS if k in params}
    if "dense" in model_kw:
        model_kw["dense"] = (int(model_kw["dense"]), 1)
    base = PeakModelConfig()
    model_kw.setdefault("hidden", base.hidden)
    train_kw = {k: params[k] for k in TRAIN_KEYS if k in params}
    return PeakModelConfig(**model_kw), TrainConfig(seed=seed, **train_kw)


def onnx_throughput(path: str | Path, x: np.ndarray, batch: int = 256, repeats: int = 3) -> float:
    """Windows per second of an exported model in ONNX Runtime (one thread, best of ``repeats``).

    Parameters
    ----------
    path : path-like
        The ONNX file.
    x : numpy.ndarray
        Inputs, shape ``(n, L, 1)`` float32.
    batch : int
        Batch size.
    repeats : int
        Timing repetitions.

    Returns
    -------
    float
        Throughput in windows/s.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for s in range(0, x.shape[0], batch):
            sess.run(None, {name: x[s : s + batch]})
        best = min(best, time.perf_counter() - t0)
    return x.shape[0] / best


def run_peak_trial(
    params: Mapping[str, Any],
    data: str | Path | Mapping[str, np.ndarray],
    *,
    seed: int = 0,
    export_path: str | Path | None = None,
) -> dict[str, Any]:
    """Train one step-1 model and return its metrics and resource usage.

    Parameters
    ----------
    params : mapping
        Sampled hyperparameters (see :data:`MODEL_KEYS`, :data:`TRAIN_KEYS`); ``fail=True``
        raises on purpose (to test failure handling).
    data : path-like or mapping
        An ``.npz`` with ``windows`` and ``labels`` (loaded with ``allow_pickle=False``) or the
        arrays themselves.
    seed : int
        Training seed.
    export_path : path-like, optional
        Keep the exported ONNX model here (otherwise a temporary file for the throughput).

    Returns
    -------
    dict
        Validation metrics (``auc``, ``f1``, ``precision``, ``recall``, ``efficiency_purity``
        where the trainer reports them), ``n_params``, ``throughput_per_s``, ``cpu_s``,
        ``cpus_used``, ``wall_s``, ``maxrss_mb``, ``maxrss_delta_mb``.
    """
    import torch

    from ccreco.models.train_peaks import train_peak_model

    if params.get("fail"):
        raise RuntimeError("injected failure (fail=true in the search space)")
    wall0, ru0, rss0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF), _maxrss_mb()
    if isinstance(data, Mapping):
        windows, labels = np.asarray(data["windows"]), np.asarray(data["labels"])
    else:
        with np.load(data, allow_pickle=False) as z:
            windows, labels = z["windows"], z["labels"]
    model_cfg, train_cfg = peak_configs(params, seed)
    torch.set_num_threads(train_cfg.threads)
    result = train_peak_model(windows, labels, model_cfg, train_cfg)
    n_params = int(sum(p.numel() for p in result.model.parameters()))
    x = np.ascontiguousarray(windows[: min(4096, windows.shape[0])], dtype=np.float32)
    if x.ndim == 2:
        x = x[:, :, None]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(export_path) if export_path is not None else Path(tmp) / "model.onnx"
        result.export(path)
        throughput = onnx_throughput(path, x)
    ru1, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - wall0
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    out: dict[str, Any] = {
        k: float(v) for k, v in result.metrics.items() if isinstance(v, (int, float))
    }
    rss1 = _maxrss_mb()
    out.update(
        n_params=n_params,
        throughput_per_s=float(throughput),
        best_epoch=int(result.fit.best_epoch),
        cpu_s=float(cpu),
        cpus_used=float(cpu / wall) if wall > 0 else 0.0,
        wall_s=float(wall),
        maxrss_mb=float(rss1),
        maxrss_delta_mb=float(rss1 - rss0),
    )
    return out
