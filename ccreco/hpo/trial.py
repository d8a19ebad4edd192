"""One HPO trial: train a model on a prepared sample, measure its metrics, speed and resources.

:func:`run_peak_trial` trains the step-1 classifier on candidate windows, :func:`run_cluster_trial`
the step-2 CNN on step-1 peak times (both through :mod:`ccreco.models`), exports the model with
:meth:`ccreco.models.training.TrainResult.export` (the one ONNX export path) and times it in
ONNX Runtime. The trial returns the ONNX bytes (``_onnx``) so that the process that records the
study keeps the model, wherever the trial ran.

Resources are measured in the process that trains (a dask worker or the main process):

- ``cpu_s``: user + system CPU time of the process during the trial
  (``resource.getrusage(RUSAGE_SELF)``, all threads);
- ``cpus_used``: ``cpu_s / wall_s``, the mean number of busy CPUs;
- ``peak_rss_mb``: the largest resident set size seen during the trial (sampled every 20 ms by
  a background thread with psutil), ``rss_start_mb`` the one at its start;
- ``maxrss_mb``: the process's own peak resident size after the trial, a high-water mark over
  the process's life (``VmHWM``, :func:`ccreco._memory.peak_rss`); ``maxrss_source`` says
  ``"VmHWM"``, or ``"ru_maxrss"`` where ``/proc`` is absent (that one includes, in a worker or
  subprocess, its parent's peak at the fork);
- ``wall_s``: wall time of the trial (loading, training, export, throughput).
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import socket
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ccreco._memory import peak_rss
from ccreco.errors import ConfigError

#: Objective-less bookkeeping keys that a search space may not set.
RESERVED: tuple[str, ...] = ("seed",)
#: Windows (or arrays) timed for the ONNX Runtime throughput.
THROUGHPUT_N: int = 4096


@contextmanager
def measure_resources(interval_s: float = 0.02) -> Iterator[dict[str, float | str]]:
    """Measure CPU time, wall time and memory of this process over a ``with`` block.

    Parameters
    ----------
    interval_s : float
        Sampling period of the resident set size.

    Yields
    ------
    dict
        Filled on exit with ``cpu_s``, ``cpus_used``, ``wall_s``, ``peak_rss_mb``,
        ``rss_start_mb``, ``maxrss_mb`` and ``maxrss_source`` (see the module docstring).
    """
    import psutil

    proc = psutil.Process()
    out: dict[str, float | str] = {}
    start_rss = proc.memory_info().rss
    peak = [start_rss]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(interval_s):
            try:
                peak[0] = max(peak[0], proc.memory_info().rss)
            except psutil.Error:  # pragma: no cover - process going away
                return

    thread = threading.Thread(target=sample, name="ccreco-hpo-rss", daemon=True)
    wall0, ru0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    thread.start()
    try:
        yield out
    finally:
        stop.set()
        thread.join()
        peak[0] = max(peak[0], proc.memory_info().rss)
        ru1, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - wall0
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        maxrss_mb, maxrss_source = peak_rss()
        out.update(
            cpu_s=float(cpu),
            cpus_used=float(cpu / wall) if wall > 0 else 0.0,
            wall_s=float(wall),
            peak_rss_mb=peak[0] / 2**20,
            rss_start_mb=start_rss / 2**20,
            maxrss_mb=maxrss_mb,
            maxrss_source=maxrss_source,
        )


def _field_types(cls: type) -> dict[str, str]:
    return {f.name: str(f.type) for f in dataclasses.fields(cls)}


def _as_tuple_of_int(name: str, value: Any) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),)
    if isinstance(value, str):
        try:
            return tuple(int(v) for v in value.split(",") if v.strip())
        except ValueError:
            raise ConfigError(f"hyperparameter {name}={value!r}: expected comma-separated integers") from None
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value)
    raise ConfigError(f"hyperparameter {name}={value!r}: expected an integer or 'a,b,...'")


def _as_conv(value: Any) -> tuple[tuple[int, int], ...]:
    if isinstance(value, str):
        layers = []
        for item in value.split(","):
            filters, sep, kernel = item.strip().partition("x")
            if not sep:
                raise ConfigError(f"hyperparameter conv={value!r}: expected 'FILTERSxKERNEL,...' e.g. '32x4,16x4'")
            layers.append((int(filters), int(kernel)))
        return tuple(layers)
    return tuple((int(f), int(k)) for f, k in value)


def split_params(kind: str, params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split sampled hyperparameters into model-config and training-config fields.

    Parameters
    ----------
    kind : {"peaks", "clusters"}
        The step (``PeakModelConfig`` or ``ClusterModelConfig`` fields, plus ``TrainConfig``).
    params : mapping
        Sampled values. Conveniences: peaks ``dense = 64`` means ``dense = (64, 1)`` (one hidden
        dense layer before the output); clusters ``dense = 32`` or ``"32,16"``; clusters
        ``conv = "32x4,16x4"``.

    Returns
    -------
    (dict, dict)
        Model and training fields.

    Raises
    ------
    ConfigError
        A name that is neither a model nor a training field, or ``seed`` (the study's).
    """
    from ccreco.models.config import ClusterModelConfig, PeakModelConfig, TrainConfig

    model_cls = PeakModelConfig if kind == "peaks" else ClusterModelConfig
    model_fields, train_fields = _field_types(model_cls), _field_types(TrainConfig)
    model_kw: dict[str, Any] = {}
    train_kw: dict[str, Any] = {}
    for name, value in params.items():
        if name in RESERVED:
            raise ConfigError(f"hyperparameter {name!r} is set by the study (--seed), not by the space")
        if name in model_fields:
            if name == "dense":
                value = _as_tuple_of_int(name, value)
                if kind == "peaks" and len(value) == 1:
                    value = (value[0], 1)
            elif name == "conv":
                value = _as_conv(value)
            elif name == "extra":
                value = tuple(value) if not isinstance(value, str) else tuple(v for v in value.split(",") if v)
            model_kw[name] = value
        elif name in train_fields:
            train_kw[name] = value
        else:
            known = sorted(set(model_fields) | set(train_fields) - set(RESERVED))
            raise ConfigError(f"unknown hyperparameter {name!r} for {kind}; known: {', '.join(known)}")
    return model_kw, train_kw


