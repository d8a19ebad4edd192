"""Evaluate peak finders and cluster counters on files with MC truth; a registry of methods.

A method is registered under a name with factories that turn ``--set``-style string options
into callables (options are validated once, before any file is read)::

    register_method("lstm", peaks=make_lstm_peaks, clusters=make_lstm_clusters,
                    description="step-1 LSTM (ONNX)")

- ``peaks(options) -> finder``; ``finder(chunk, cw) -> PeakResult`` where ``cw`` are the
  chunk's :class:`~ccreco.kernels.CandidateWindows` (so scoring methods score exactly these);
- ``clusters(options) -> counter``; ``counter(chunk) -> n_reco`` (int array, one per waveform).

:func:`evaluate_peaks` and :func:`evaluate_clusters` stream chunks (``ccreco.io.iterate``, or
in-memory chunks) and return the metrics of :mod:`ccreco.analysis.metrics`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccreco.analysis import methods as _builtin
from ccreco.analysis.methods import ClusterCounter, PeakFinder, PeakResult, deriv_configs
from ccreco.analysis.metrics import (
    cluster_metrics,
    electron_matching,
    electron_metrics,
    window_metrics,
)
from ccreco.constants import STEP_SIZE
from ccreco.errors import ConfigError, MissingBranchError
from ccreco.io import WaveformChunk, iterate
from ccreco.kernels import (
    CandidateConfig,
    candidate_labels,
    candidate_recall,
    candidate_windows,
    truth_peak_samples,
)


@dataclass(frozen=True)
class Method:
    """A registered method: option parsers/factories for peaks and/or clusters.

    Attributes
    ----------
    name : str
        Registry key.
    peaks : callable or None
        ``peaks(options: Mapping[str, str]) -> PeakFinder``.
    clusters : callable or None
        ``clusters(options: Mapping[str, str]) -> ClusterCounter``.
    description : str
        One line for ``--help``.
    """

    name: str
    peaks: Callable[[Mapping[str, str]], PeakFinder] | None = None
    clusters: Callable[[Mapping[str, str]], ClusterCounter] | None = None
    description: str = ""


#: Registered methods by name: the built-in ``deriv``, ``lstm`` and ``cnn``
#: (:mod:`ccreco.analysis.methods`, registered below), and any added by :func:`register_method`.
METHODS: dict[str, Method] = {}


def register_method(
    name: str,
    *,
    peaks: Callable[[Mapping[str, str]], PeakFinder] | None = None,
    clusters: Callable[[Mapping[str, str]], ClusterCounter] | None = None,
    description: str = "",
    replace: bool = False,
) -> Method:
    """Add a method to :data:`METHODS`.

    Parameters
    ----------
    name : str
        Method name (``--method NAME``).
    peaks, clusters : callable, optional
        Factories (module docstring); at least one.
    description : str
        One line for ``--help``.
    replace : bool
        Allow replacing an existing registration.

    Returns
    -------
    Method
        The registered method.
    """
    if peaks is None and clusters is None:
        raise ConfigError(f"method {name!r} needs a peaks or a clusters factory")
    if name in METHODS and not replace:
        raise ConfigError(f"method {name!r} is already registered")
    METHODS[name] = Method(name, peaks, clusters, description)
    return METHODS[name]


def get_method(name: str) -> Method:
    """The registered method ``name``.

    Parameters
    ----------
    name : str
        Method name.

    Returns
    -------
    Method
        The registration.

    Raises
    ------
    ConfigError
        Unknown name (lists the known ones).
    """
    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; registered: {', '.join(sorted(METHODS))}")
    return METHODS[name]


register_method("deriv", peaks=_builtin.deriv_peaks_factory, clusters=_builtin.deriv_clusters_factory,
                description="classical derivative peak finder + time-proximity clusterization")
register_method("lstm", peaks=_builtin.lstm_peaks_factory, clusters=_builtin.lstm_clusters_factory,
                description="step-1 LSTM (ONNX) peaks; clusters by time proximity")
register_method("cnn", clusters=_builtin.cnn_clusters_factory,
                description="step-1 LSTM peaks + step-2 CNN cluster count (ONNX)")
register_method("perpeak", clusters=_builtin.perpeak_clusters_factory,
                description="step-1 LSTM scores + per-peak model: sum of clusters opened per candidate (ONNX)")


# ---------------------------------------------------------------------------------------------
def _chunks(
    data: str | os.PathLike[str] | Iterable[Any],
    schema: str,
    step_size: int,
    max_waveforms: int | None,
) -> Iterable[WaveformChunk]:
    if isinstance(data, WaveformChunk):
        source: Iterable[WaveformChunk] = [data]
    elif isinstance(data, (str, os.PathLike)):
        source = iterate(data, schema=schema, step_size=step_size)
    else:
        items = list(data)
        if items and all(isinstance(c, WaveformChunk) for c in items):
            source = items
        else:
            source = iterate(items, schema=schema, step_size=step_size)
    seen = 0
    for chunk in source:
        if max_waveforms is not None:
            if seen >= max_waveforms:
                return
            if seen + len(chunk) > max_waveforms:
                chunk = _head(chunk, max_waveforms - seen)
        seen += len(chunk)
        yield chunk


def _head(chunk: WaveformChunk, n: int) -> WaveformChunk:
    return WaveformChunk(chunk.waveforms[:n], chunk.sampling_ns, chunk.meta[:n],
                         None if chunk.truth is None else chunk.truth[:n], chunk.source)


def _truth_peaks(chunk: WaveformChunk, truth_fields: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    truth = chunk.truth
    if truth is None or "electron_peak_ns" in truth_fields:  # no truth: truth_peak_samples says so
        return truth_peak_samples(truth, chunk.sampling_ns, chunk.n_samples)
    # tagged files: the signal-tagged candidates stand in for the electron peaks
    import awkward as ak

    signal = truth["cand_time_ns"][truth["cand_label"] == 1]
    return truth_peak_samples(ak.zip({"t": signal}, depth_limit=1), chunk.sampling_ns, chunk.n_samples, "t")


def evaluate_peaks(
    data: str | os.PathLike[str] | Iterable[Any],
    method: str = "deriv",
    *,
    options: Mapping[str, str] | None = None,
    candidates: CandidateConfig | Mapping[str, Any] | None = None,
    threshold: float | None = None,
    schema: str = "native",
    step_size: int = STEP_SIZE,
    max_waveforms: int | None = None,
    keep_scores: bool = False,
) -> dict[str, Any]:
    """Window- and electron-level metrics of a peak finder.

    Parameters
    ----------
    data : path, glob, list of paths, WaveformChunk or list of chunks
        Files with MC truth (``electron_peak_ns``, or ``cand_time_ns`` + ``cand_label``).
    method : str
        Registered method name.
    options : mapping, optional
        The method's string options (``--set``).
    candidates : CandidateConfig or mapping, optional
        Candidate selection, windows and matching tolerance. ``None``: the method's own (a model's
        stored selection, e.g. ``rule="max"`` for a model trained on local maxima), else
        ``CandidateConfig()``; a mapping changes only the fields it names on top of that.
    threshold : float, optional
        Working point on the window scores of methods that have them (``lstm``, ``cnn``): a window
        is selected when its score reaches it. ``None``: the model's stored threshold. The same
        as the option ``threshold`` (which wins if both are given); methods without scores
        (``deriv``) refuse it.
    schema : str
        Schema of the files (``ccreco.io.iterate``).
    step_size : int
        Entries per chunk.
    max_waveforms : int, optional
        Stop after this many waveforms.
    keep_scores : bool
        Also return ``labels`` and ``scores`` arrays (for ROC plots).

    Returns
    -------
    dict
        Window metrics (``precision``, ``recall``, ``f1``, ``efficiency_purity``, ``auc``, ...),
        electron metrics (``electron_efficiency``, ``fakes_per_waveform``, ...),
        ``n_waveforms``, ``candidates_per_waveform``, ``candidate_recall`` (true peaks with a
        candidate window / all: the most a method could find on these windows), ``method``,
        ``options``, ``tolerance``.
    """
    m = get_method(method)
    if m.peaks is None:
        raise ConfigError(f"method {method!r} has no peak finder")
    opts = dict(options or {})
    if threshold is not None:
        if not 0.0 <= float(threshold) <= 1.0:
            raise ConfigError(f"threshold must be in [0, 1], got {threshold}")
        opts.setdefault("threshold", str(float(threshold)))
    try:
        finder = m.peaks(dict(opts))
    except ConfigError as exc:
        if threshold is not None and "threshold" in str(exc):
            raise ConfigError(f"a threshold applies to methods with window scores (lstm, cnn); method "
                              f"{method!r} has none ({exc.message})") from None
        raise
    if isinstance(candidates, CandidateConfig):
        cfg = candidates
    else:
        own = getattr(finder, "candidates", None)
        cfg = own if own is not None else CandidateConfig()
        if candidates:
            cfg = dataclasses.replace(cfg, **dict(candidates))
    labels, selected, scores = [], [], []
    counts: dict[str, Any] = {"n_true": 0, "n_matched": 0, "n_detected": 0, "n_fakes": 0, "n_waveforms": 0}
    residuals = []
    n_offered = 0  # true peaks with a candidate window (candidate recall)
    has_scores = True
    for chunk in _chunks(data, schema, step_size, max_waveforms):
        truth_fields = [] if chunk.truth is None else list(chunk.truth.fields)
        if "electron_peak_ns" not in truth_fields and "cand_label" not in truth_fields:
            raise MissingBranchError(
                "evaluation needs MC truth: electron_peak_ns (simulation) or cand_time_ns + cand_label",
                file=None if chunk.source is None else chunk.source.file, branch="electron_peak_ns")
        cw = candidate_windows(chunk.waveforms, cfg, sampling_ns=chunk.sampling_ns)
        res = finder(chunk, cw)
        labels.append(candidate_labels(cw, chunk.truth))
        n_offered += candidate_recall(cw, chunk.truth)[0]
        selected.append(np.asarray(res.selected, dtype=bool))
        if res.scores is None:
            has_scores = False
        else:
            scores.append(np.asarray(res.scores, dtype=np.float64).reshape(-1))
        true_idx, true_off, true_t = _truth_peaks(chunk, truth_fields)
        c = electron_matching(true_idx, true_off, res.peak_index, res.peak_offsets, cfg.tolerance,
                              sampling_ns=chunk.sampling_ns, true_times_ns=true_t)
        residuals.append(c.pop("residuals_ns"))
        for key in counts:
            counts[key] += c[key]
    y = np.concatenate(labels) if labels else np.zeros(0, np.int8)
    sel = np.concatenate(selected) if selected else np.zeros(0, bool)
    sc = np.concatenate(scores) if has_scores and scores else None
    out: dict[str, Any] = {"method": method, "options": opts, "tolerance": cfg.tolerance}
    out.update(window_metrics(y, scores=sc, selected=sel))
    counts["residuals_ns"] = np.concatenate(residuals) if residuals else np.zeros(0)
    out.update(electron_metrics(counts))
    out["n_waveforms"] = counts["n_waveforms"]
    out["candidates_per_waveform"] = y.size / counts["n_waveforms"] if counts["n_waveforms"] else float("nan")
    out["candidate_recall"] = n_offered / counts["n_true"] if counts["n_true"] else float("nan")
    if keep_scores:
        out["labels"], out["scores"], out["selected"] = y, sc, sel
    return out


def evaluate_clusters(
    data: str | os.PathLike[str] | Iterable[Any],
    method: str = "deriv",
    *,
    options: Mapping[str, str] | None = None,
    schema: str = "native",
    step_size: int = STEP_SIZE,
    max_waveforms: int | None = None,
) -> dict[str, Any]:
    """Cluster-counting metrics of a method against the true ``n_clusters``.

    Parameters
    ----------
    data : path, glob, list of paths, WaveformChunk or list of chunks
        Files with the truth field ``n_clusters``.
    method : str
        Registered method name.
    options : mapping, optional
        The method's string options (``--set``).
    schema, step_size, max_waveforms
        As in :func:`evaluate_peaks`.

    Returns
    -------
    dict
        :func:`~ccreco.analysis.metrics.cluster_metrics` plus ``method`` and ``options``.
    """
    m = get_method(method)
    if m.clusters is None:
        raise ConfigError(f"method {method!r} has no cluster counter")
    counter = m.clusters(dict(options or {}))
    n_true, n_reco = [], []
    for chunk in _chunks(data, schema, step_size, max_waveforms):
        if chunk.truth is None or "n_clusters" not in chunk.truth.fields:
            raise MissingBranchError("cluster evaluation needs the truth field n_clusters",
                                     file=None if chunk.source is None else chunk.source.file,
                                     branch="n_clusters")
        n_true.append(np.asarray(chunk.truth["n_clusters"], dtype=np.int64))
        n_reco.append(np.asarray(counter(chunk), dtype=np.int64).reshape(-1))
    t = np.concatenate(n_true) if n_true else np.zeros(0, np.int64)
    r = np.concatenate(n_reco) if n_reco else np.zeros(0, np.int64)
    out: dict[str, Any] = {"method": method, "options": dict(options or {})}
    out.update(cluster_metrics(t, r))
    return out


def method_names() -> list[str]:
    """Names of all registered methods.

    Returns
    -------
    list of str
        Sorted names.
    """
    return sorted(METHODS)


__all__ = [
    "METHODS",
    "method_names",
    "Method",
    "ClusterCounter",
    "PeakFinder",
    "PeakResult",
    "deriv_configs",
    "evaluate_clusters",
    "evaluate_peaks",
    "get_method",
    "register_method",
]
