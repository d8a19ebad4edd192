"""The built-in evaluation methods ``deriv``, ``lstm`` and ``cnn``: option parsing over the chain.

Each factory turns ``--set``-style string options into a callable, once, before any file is
read; the callables run the stages of :mod:`ccreco.reco.stages` (the same functions the
reconstruction runs). :mod:`ccreco.analysis.evaluate` registers these factories explicitly;
importing this module registers nothing.

- ``deriv`` peaks / clusters: DERIV (:func:`ccreco.kernels.deriv_peaks`) and time-proximity
  clusterization; options ``preset`` (its clusterization constant comes with it, see
  :func:`ccreco.kernels.deriv_preset`), ``N1``..``N4``, baseline region, ``c``, ``t0_ns``.
- ``lstm`` peaks: the step-1 ONNX model scores the evaluator's candidate windows; a window is
  selected when its probability reaches the model's threshold. Options: ``model`` (ONNX path;
  default the shipped :data:`ccreco.models.shipped.DEFAULT_PEAK_MODEL`), ``threshold``,
  ``threads``, ``batch_size`` (windows per call; default :class:`ccreco.reco.RecoConfig`'s),
  ``roi`` (``false``: the model's candidate rule without its stored region of interest; also
  for ``cnn``/``perpeak``/``lstm`` clusters), ``preselect`` (``false``: without the model's stored
  first-stage pre-selection; the same methods).
- ``lstm`` clusters: the same peaks, clusterized by time proximity; extra options ``c`` and
  ``t0_ns``.
- ``cnn`` clusters: step-1 peaks (candidates made as the step-1 model's metadata says) fed to
  the step-2 CNN. Options: ``model`` (CNN ONNX path; default the shipped
  :data:`ccreco.models.shipped.DEFAULT_CNN_MODEL`), ``peak_model``, ``threshold``,
  ``threads``, ``batch_size``. Extra CNN inputs (e.g. ``track_length_cm``) are taken from the
  chunk's truth, unless an option of the same name fixes them for every waveform
  (``track_length_cm=1.131``: data without truth, or a wrong-geometry study on simulation).
- ``perpeak`` clusters: every step-1 candidate (scored by the step-1 model, accepted or not)
  goes to the per-peak model (:class:`ccreco.models.inference.PeakClusterModel`), which returns
  the clusters it opens; the count is their sum (``calibrate=1``: through the model's stored
  calibration line). Options: ``model``, ``peak_model``, ``calibrate``, ``threads``,
  ``batch_size``, ``run_level`` (a run-level correction, file or shipped name: each chunk of at
  least its ``min_waveforms`` waveforms is one run, divided by the level its statistics predict
  unless they lie outside the correction's training range; ``ccreco reco`` does the same per
  file).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from ccreco.analysis.metrics import selected_candidates
from ccreco.config import convert_value, replace_fields
from ccreco.errors import ConfigError
from ccreco.io import WaveformChunk
from ccreco.kernels import (
    DERIV_PRESETS,
    CandidateWindows,
    ClusterizeConfig,
    DerivConfig,
    deriv_peaks,
    deriv_preset,
)
from ccreco.reco.core import RecoConfig
from ccreco.reco.stages import (
    count_clusters,
    deriv_clusters,
    resolve_extra_inputs,
    round_counts,
    score_windows,
    select_peaks,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeakResult:
    """What a peak finder returns for one chunk.

    Attributes
    ----------
    peak_index : numpy.ndarray
        int64 sample indices of the detected peaks, sorted within each waveform.
    peak_offsets : numpy.ndarray
        int64 ``(n + 1,)``.
    selected : numpy.ndarray
        bool ``(m,)``: which candidate windows the method selected.
    scores : numpy.ndarray or None
        float ``(m,)`` window scores (``None`` for methods without scores).
    """

    peak_index: np.ndarray
    peak_offsets: np.ndarray
    selected: np.ndarray
    scores: np.ndarray | None = None


PeakFinder = Callable[[WaveformChunk, CandidateWindows], PeakResult]
ClusterCounter = Callable[[WaveformChunk], np.ndarray]


def _pop(opts: dict[str, str], key: str, kind: Any, default: Any) -> Any:
    if key not in opts:
        return default
    return convert_value(opts.pop(key), kind, name=key)


def _cluster_options(opts: dict[str, str], base: ClusterizeConfig) -> ClusterizeConfig:
    """Pop ``c`` / ``t0_ns`` (case-insensitive) and apply them to ``base``."""
    found = {k: opts.pop(k) for k in list(opts) if k.lower() in _CLUSTER_KEYS}
    return replace_fields(base, found, what="clusterization", lower_keys=True)


def _reject_unknown(opts: Mapping[str, str], method: str) -> None:
    if opts:
        raise ConfigError(f"method {method!r}: unknown options {sorted(opts)}")


# ---------------------------------------------------------------------------------------------
# DERIV
_CLUSTER_KEYS = {f.name for f in fields(ClusterizeConfig)}


def deriv_configs(options: Mapping[str, str]) -> tuple[DerivConfig, ClusterizeConfig]:
    """DERIV and clusterization configs from string options.

    Parameters
    ----------
    options : mapping
        ``preset`` (a :data:`~ccreco.kernels.DERIV_PRESETS` name, default ``tb2023``; its
        clusterization constant comes with it), DERIV fields (``N1``..``N4``, case-insensitive,
        baseline region) and clusterization fields (``c``, ``t0_ns``) that override the preset.

    Returns
    -------
    DerivConfig, ClusterizeConfig
        Validated configs.
    """
    opts = {k.lower(): v for k, v in options.items()}
    preset = opts.pop("preset", "tb2023")
    if preset not in DERIV_PRESETS:
        raise ConfigError(f"preset must be one of {', '.join(DERIV_PRESETS)}; got {preset!r}")
    dcfg, ccfg = deriv_preset(preset)
    ccfg = _cluster_options(opts, ccfg)
    return DerivConfig.from_strings(opts, dcfg), ccfg


def deriv_peaks_factory(options: Mapping[str, str]) -> PeakFinder:
    """``deriv`` peak finder: DERIV peaks, and the candidate windows they match."""
    cfg, _ = deriv_configs(options)

    def finder(chunk: WaveformChunk, cw: CandidateWindows) -> PeakResult:
        index, offsets, _, _ = deriv_peaks(chunk.waveforms, cfg, sampling_ns=chunk.sampling_ns)
        sel = selected_candidates(cw.sample_index, cw.offsets, index, offsets, cw.config.tolerance)
        return PeakResult(index, offsets, sel, None)

    return finder


def deriv_clusters_factory(options: Mapping[str, str]) -> ClusterCounter:
    """``deriv`` cluster counter: :func:`ccreco.reco.stages.deriv_clusters`."""
    cfg, ccfg = deriv_configs(options)

    def counter(chunk: WaveformChunk) -> np.ndarray:
        return deriv_clusters(chunk.waveforms, cfg, ccfg, sampling_ns=chunk.sampling_ns).n_clusters

    return counter


# ---------------------------------------------------------------------------------------------
# ONNX models
def _model_path(opts: dict[str, str], key: str, default: str) -> str:
    from ccreco.models.shipped import available_models, model_file, shipped_model

    if key in opts:  # a file, or the name of a shipped model
        return str(model_file(opts.pop(key)))
    if default not in available_models():
        raise ConfigError(f"option {key}=PATH.onnx is required (no shipped model {default!r})")
    return str(shipped_model(default))


def _extra_inputs(names: tuple[str, ...] | list[str], opts: dict[str, str]) -> Callable[[WaveformChunk], Any]:
    """A step-2 model's extra inputs per chunk: an option named like one (``angle_deg=45``) fixes
    it for every waveform, else the chunk's truth field of that name (popped from ``opts``)."""
    fixed = {k: _pop(opts, k, float, None) for k in names if k in opts}
    hint = "give them as options (" + ", ".join(f"{k}=VALUE" for k in names) + ")"

    def values(chunk: WaveformChunk) -> Any:
        return resolve_extra_inputs(names, len(chunk), truth=chunk.truth, fixed=fixed, hint=hint)

    return values


