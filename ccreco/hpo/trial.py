"""One HPO trial: train a model on a prepared sample, measure its metrics, speed and resources.

:func:`run_peak_trial` trains the step-1 classifier on candidate windows, :func:`run_cluster_trial`
the step-2 CNN on step-1 peak times, :func:`run_peak_cluster_trial` the step-2 per-peak model on
step-1 candidates (all through :mod:`ccreco.models`), exports the model with
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


#: The steps an HPO study can scan: ``peaks`` (step-1 LSTM/GRU), ``clusters`` (step-2 CNN on the
#: peak-time encoding) and ``perpeak`` (step-2 per-peak model, ONNX kind ``peak_clusters``).
KINDS: tuple[str, ...] = ("peaks", "clusters", "perpeak")
#: TrainConfig fields that the per-peak trainer does not use (it always fits the Poisson
#: likelihood on every candidate, without class balancing or a decision threshold); a per-peak
#: space naming one is refused.
PERPEAK_UNUSED: tuple[str, ...] = ("loss", "focal_gamma", "focal_alpha", "huber_delta", "balance",
                                   "noise_per_signal", "threshold", "auto_threshold")
#: Values of the per-peak ``waveform_channels`` parameter that mean "no waveform-level channel".
NO_CHANNELS: tuple[str, ...] = ("", "none")


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ConfigError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")


def _model_class(kind: str) -> type:
    from ccreco.models.config import ClusterModelConfig, PeakClusterConfig, PeakModelConfig

    _check_kind(kind)
    return {"peaks": PeakModelConfig, "clusters": ClusterModelConfig, "perpeak": PeakClusterConfig}[kind]


def _known_names(kind: str) -> tuple[set[str], set[str]]:
    """Model-config and training-config names a space of ``kind`` may set."""
    from ccreco.models.config import TrainConfig

    model = set(_field_types(_model_class(kind))) - set(RESERVED)
    train = set(_field_types(TrainConfig)) - set(RESERVED)
    if kind == "perpeak":
        train -= set(PERPEAK_UNUSED)
    return model, train


def _refuse(kind: str, name: str) -> None:
    if name in RESERVED:
        raise ConfigError(f"hyperparameter {name!r} is set by the study (--seed), not by the space")
    if kind == "perpeak" and name in PERPEAK_UNUSED:
        raise ConfigError(f"hyperparameter {name!r} is not used by the per-peak model (it always trains with the "
                          "Poisson likelihood on every candidate); remove it from the space")
    model, train = _known_names(kind)
    raise ConfigError(f"unknown hyperparameter {name!r} for {kind}; known: {', '.join(sorted(model | train))}")


def waveform_channel_names(value: Any, *, name: str = "waveform_channels") -> tuple[str, ...]:
    """The per-peak ``waveform_channels`` value of a space as a tuple of channel names.

    Parameters
    ----------
    value : str or sequence of str
        ``"wf_score_sum,wf_confident"`` (comma-separated), ``""`` or ``"none"`` for none, or a
        list of names.
    name : str
        Parameter name for the error message.

    Returns
    -------
    tuple of str
        Names from :data:`ccreco.models.encoding.WAVEFORM_CHANNELS`, in the given order.

    Raises
    ------
    ConfigError
        An unknown or repeated name (the message names the parameter and the known channels).

    Examples
    --------
    >>> waveform_channel_names("wf_score_sum, wf_span_ns")
    ('wf_score_sum', 'wf_span_ns')
    >>> waveform_channel_names("none")
    ()
    """
    from ccreco.models.encoding import WAVEFORM_CHANNELS

    if isinstance(value, str):
        items = [] if value.strip().lower() in NO_CHANNELS else [v.strip() for v in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = [str(v).strip() for v in value]
    else:
        raise ConfigError(f"hyperparameter {name}={value!r}: expected comma-separated channel names or 'none'")
    unknown = [v for v in items if v not in WAVEFORM_CHANNELS]
    if unknown or len(set(items)) != len(items):
        what = f"unknown channel(s) {unknown}" if unknown else "a repeated channel"
        raise ConfigError(f"hyperparameter {name}={value!r}: {what}; choose from {', '.join(WAVEFORM_CHANNELS)} "
                          "(comma-separated), or 'none'")
    return tuple(items)


def split_params(kind: str, params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split sampled hyperparameters into model-config and training-config fields.

    Parameters
    ----------
    kind : {"peaks", "clusters", "perpeak"}
        The step (``PeakModelConfig``, ``ClusterModelConfig`` or ``PeakClusterConfig`` fields,
        plus ``TrainConfig``).
    params : mapping
        Sampled values. Conveniences: peaks ``dense = 64`` means ``dense = (64, 1)`` (one hidden
        dense layer before the output); clusters and perpeak ``dense = 32`` or ``"32,16"``;
        clusters ``conv = "32x4,16x4"``; perpeak ``waveform_channels = "wf_score_sum,wf_span_ns"``
        (or ``""``/``"none"``, see :func:`waveform_channel_names`).

    Returns
    -------
    (dict, dict)
        Model and training fields.

    Raises
    ------
    ConfigError
        A name that is neither a model nor a training field, ``seed`` (the study's), or for
        perpeak a training field that the per-peak trainer does not use.
    """
    model_fields, train_fields = _known_names(kind)
    model_kw: dict[str, Any] = {}
    train_kw: dict[str, Any] = {}
    for name, value in params.items():
        if name in model_fields:
            if name == "dense":
                value = _as_tuple_of_int(name, value)
                if kind == "peaks" and len(value) == 1:
                    value = (value[0], 1)
            elif name == "conv":
                value = _as_conv(value)
            elif name == "extra":
                value = tuple(value) if not isinstance(value, str) else tuple(v for v in value.split(",") if v)
            elif name == "waveform_channels":
                value = waveform_channel_names(value, name=name)
            model_kw[name] = value
        elif name in train_fields:
            train_kw[name] = value
        else:
            _refuse(kind, name)
    return model_kw, train_kw