def check_names(kind: str, names: Iterable[str]) -> None:
    """Refuse hyperparameter names that no trial of ``kind`` could use (before any training).

    Parameters
    ----------
    kind : {"peaks", "clusters"}
        The step.
    names : iterable of str
        Names of the search space.

    Raises
    ------
    ConfigError
        The first unknown or reserved name, with the known ones.
    """
    from ccreco.models.config import ClusterModelConfig, PeakModelConfig, TrainConfig

    model_cls = PeakModelConfig if kind == "peaks" else ClusterModelConfig
    known = (set(_field_types(model_cls)) | set(_field_types(TrainConfig))) - set(RESERVED)
    for name in names:
        if name in RESERVED:
            raise ConfigError(f"hyperparameter {name!r} is set by the study (--seed), not by the space")
        if name not in known:
            raise ConfigError(f"unknown hyperparameter {name!r} for {kind}; known: {', '.join(sorted(known))}")


def build_configs(kind: str, params: Mapping[str, Any], seed: int) -> tuple[Any, Any]:
    """Model and training configurations of a trial: the step's defaults with ``params`` applied.

    Peaks start from the ``compact`` preset and :data:`~ccreco.models.config.PEAK_TRAIN`,
    clusters from ``ihep`` and :data:`~ccreco.models.config.CLUSTER_TRAIN`.

    Parameters
    ----------
    kind : {"peaks", "clusters"}
        The step.
    params : mapping
        Sampled hyperparameters (see :func:`split_params`).
    seed : int
        Training seed.

    Returns
    -------
    (model_config, TrainConfig)
        Validated configurations (invalid values raise :class:`~ccreco.errors.ConfigError`).
    """
    from ccreco.models.config import CLUSTER_PRESETS, CLUSTER_TRAIN, PEAK_PRESETS, PEAK_TRAIN

    if kind not in ("peaks", "clusters"):
        raise ConfigError(f"kind must be peaks or clusters; got {kind!r}")
    model_kw, train_kw = split_params(kind, params)
    base_model = PEAK_PRESETS["compact"] if kind == "peaks" else CLUSTER_PRESETS["ihep"]
    base_train = PEAK_TRAIN if kind == "peaks" else CLUSTER_TRAIN
    model_cfg = dataclasses.replace(base_model, **model_kw)
    train_cfg = dataclasses.replace(base_train, seed=int(seed), **train_kw)
    train_cfg.resolved_loss(kind)  # a loss of the other step fails here, before training
    return model_cfg, train_cfg