def _peak_model(opts: dict[str, str], key: str = "model") -> tuple[Any, float | None, Any]:
    """The step-1 model, the threshold option and its candidate selection (``roi=false``: no ROI;
    ``preselect=false``: no first-stage pre-selection)."""
    from ccreco.models.inference import PeakModel
    from ccreco.models.shipped import DEFAULT_PEAK_MODEL

    path = _model_path(opts, key, DEFAULT_PEAK_MODEL)
    threads = _pop(opts, "threads", int, 1)
    batch = _pop(opts, "batch_size", int, RecoConfig.batch_size)  # the reconstruction's default
    threshold = _pop(opts, "threshold", float | None, None)
    model = PeakModel(path, intra_op_num_threads=threads, batch_size=batch)
    # roi=false: the model's stored candidate selection without its region of interest
    roi = _pop(opts, "roi", bool, RecoConfig.roi)
    preselect = _pop(opts, "preselect", bool, RecoConfig.preselect)
    return model, threshold, _model_candidates(model, roi, preselect)


def _model_candidates(model: Any, roi: bool = True, preselect: bool = True) -> Any:
    from ccreco.models.dataset import candidate_config

    return candidate_config(model.window_left, model.window_right, model.candidates,
                            roi=roi, preselect=preselect)


def _step1(model: Any, chunk: WaveformChunk, cw: CandidateWindows, threshold: float | None
           ) -> tuple[np.ndarray, Any]:
    scores = score_windows(model, cw.windows, chunk.sampling_ns)
    cut = model.threshold if threshold is None else float(threshold)
    return scores, select_peaks(scores >= cut, cw.sample_index, cw.waveform_index, cw.n_waveforms)