def check_names(kind: str, names: Iterable[str]) -> None:
    """Refuse hyperparameter names that no trial of ``kind`` could use (before any training).

    Parameters
    ----------
    kind : {"peaks", "clusters", "perpeak"}
        The step.
    names : iterable of str
        Names of the search space.

    Raises
    ------
    ConfigError
        The first unknown or reserved name, with the known ones.
    """
    model, train = _known_names(kind)
    for name in names:
        if name not in model | train:
            _refuse(kind, name)


def _param_values(p: Any) -> list[Any]:
    """Every value a space parameter can take (a range: its bounds, enough for the checks)."""
    if p.kind in ("categorical", "fixed"):
        return list(p.choices)
    return [p.low, p.high]


def check_space(kind: str, space: Any) -> None:
    """Refuse a space that no trial of ``kind`` could use, before the sample is prepared.

    Checks the names (:func:`check_names`) and, for ``perpeak``, the values that shape the
    prepared sample: every ``waveform_channels`` choice names known channels, and ``context`` is
    a non-negative integer (choices, fixed value or int range).

    Parameters
    ----------
    kind : {"peaks", "clusters", "perpeak"}
        The step.
    space : SearchSpace
        The space.

    Raises
    ------
    ConfigError
        The first bad name or value; the message names the parameter.
    """
    check_names(kind, (p.name for p in space.params))
    if kind != "perpeak":
        return
    for p in space.params:
        if p.name == "waveform_channels":
            if p.kind not in ("categorical", "fixed"):
                raise ConfigError("space parameter 'waveform_channels': a list of choices such as "
                                  '["none", "wf_score_sum,wf_span_ns"], not a range')
            for choice in p.choices:
                if not isinstance(choice, str):
                    raise ConfigError(f"space parameter 'waveform_channels': choice {choice!r} is not a string; "
                                      'write each choice as comma-separated names, e.g. "wf_score_sum,wf_span_ns"')
                waveform_channel_names(choice, name=p.name)
        elif p.name == "context":
            for v in _param_values(p):
                if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                    raise ConfigError(f"space parameter 'context': {v!r} is not an integer >= 0 "
                                      "(neighbours on each side of a candidate)")