def onnx_throughput(
    path: str | Path, inputs: np.ndarray, batch: int = 256, repeats: int = 3, extra: np.ndarray | None = None
) -> float:
    """Examples per second of an exported model in ONNX Runtime (one thread, best of ``repeats``).

    Parameters
    ----------
    path : path-like
        The ONNX file (its first input is fed).
    inputs : numpy.ndarray
        float32 inputs with the batch on axis 0, e.g. ``(n, L, 1)`` windows or ``(n, bins, 1)``
        encoded peak times.
    batch : int
        Batch size.
    repeats : int
        Timing repetitions.
    extra : numpy.ndarray, optional
        ``(n, k)`` float32 fed to the model's second input (a CNN with extra scalar inputs such
        as ``track_length_cm``).

    Returns
    -------
    float
        Throughput in windows/s (peaks) or arrays/s (clusters).
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    x = np.ascontiguousarray(inputs, dtype=np.float32)
    e = None if extra is None else np.ascontiguousarray(extra, dtype=np.float32).reshape(x.shape[0], -1)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for s in range(0, x.shape[0], batch):
            feed = {names[0]: x[s : s + batch]}
            if e is not None:
                feed[names[1]] = e[s : s + batch]
            sess.run(None, feed)
        best = min(best, time.perf_counter() - t0)
    return x.shape[0] / best


def load_sample(data: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Arrays of a prepared sample (see :mod:`ccreco.hpo.data`), from an ``.npz`` or a mapping.

    Parameters
    ----------
    data : path-like or mapping
        The ``.npz`` (read with ``allow_pickle=False``) or the arrays already loaded.

    Returns
    -------
    dict
        Array name to array; ``info`` decoded from JSON when present.
    """
    if isinstance(data, Mapping):
        out = dict(data)
    else:
        with np.load(data, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
    if "info" in out and not isinstance(out["info"], Mapping):
        out["info"] = json.loads(str(out["info"]))
    return out


def _finish(result: Any, kind: str, x: np.ndarray, extra: np.ndarray | None = None) -> dict[str, Any]:
    """Metrics, size, ONNX export (bytes kept) and ORT throughput of a trained model."""
    # The validation loss is reported as ``val_loss``: ``loss`` names the loss-function
    # hyperparameter of the search space.
    out: dict[str, Any] = {
        ("val_loss" if k == "loss" else k): float(v)
        for k, v in result.metrics.items()
        if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool)
    }
    out.update(
        n_params=int(sum(p.numel() for p in result.model.parameters())),
        best_epoch=int(result.fit.best_epoch),
        epochs_run=len(result.history),
        loss_fn=result.train_config.resolved_loss(kind),
    )
    with tempfile.TemporaryDirectory(prefix="ccreco-hpo-") as tmp:
        path = Path(tmp) / "model.onnx"
        result.export(path)
        out["throughput_per_s"] = float(onnx_throughput(path, x, extra=extra))
        out["_onnx"] = path.read_bytes()
    out["host"] = f"{socket.gethostname()}:{os.getpid()}"
    return out