def _step1_times(model: Any, cands: Any, chunk: WaveformChunk, threshold: float | None
                 ) -> tuple[np.ndarray, np.ndarray]:
    from ccreco.kernels.windows import candidate_windows

    cw = candidate_windows(chunk.waveforms, cands, sampling_ns=chunk.sampling_ns)
    _, peaks = _step1(model, chunk, cw, threshold)
    return peaks.times_ns(chunk.sampling_ns), peaks.offsets


def lstm_peaks_factory(options: Mapping[str, str]) -> PeakFinder:
    """``lstm`` peak finder: the step-1 model's selection of the evaluator's windows."""
    opts = dict(options)
    model, threshold, cands = _peak_model(opts)
    _reject_unknown(opts, "lstm")

    def finder(chunk: WaveformChunk, cw: CandidateWindows) -> PeakResult:
        scores, peaks = _step1(model, chunk, cw, threshold)
        return PeakResult(peaks.index, peaks.offsets, peaks.selected, scores)

    # the evaluator scores the windows this model was trained on (its stored candidate selection)
    finder.candidates = cands  # type: ignore[attr-defined]
    return finder


def lstm_clusters_factory(options: Mapping[str, str]) -> ClusterCounter:
    """``lstm`` cluster counter: step-1 peaks clusterized by time proximity."""
    from ccreco.kernels import clusterize

    opts = dict(options)
    model, threshold, cands = _peak_model(opts)
    cluster_cfg = _cluster_options(opts, ClusterizeConfig())
    _reject_unknown(opts, "lstm")

    def counter(chunk: WaveformChunk) -> np.ndarray:
        times, offsets = _step1_times(model, cands, chunk, threshold)
        return clusterize(times, offsets, cluster_cfg)[1]

    return counter


#: (method, model, differences) already warned about in this process: ``ccreco pid`` opens a
#: method once per population.
_WARNED: set[tuple[str, str, tuple[str, ...]]] = set()


def _warn_step1_differences(method: str, model: Any, cands: Any, peak_model_path: Any) -> None:
    """Warn (once per process) when a step-2 model gets other step-1 inputs than it was trained on."""
    from ccreco.models.inference import step1_hint

    differences = model.step1_differences(cands, peak_model_path)
    key = (method, str(model.path), tuple(differences))
    if differences and key not in _WARNED:
        _WARNED.add(key)
        log.warning("%s: the step-2 model %s was trained on other step-1 inputs: %s%s", method, Path(model.path).name,
                    "; ".join(differences), step1_hint(differences, "option"))