def perpeak_layout(space: Any) -> tuple[int, tuple[str, ...]]:
    """Context and channels of the per-peak sample that every trial of ``space`` can slice.

    The sample is prepared once with the largest ``context`` of the space and every
    waveform-level channel any ``waveform_channels`` choice names (parameters the space leaves
    out take :class:`~ccreco.models.config.PeakClusterConfig`'s defaults); a trial keeps the
    slots ``-context..+context`` around the centre and its own channels
    (:func:`select_context`), which is exactly what the sample of its own context and channels
    would hold (:func:`ccreco.models.encoding.peak_context` fills each slot and channel
    independently).

    Parameters
    ----------
    space : SearchSpace
        A per-peak space (checked by :func:`check_space`).

    Returns
    -------
    (int, tuple of str)
        The context and the channel names (:data:`~ccreco.models.encoding.CONTEXT_CHANNELS`
        followed by the waveform-level ones in :data:`~ccreco.models.encoding.WAVEFORM_CHANNELS`
        order).
    """
    from ccreco.models.config import PeakClusterConfig
    from ccreco.models.encoding import WAVEFORM_CHANNELS, context_channels

    check_space("perpeak", space)
    base = PeakClusterConfig()
    by_name = {p.name: p for p in space.params}
    contexts = [int(v) for v in _param_values(by_name["context"])] if "context" in by_name else [base.context]
    if "waveform_channels" in by_name:
        wanted = {c for v in by_name["waveform_channels"].choices for c in waveform_channel_names(v)}
    else:
        wanted = set(base.waveform_channels)
    return max(contexts), context_channels(tuple(c for c in WAVEFORM_CHANNELS if c in wanted))


def select_context(x: np.ndarray, context: int, channels: Iterable[str], cfg: Any) -> np.ndarray:
    """The per-peak inputs of ``cfg`` cut out of a sample prepared with a larger context / more channels.

    Parameters
    ----------
    x : numpy.ndarray
        ``(m, 2 * context + 1, len(channels))`` prepared inputs (slot ``context`` is the candidate).
    context : int
        Context of the prepared sample.
    channels : iterable of str
        Channel names of the prepared sample.
    cfg : PeakClusterConfig
        The trial's model configuration.

    Returns
    -------
    numpy.ndarray
        float32 ``(m, 2 * cfg.context + 1, len(cfg.channels))`` (a view when nothing is cut).

    Raises
    ------
    ConfigError
        The trial needs a larger context or a channel that the sample lacks.
    """
    have = list(channels)
    if x.ndim != 3 or x.shape[1:] != (2 * context + 1, len(have)):
        raise ConfigError(f"per-peak sample of shape {x.shape} does not match its context {context} and "
                          f"{len(have)} channels")
    if cfg.context > context:
        raise ConfigError(f"context={cfg.context} is larger than the prepared sample's {context}; prepare the "
                          "sample with the largest context of the space")
    missing = [c for c in cfg.channels if c not in have]
    if missing:
        raise ConfigError(f"channel(s) {', '.join(missing)} not in the prepared sample (it holds: {', '.join(have)})")
    out = x[:, context - cfg.context : context + cfg.context + 1]
    if tuple(have) != tuple(cfg.channels):
        out = out[:, :, [have.index(c) for c in cfg.channels]]
    return out