def run_peak_trial(
    params: Mapping[str, Any],
    data: str | os.PathLike[str] | Mapping[str, Any],
    *,
    seed: int = 0,
    hpo_info: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Train one step-1 model and return its metrics, speed and resource usage.

    Parameters
    ----------
    params : mapping
        Sampled hyperparameters: ``PeakModelConfig`` and ``TrainConfig`` fields (see
        :func:`split_params`).
    data : path-like or mapping
        Prepared sample with ``windows``, ``labels`` and optionally ``sampling_ns`` and ``info``
        (:func:`ccreco.hpo.data.prepare_peaks`).
    seed : int
        Training seed.
    hpo_info : mapping, optional
        Study name and trial number, stored in the model's ``train_sample`` metadata.

    Returns
    -------
    dict
        Validation metrics (``auc``, ``f1``, ``precision``, ``recall``, ``efficiency_purity``,
        ``accuracy``, ``val_loss``, the ``natural_*`` ones, ``threshold``), ``n_params``,
        ``best_epoch``, ``epochs_run``, ``loss_fn``, ``throughput_per_s`` (windows/s),
        the resources of :func:`measure_resources`, ``host`` and ``_onnx`` (the model bytes).
    """
    with measure_resources() as res:
        from ccreco.models.train_peaks import train_peak_model

        model_cfg, train_cfg = build_configs("peaks", params, seed)
        sample = load_sample(data)
        info = dict(sample.get("info") or {})
        candidates = info.get("candidates")
        info["hpo"] = dict(hpo_info or {}, params=dict(params))
        windows = np.asarray(sample["windows"], dtype=np.float32)
        kwargs: dict[str, Any] = {"sample": info}
        if "sampling_ns" in sample:
            kwargs["sampling_ns"] = float(sample["sampling_ns"])
        if candidates is not None:
            kwargs["candidates"] = candidates
        result = train_peak_model(windows, np.asarray(sample["labels"]), model_cfg, train_cfg, **kwargs)
        x = windows[:THROUGHPUT_N]
        out = _finish(result, "peaks", x if x.ndim == 3 else x[:, :, None])
    out.update(res)
    return out


def run_cluster_trial(
    params: Mapping[str, Any],
    data: str | os.PathLike[str] | Mapping[str, Any],
    *,
    seed: int = 0,
    hpo_info: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Train one step-2 CNN on step-1 peak times and return metrics, speed and resources.

    Parameters
    ----------
    params : mapping
        Sampled hyperparameters: ``ClusterModelConfig`` and ``TrainConfig`` fields (see
        :func:`split_params`).
    data : path-like or mapping
        Prepared sample with flat ``times`` (ns), ``offsets`` (``n + 1``), ``n_true`` and
        optionally ``sampling_ns``, ``info`` and ``extra_<name>`` per-waveform scalars for a
        model with extra inputs (:func:`ccreco.hpo.data.prepare_clusters`).
    seed : int
        Training seed.
    hpo_info : mapping, optional
        Study name and trial number, stored in the model's ``train_sample`` metadata.

    Returns
    -------
    dict
        Validation metrics (``mae``, ``bias``, ``rms``, ``std``, ``rms_over_sqrt_n``,
        ``resolution``, ``val_loss``), ``n_params``, ``best_epoch``, ``epochs_run``, ``loss_fn``,
        ``throughput_per_s`` (arrays/s), the resources of :func:`measure_resources`, ``host``
        and ``_onnx`` (the model bytes).
    """
    with measure_resources() as res:
        from ccreco.models.encoding import encode_peak_times
        from ccreco.models.train_clusters import train_cluster_model

        model_cfg, train_cfg = build_configs("clusters", params, seed)
        sample = load_sample(data)
        extra = None
        if model_cfg.extra:
            missing = [k for k in model_cfg.extra if f"extra_{k}" not in sample]
            if missing:
                have = sorted(k[len("extra_"):] for k in sample if k.startswith("extra_"))
                raise ConfigError(
                    f"extra input(s) {', '.join(missing)} not in the prepared sample (it holds: "
                    f"{', '.join(have) or 'none'}); prepare it with prepare_clusters(..., extra=...) "
                    "(the CLI takes the names from the space's `extra`)"
                )
            extra = {k: np.asarray(sample[f"extra_{k}"], dtype=np.float32) for k in model_cfg.extra}
        times = np.asarray(sample["times"], dtype=np.float64)
        offsets = np.asarray(sample["offsets"], dtype=np.int64)
        peak_times = [times[offsets[i] : offsets[i + 1]] for i in range(offsets.size - 1)]
        info = dict(sample.get("info") or {})
        info["hpo"] = dict(hpo_info or {}, params=dict(params))
        kwargs: dict[str, Any] = {"sample": info}
        if "sampling_ns" in sample:
            kwargs["sampling_ns"] = float(sample["sampling_ns"])
        result = train_cluster_model(peak_times, np.asarray(sample["n_true"]), model_cfg, train_cfg, extra=extra,
                                     **kwargs)
        x = encode_peak_times(peak_times[:THROUGHPUT_N], model_cfg.to_encoding())
        ex = None if extra is None else np.stack([v[:THROUGHPUT_N] for v in extra.values()], axis=1)
        out = _finish(result, "clusters", x, ex)
    out.update(res)
    return out


#: Trial function per step.
TRIAL_FUNCTIONS: dict[str, Any] = {"peaks": run_peak_trial, "clusters": run_cluster_trial}

__all__ = [
    "THROUGHPUT_N",
    "TRIAL_FUNCTIONS",
    "build_configs",
    "check_names",
    "load_sample",
    "measure_resources",
    "onnx_throughput",
    "run_cluster_trial",
    "run_peak_trial",
    "split_params",
]