def cnn_clusters_factory(options: Mapping[str, str]) -> ClusterCounter:
    """``cnn`` cluster counter: step-1 peaks -> the step-2 CNN (rounded, >= 0)."""
    from ccreco.models.inference import ClusterModel
    from ccreco.models.shipped import DEFAULT_CNN_MODEL

    opts = dict(options)
    cnn_path = _model_path(opts, "model", DEFAULT_CNN_MODEL)
    peak_model, threshold, cands = _peak_model(opts, "peak_model")
    cnn = ClusterModel(cnn_path, intra_op_num_threads=peak_model._options["intra_op_num_threads"],
                       batch_size=RecoConfig.cnn_batch_size)
    # an option named like an extra input (e.g. track_length_cm=1.131) fixes it for every
    # waveform: data without truth, or a study of a wrong geometry on simulation
    extra_of = _extra_inputs(cnn.extra_inputs, opts)
    _reject_unknown(opts, "cnn")
    _warn_step1_differences("cnn", cnn, cands, peak_model.path)

    def counter(chunk: WaveformChunk) -> np.ndarray:
        times, offsets = _step1_times(peak_model, cands, chunk, threshold)
        extra = extra_of(chunk)
        n = count_clusters(cnn, times, offsets, sampling_ns=chunk.sampling_ns,
                           window_ns=chunk.n_samples * chunk.sampling_ns, extra=extra)
        return round_counts(n)

    return counter


def perpeak_clusters_factory(options: Mapping[str, str]) -> ClusterCounter:
    """``perpeak`` cluster counter: step-1 candidates and scores -> the per-peak model (rounded)."""
    from ccreco.models.dataset import scored_windows
    from ccreco.models.inference import PeakClusterModel
    from ccreco.models.shipped import DEFAULT_PERPEAK_MODEL

    opts = dict(options)
    path = _model_path(opts, "model", DEFAULT_PERPEAK_MODEL)
    peak_model, _, cands = _peak_model(opts, "peak_model")
    calibrate = _pop(opts, "calibrate", bool, False)
    run_level = _pop(opts, "run_level", str, "")
    model = PeakClusterModel(path, intra_op_num_threads=peak_model._options["intra_op_num_threads"],
                             batch_size=max(peak_model.batch_size, 1024))
    extra_of = _extra_inputs(model.extra_inputs, opts)
    _reject_unknown(opts, "perpeak")
    _warn_step1_differences("perpeak", model, cands, peak_model.path)
    level_model = _run_level_model(run_level, peak_model.path, model, cands, calibrate) if run_level else None

    def counter(chunk: WaveformChunk) -> np.ndarray:
        cw, scored = scored_windows(chunk, cands)  # as the reconstruction and the training sample
        scores = score_windows(peak_model, cw.windows, chunk.sampling_ns, scored)
        counts = model.count(cw, scores, sampling_ns=chunk.sampling_ns, calibrate=calibrate, extra=extra_of(chunk))
        if level_model is not None:
            counts = counts / level_model.chunk_level(chunk, cw, scores, counts)
        return round_counts(counts)

    return counter


def _run_level_model(spec: str, peak_path: Any, model: Any, cands: Any, calibrate: bool) -> Any:
    """The ``run_level`` option's model, checked against the chain it corrects."""
    from ccreco.models.inference import RunLevelModel
    from ccreco.models.shipped import model_file

    if calibrate:
        raise ConfigError("method 'perpeak': run_level corrects the raw count; not with calibrate")
    level_model = RunLevelModel(model_file(spec))
    level_model.require_chain(peak_path, model, cands)
    return level_model


# kept for the earlier private names (tests, benchmarks)
_cnn_clusters_factory = cnn_clusters_factory

__all__ = [
    "ClusterCounter",
    "PeakFinder",
    "PeakResult",
    "cnn_clusters_factory",
    "deriv_clusters_factory",
    "deriv_configs",
    "deriv_peaks_factory",
    "lstm_clusters_factory",
    "lstm_peaks_factory",
    "perpeak_clusters_factory",
]
