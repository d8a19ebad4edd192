"""Registers the model-based methods ``lstm`` and ``cnn`` with :mod:`ccreco.analysis.evaluate`.

Imported by the evaluation registry on first lookup (``METHOD_MODULES``); onnxruntime only.

- ``lstm`` peaks: the step-1 ONNX model scores the evaluator's candidate windows; a window is
  selected when its probability reaches the model's threshold. Options: ``model`` (ONNX path;
  default the shipped compact LSTM), ``threshold``, ``threads``, ``batch_size``.
- ``lstm`` clusters: the same peaks, clusterized by time proximity
  (:func:`ccreco.kernels.clusterize`); extra options ``c`` and ``t0_ns``.
- ``cnn`` clusters: step-1 peaks (candidates made as the step-1 model's metadata says) fed to
  the step-2 CNN. Options: ``model`` (CNN ONNX path, required unless a CNN is shipped),
  ``peak_model``, ``threshold``, ``threads``, ``batch_size``. Extra CNN inputs (e.g.
  ``track_length_cm``) are taken from the chunk's truth, unless an option of the same name fixes
  them for every waveform (``track_length_cm=1.131``: data without truth, or a wrong-geometry
  study on simulation).
- ``perpeak`` clusters: every step-1 candidate (scored by the step-1 model, accepted or not) is
  given to the per-peak model, which returns the clusters it opens; the count is their sum,
  through the model's stored calibration line unless ``calibrate=0``. Options: ``model``,
  ``peak_model``, ``calibrate``, ``threads``, ``batch_size``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ccreco.analysis.evaluate import PeakResult, register_method
from ccreco.errors import ConfigError
from ccreco.models.inference import ClusterModel, PeakModel
from ccreco.models.shipped import available_models, shipped_model

#: Shipped model used when no ``model`` / ``peak_model`` option is given.
DEFAULT_PEAK_MODEL: str = "lstm_compact_tb2023_untuned"
#: Shipped CNN used when no ``model`` option is given to ``cnn``.
DEFAULT_CLUSTER_MODEL: str = "cnn_ihep_tb2023_mix"
#: Shipped per-peak model used when no ``model`` option is given to ``perpeak``.
DEFAULT_PERPEAK_MODEL: str = "perpeak_tb2023_random"

_PEAK_KEYS = {"model", "threshold", "threads", "batch_size"}


def _pop(opts: dict[str, str], key: str, conv: type, default: Any) -> Any:
    if key not in opts:
        return default
    raw = opts.pop(key)
    try:
        return conv(raw)
    except ValueError:
        raise ConfigError(f"{key} must be {conv.__name__}, got {raw!r}") from None


def _model_path(opts: dict[str, str], key: str, default: str) -> str:
    if key in opts:
        return opts.pop(key)
    if default not in available_models():
        raise ConfigError(f"option {key}=PATH.onnx is required (no shipped model {default!r})")
    return str(shipped_model(default))


def _peak_model(opts: dict[str, str], key: str = "model") -> tuple[PeakModel, float | None]:
    path = _model_path(opts, key, DEFAULT_PEAK_MODEL)
    threads = _pop(opts, "threads", int, 1)
    batch = _pop(opts, "batch_size", int, 256)
    threshold = _pop(opts, "threshold", float, None)
    return PeakModel(path, intra_op_num_threads=threads, batch_size=batch), threshold


def _reject_unknown(opts: Mapping[str, str], method: str) -> None:
    if opts:
        raise ConfigError(f"method {method!r}: unknown options {sorted(opts)}")


def peaks_from_selection(sample_index: np.ndarray, waveform_index: np.ndarray, n_waveforms: int,
                         selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peak sample indices and offsets from the selected candidate windows.

    Parameters
    ----------
    sample_index : numpy.ndarray
        Candidate sample of each window (sorted within a waveform).
    waveform_index : numpy.ndarray
        Waveform of each window.
    n_waveforms : int
        Number of waveforms.
    selected : numpy.ndarray
        bool, selected windows.

    Returns
    -------
    index, offsets : numpy.ndarray
        int64 peak samples and ``(n_waveforms + 1,)`` offsets.
    """
    sel = np.asarray(selected, dtype=bool)
    counts = np.bincount(waveform_index[sel], minlength=n_waveforms)
    offsets = np.zeros(n_waveforms + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return np.asarray(sample_index[sel], dtype=np.int64), offsets


def _lstm_peaks_factory(options: Mapping[str, str]) -> Any:
    opts = dict(options)
    model, threshold = _peak_model(opts)
    _reject_unknown(opts, "lstm")

    def finder(chunk: Any, cw: Any) -> PeakResult:
        scores = model.predict(cw.windows, sampling_ns=chunk.sampling_ns)
        sel = scores >= (model.threshold if threshold is None else threshold)
        index, offsets = peaks_from_selection(cw.sample_index, cw.waveform_index, cw.n_waveforms, sel)
        return PeakResult(index, offsets, sel, scores)

    from ccreco.models.dataset import candidate_config

    # the evaluator scores the windows this model was trained on (its stored candidate selection)
    finder.candidates = candidate_config(model.window_left, model.window_right, model.candidates)  # type: ignore[attr-defined]
    return finder


def _step1_times(model: PeakModel, chunk: Any, threshold: float | None) -> tuple[np.ndarray, np.ndarray]:
    from ccreco.models.dataset import candidate_config, chunk_windows

    cfg = candidate_config(model.window_left, model.window_right, model.candidates)
    cw, _ = chunk_windows(chunk, cfg, with_labels=False)
    sel = model.classify(cw.windows, sampling_ns=chunk.sampling_ns, threshold=threshold)
    index, offsets = peaks_from_selection(cw.sample_index, cw.waveform_index, cw.n_waveforms, sel)
    return index * float(chunk.sampling_ns), offsets


def _lstm_clusters_factory(options: Mapping[str, str]) -> Any:
    from ccreco.kernels import ClusterizeConfig, clusterize

    opts = dict(options)
    model, threshold = _peak_model(opts)
    ccfg: dict[str, Any] = {}
    if "c" in opts:
        ccfg["c"] = _pop(opts, "c", float, None)
    if "t0_ns" in opts:
        raw = opts.pop("t0_ns")
        ccfg["t0_ns"] = None if raw.lower() == "none" else float(raw)
    _reject_unknown(opts, "lstm")
    cluster_cfg = ClusterizeConfig(**ccfg)

    def counter(chunk: Any) -> np.ndarray:
        times, offsets = _step1_times(model, chunk, threshold)
        return clusterize(times, offsets, cluster_cfg)[1]

    return counter


def _cnn_clusters_factory(options: Mapping[str, str]) -> Any:
    opts = dict(options)
    cnn_path = _model_path(opts, "model", DEFAULT_CLUSTER_MODEL)
    peak_model, threshold = _peak_model(opts, "peak_model")
    cnn = ClusterModel(cnn_path, intra_op_num_threads=peak_model._options["intra_op_num_threads"],
                       batch_size=peak_model.batch_size)
    # an option named like an extra input (e.g. track_length_cm=1.131) fixes it for every
    # waveform: data without truth, or a study of a wrong geometry on simulation
    fixed = {k: _pop(opts, k, float, None) for k in cnn.extra_inputs if k in opts}
    _reject_unknown(opts, "cnn")

    def counter(chunk: Any) -> np.ndarray:
        times, offsets = _step1_times(peak_model, chunk, threshold)
        per_wf = [times[offsets[i]:offsets[i + 1]] for i in range(len(chunk))]
        extra = None
        if cnn.extra_inputs:
            extra = {k: np.full(len(chunk), v, dtype=np.float32) for k, v in fixed.items()}
            need = [k for k in cnn.extra_inputs if k not in extra]
            if need and chunk.truth is None:
                raise ConfigError(
                    f"the CNN needs extra inputs {need}: no truth in this chunk, give them as options "
                    f"({', '.join(f'{k}=VALUE' for k in need)})"
                )
            extra.update({k: np.asarray(chunk.truth[k], dtype=np.float32) for k in need})
        n = cnn.predict(per_wf, sampling_ns=chunk.sampling_ns, window_ns=chunk.n_samples * chunk.sampling_ns, extra=extra)
        return np.rint(np.maximum(n, 0)).astype(np.int64)

    return counter


def _perpeak_clusters_factory(options: Mapping[str, str]) -> Any:
    from ccreco.models.dataset import candidate_config, chunk_windows
    from ccreco.models.inference import PeakClusterModel

    opts = dict(options)
    path = _model_path(opts, "model", DEFAULT_PERPEAK_MODEL)
    peak_model, _ = _peak_model(opts, "peak_model")
    calibrate = _pop(opts, "calibrate", int, 1)
    model = PeakClusterModel(path, intra_op_num_threads=peak_model._options["intra_op_num_threads"],
                             batch_size=max(peak_model.batch_size, 1024))
    _reject_unknown(opts, "perpeak")
    cfg = candidate_config(peak_model.window_left, peak_model.window_right, peak_model.candidates)

    def counter(chunk: Any) -> np.ndarray:
        cw, _ = chunk_windows(chunk, cfg, with_labels=False)
        scores = peak_model.predict(cw.windows, sampling_ns=chunk.sampling_ns)
        n = model.count(cw, scores, sampling_ns=chunk.sampling_ns, calibrate=bool(calibrate))
        return np.rint(np.maximum(n, 0)).astype(np.int64)

    return counter


register_method("lstm", peaks=_lstm_peaks_factory, clusters=_lstm_clusters_factory,
                description="step-1 LSTM (ONNX) peaks; clusters by time proximity")
register_method("cnn", clusters=_cnn_clusters_factory,
                description="step-1 LSTM peaks + step-2 CNN cluster count (ONNX)")
register_method("perpeak", clusters=_perpeak_clusters_factory,
                description="step-1 LSTM scores + per-peak model: sum of clusters opened per candidate (ONNX)")

__all__ = ["DEFAULT_CLUSTER_MODEL", "DEFAULT_PEAK_MODEL", "DEFAULT_PERPEAK_MODEL", "peaks_from_selection"]