def build_configs(kind: str, params: Mapping[str, Any], seed: int) -> tuple[Any, Any]:
    """Model and training configurations of a trial: the step's defaults with ``params`` applied.

    Peaks start from the ``compact`` preset and :data:`~ccreco.models.config.PEAK_TRAIN`,
    clusters from ``ihep`` and :data:`~ccreco.models.config.CLUSTER_TRAIN`, perpeak from
    ``PeakClusterConfig()`` and :data:`~ccreco.models.train_clusters.PEAK_CLUSTER_TRAIN`.

    Parameters
    ----------
    kind : {"peaks", "clusters", "perpeak"}
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
    from ccreco.models.config import CLUSTER_PRESETS, CLUSTER_TRAIN, PEAK_PRESETS, PEAK_TRAIN, PeakClusterConfig

    _check_kind(kind)
    model_kw, train_kw = split_params(kind, params)
    if kind == "perpeak":
        from ccreco.models.train_clusters import PEAK_CLUSTER_TRAIN

        return (dataclasses.replace(PeakClusterConfig(), **model_kw),
                dataclasses.replace(PEAK_CLUSTER_TRAIN, seed=int(seed), **train_kw))
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
    return float(x.shape[0] / best)


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


def _finish(result: Any, kind: str, x: np.ndarray, extra: np.ndarray | None = None, *,
            loss_fn: str | None = None) -> dict[str, Any]:
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
        loss_fn=loss_fn or result.train_config.resolved_loss(kind),
    )
    if "val_loss" not in out and result.history:  # per-peak: waveform-level metrics, the loss from the history
        out["val_loss"] = float(result.history[result.fit.best_epoch - 1]["val_loss"])
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


def run_peak_cluster_trial(
    params: Mapping[str, Any],
    data: str | os.PathLike[str] | Mapping[str, Any],
    *,
    seed: int = 0,
    hpo_info: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Train one step-2 per-peak model and return its waveform-level metrics, speed and resources.

    Parameters
    ----------
    params : mapping
        Sampled hyperparameters: ``PeakClusterConfig`` and ``TrainConfig`` fields (see
        :func:`split_params`).
    data : path-like or mapping
        Prepared sample (:func:`ccreco.hpo.data.prepare_peak_clusters`): ``x``, ``y``,
        ``offsets``, ``n_true``, ``sampling_ns``, ``window_ns`` and ``info`` with the sample's
        ``context`` and ``channels``; the trial cuts its own slots and channels out of ``x``
        (:func:`select_context`).
    seed : int
        Training seed.
    hpo_info : mapping, optional
        Study name and trial number, stored in the model's ``train_sample`` metadata.

    Returns
    -------
    dict
        Waveform-level validation metrics of the summed outputs (``bias``, ``rms``,
        ``rms_over_sqrt_n``, ``resolution``, ``mae``, ``slope``, ``intercept``,
        ``calibrated_rms``, ``calibrated_rms_over_sqrt_n``, ...; ``nan`` fit values with
        fewer than two well-filled N_true bins), ``val_loss`` (per-candidate Poisson), ``n_params``,
        ``best_epoch``, ``epochs_run``, ``loss_fn``, ``throughput_per_s`` (candidates/s),
        ``waveforms_per_s`` (the same over the sample's mean candidates per waveform),
        ``candidates_per_waveform``, the resources of :func:`measure_resources`, ``host`` and
        ``_onnx`` (the model bytes).
    """
    with measure_resources() as res:
        from ccreco.models.train_clusters import train_peak_cluster_model

        model_cfg, train_cfg = build_configs("perpeak", params, seed)
        sample = load_sample(data)
        info = dict(sample.get("info") or {})
        if "context" not in info or "channels" not in info:
            raise ConfigError("the per-peak sample's info lacks its context and channels; prepare it with "
                              "ccreco.hpo.data.prepare_peak_clusters")
        x = select_context(np.asarray(sample["x"], dtype=np.float32), int(info.pop("context")),
                           info.pop("channels"), model_cfg)
        info["hpo"] = dict(hpo_info or {}, params=dict(params))
        offsets = np.asarray(sample["offsets"], dtype=np.int64)
        result = train_peak_cluster_model({
            "x": x, "y": sample["y"], "offsets": offsets, "n_true": sample["n_true"],
            "sampling_ns": float(sample["sampling_ns"]), "window_ns": float(sample["window_ns"]), "info": info,
        }, model_cfg, train_cfg)
        out = _finish(result, "perpeak", x[:THROUGHPUT_N], loss_fn=str(result.metadata.get("loss", "poisson")))
        per_wf = x.shape[0] / max(offsets.size - 1, 1)
        out["candidates_per_waveform"] = float(per_wf)
        out["waveforms_per_s"] = out["throughput_per_s"] / per_wf if per_wf > 0 else float("nan")
    out.update(res)
    return out


#: Trial function per step.
TRIAL_FUNCTIONS: dict[str, Any] = {"peaks": run_peak_trial, "clusters": run_cluster_trial,
                                   "perpeak": run_peak_cluster_trial}

__all__ = [
    "KINDS",
    "NO_CHANNELS",
    "PERPEAK_UNUSED",
    "THROUGHPUT_N",
    "TRIAL_FUNCTIONS",
    "build_configs",
    "check_names",
    "check_space",
    "load_sample",
    "measure_resources",
    "onnx_throughput",
    "perpeak_layout",
    "run_cluster_trial",
    "run_peak_cluster_trial",
    "run_peak_trial",
    "select_context",
    "split_params",
    "waveform_channel_names",
]
