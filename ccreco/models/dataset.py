"""Training samples from ntuples: io -> kernels -> arrays for the two training steps (no torch).

:func:`peak_sample` streams waveform chunks through the candidate/window/label kernels and
concatenates the windows and labels of all files (shuffling happens in training);
:func:`cluster_sample` runs a step-1 ONNX model on the same windows and collects the accepted
candidate times per waveform with the truth ``n_clusters``.

(Named ``dataset`` rather than ``data`` because ``ccreco/models/data/`` holds the shipped
ONNX files.)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, overload

import numpy as np

from ccreco._progress import progress
from ccreco.errors import ConfigError, MissingBranchError, TruthInconsistencyError
from ccreco.models.config import ClusterModelConfig, PeakModelConfig

FileArg = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]


@dataclass
class PeakSample:
    """Step-1 training sample.

    Attributes
    ----------
    windows : numpy.ndarray
        float32 ``(n_windows, L, 1)`` raw candidate windows.
    labels : numpy.ndarray
        int8 ``(n_windows,)``, 1 = a truth electron peak at the candidate.
    sampling_ns : float
        Sampling period of the files.
    info : dict
        Files, waveform and window counts (stored in the model metadata).
    """

    windows: np.ndarray
    labels: np.ndarray
    sampling_ns: float
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class ClusterSample:
    """Step-2 training sample.

    Attributes
    ----------
    peak_times : list of numpy.ndarray
        Accepted candidate times (ns) per waveform.
    n_true : numpy.ndarray
        Truth number of primary clusters per waveform.
    extra : dict of str to numpy.ndarray or None
        Extra scalar inputs named by the model config (truth fields), ``None`` without.
    sampling_ns : float
        Sampling period.
    info : dict
        Files, counts, the step-1 model used.
    """

    peak_times: list[np.ndarray]
    n_true: np.ndarray
    extra: dict[str, np.ndarray] | None
    sampling_ns: float
    info: dict[str, Any] = field(default_factory=dict)


def _chunks(files: FileArg, schema: str, max_waveforms: int | None) -> Iterator[Any]:
    from ccreco.io import iterate

    seen = 0
    for chunk in iterate(files, schema=schema):
        if chunk.truth is None:
            raise TruthInconsistencyError(
                "training needs MC truth, this file has none",
                file=chunk.source.file if chunk.source else None,
            )
        if max_waveforms is not None and seen + len(chunk) > max_waveforms:
            chunk = _head(chunk, max_waveforms - seen)
        seen += len(chunk)
        yield chunk
        if max_waveforms is not None and seen >= max_waveforms:
            return


def _head(chunk: Any, n: int) -> Any:
    truth = chunk.truth[:n] if chunk.truth is not None else None
    return dataclasses.replace(chunk, waveforms=chunk.waveforms[:n], meta=chunk.meta[:n], truth=truth)


def candidate_config(left: int, right: int, overrides: Mapping[str, Any] | None = None, *, roi: bool = True,
                     preselect: bool = True) -> Any:
    """The :class:`ccreco.kernels.candidates.CandidateConfig` for a model's window.

    Parameters
    ----------
    left, right : int
        The model's window extent (always wins over ``overrides``).
    overrides : mapping, optional
        Other CandidateConfig fields (e.g. a model's stored ``candidates`` metadata).
    roi : bool
        Keep the region-of-interest pre-selection of ``overrides``; ``False`` switches it off
        (``roi_threshold=None``: the bare rule, e.g. the shipped default step-1 model's
        selection before its ROI was stored).
    preselect : bool
        Keep the first-stage pre-selection of ``overrides`` (``preselect_weights``,
        ``preselect_threshold``); ``False`` switches it off (the selection without it).

    Returns
    -------
    CandidateConfig
        The validated candidate selection.
    """
    from ccreco.kernels.candidates import CandidateConfig

    fields = dict(overrides or {})
    fields.update(window_left=int(left), window_right=int(right))
    if not roi:
        fields["roi_threshold"] = None
    if not preselect:
        fields["preselect_weights"] = None
    return CandidateConfig(**fields)


@overload
def chunk_windows(chunk: Any, cfg: Any, with_labels: Literal[True] = ...) -> tuple[Any, np.ndarray]: ...


@overload
def chunk_windows(chunk: Any, cfg: Any, with_labels: bool) -> tuple[Any, np.ndarray | None]: ...


def chunk_windows(chunk: Any, cfg: Any, with_labels: bool = True) -> tuple[Any, np.ndarray | None]:
    """Candidate windows (and truth labels) of one chunk via :mod:`ccreco.kernels`.

    Parameters
    ----------
    chunk : WaveformChunk
        Waveforms (and truth when ``with_labels``).
    cfg : CandidateConfig
        Candidate selection and window.
    with_labels : bool
        Also label the candidates from ``truth.electron_peak_ns``.

    Returns
    -------
    CandidateWindows
        Windows ``(m, L, 1)``, sample indices, offsets (see :mod:`ccreco.kernels.windows`).
    labels : numpy.ndarray or None
        int8 ``(m,)``, 1 for a candidate matched to a truth electron peak.
    """
    from ccreco.kernels.windows import candidate_windows

    cw = candidate_windows(chunk.waveforms, cfg, sampling_ns=chunk.sampling_ns)
    if not with_labels:
        return cw, None
    from ccreco.kernels.labels import candidate_labels

    return cw, np.asarray(candidate_labels(cw, chunk.truth), dtype=np.int8)


def scored_windows(chunk: Any, cfg: Any) -> tuple[Any, np.ndarray]:
    """Candidate windows of one chunk and which of them the step-1 model scores.

    With a first-stage pre-selection in ``cfg`` (``preselect_weights``) the candidates are those
    of ``cfg`` without it, and the mask says which pass it: the step-1 model scores only those
    (:meth:`ccreco.models.inference.PeakModel.predict_scored`; the others get 0 and are never
    peaks), while a per-peak step 2 sees all of them as neighbours. Without one, every window is
    scored. The reconstruction, the ``perpeak`` evaluation and the per-peak training sample
    all select candidates through here.

    Parameters
    ----------
    chunk : WaveformChunk
        Waveforms.
    cfg : CandidateConfig
        Candidate selection (a step-1 model's, :func:`candidate_config`).

    Returns
    -------
    CandidateWindows
        The windows (selection without the pre-selection).
    numpy.ndarray
        bool ``(m,)``: scored by the step-1 model.
    """
    from ccreco.kernels.candidates import preselect_mask
    from ccreco.kernels.windows import candidate_windows

    if cfg.preselect_weights is None:
        cw = candidate_windows(chunk.waveforms, cfg, sampling_ns=chunk.sampling_ns)
        return cw, np.ones(len(cw), dtype=bool)
    cw = candidate_windows(chunk.waveforms, dataclasses.replace(cfg, preselect_weights=None),
                           sampling_ns=chunk.sampling_ns)
    return cw, preselect_mask(chunk.waveforms, cw.sample_index, cw.offsets, cw.baseline, cw.rms, cfg)


def peak_sample(
    files: FileArg,
    model_config: PeakModelConfig,
    *,
    schema: str = "native",
    max_waveforms: int | None = None,
    candidates: Mapping[str, Any] | None = None,
) -> PeakSample:
    """Collect candidate windows and truth labels from ntuples for step-1 training.

    Parameters
    ----------
    files : path or iterable of paths
        ROOT files with MC truth (globs allowed).
    model_config : PeakModelConfig
        Gives the window extent.
    schema : str
        Ntuple schema preset or mapping file.
    max_waveforms : int, optional
        Stop after this many waveforms.
    candidates : mapping, optional
        :class:`~ccreco.kernels.candidates.CandidateConfig` fields other than the window
        (amplitude threshold, rule, smoothing, normalisation, label tolerance); stored in the
        model so that inference selects candidates the same way.

    Returns
    -------
    PeakSample
        Windows, labels, sampling period and a description.
    """
    cfg = candidate_config(model_config.window_left, model_config.window_right, candidates)
    windows, labels, files_seen = [], [], []
    n_wf, sampling = 0, None
    with progress(total=max_waveforms, desc="windows", unit="wf") as bar:
        for chunk in _chunks(files, schema, max_waveforms):
            sampling = chunk.sampling_ns if sampling is None else sampling
            cw, y = chunk_windows(chunk, cfg)
            windows.append(cw.windows)
            labels.append(y)
            n_wf += len(chunk)
            if chunk.source is not None and chunk.source.file not in files_seen:
                files_seen.append(chunk.source.file)
            bar.update(len(chunk))
    if sampling is None or not windows:
        raise ConfigError(f"no waveforms read from {files!r}")
    x = np.concatenate(windows)
    y = np.concatenate(labels).astype(np.int8)
    info = {
        "files": [os.path.basename(f) for f in files_seen],
        "n_waveforms": n_wf,
        "n_windows": int(y.size),
        "n_signal_windows": int(y.sum()),
        "labels": "electron_peak_ns",
        "candidates": dataclasses.asdict(cfg),
    }
    return PeakSample(x, y, float(sampling), info)


def cluster_sample(
    files: FileArg,
    peak_model: Any,
    model_config: ClusterModelConfig,
    *,
    schema: str = "native",
    max_waveforms: int | None = None,
    threshold: float | None = None,
) -> ClusterSample:
    """Run a step-1 model on ntuples and collect peak times + truth counts for step 2.

    Parameters
    ----------
    files : path or iterable of paths
        ROOT files with MC truth.
    peak_model : PeakModel
        The step-1 ONNX model (its window and sampling are checked against the files).
    model_config : ClusterModelConfig
        Its ``extra`` names the truth scalars to collect.
    schema : str
        Ntuple schema preset or mapping file.
    max_waveforms : int, optional
        Stop after this many waveforms.
    threshold : float, optional
        Overrides the step-1 model's stored threshold.

    Returns
    -------
    ClusterSample
        Peak times, targets, extra inputs and a description.
    """
    times: list[np.ndarray] = []
    n_true: list[np.ndarray] = []
    extra: dict[str, list[np.ndarray]] = {k: [] for k in model_config.extra}
    files_seen: list[str] = []
    sampling = None
    cfg = candidate_config(peak_model.window_left, peak_model.window_right, peak_model.metadata.get("candidates"))
    with progress(total=max_waveforms, desc="step-1 peaks", unit="wf") as bar:
        for chunk in _chunks(files, schema, max_waveforms):
            sampling = chunk.sampling_ns if sampling is None else sampling
            cw, _ = chunk_windows(chunk, cfg, with_labels=False)
            accepted = peak_model.classify(cw.windows, sampling_ns=chunk.sampling_ns, threshold=threshold)
            t = cw.time_ns
            for i in range(len(chunk)):
                sl = slice(cw.offsets[i], cw.offsets[i + 1])
                times.append(t[sl][accepted[sl]])
            fields = set(chunk.truth.fields)
            for name in ("n_clusters", *model_config.extra):
                if name not in fields:
                    raise TruthInconsistencyError(
                        f"truth field {name!r} missing (have {sorted(fields)})",
                        file=chunk.source.file if chunk.source else None,
                    )
            n_true.append(np.asarray(chunk.truth["n_clusters"], dtype=np.float32))
            for k in model_config.extra:
                extra[k].append(np.asarray(chunk.truth[k], dtype=np.float32))
            if chunk.source is not None and chunk.source.file not in files_seen:
                files_seen.append(chunk.source.file)
            bar.update(len(chunk))
    if sampling is None:
        raise ConfigError(f"no waveforms read from {files!r}")
    y = np.concatenate(n_true)
    info = {
        "files": [os.path.basename(f) for f in files_seen],
        "n_waveforms": int(y.size),
        "mean_peaks": float(np.mean([t.size for t in times])) if times else 0.0,
        "peak_model": {
            "file": os.path.basename(str(peak_model.path)),
            "threshold": peak_model.threshold if threshold is None else float(threshold),
            "metrics": peak_model.metrics,
            "model_config": peak_model.metadata.get("model_config"),
            "candidates": dataclasses.asdict(cfg),
        },
        "target": "truth n_clusters",
    }
    ex = {k: np.concatenate(v) for k, v in extra.items()} if model_config.extra else None
    return ClusterSample(times, y, ex, float(sampling), info)


def peak_cluster_targets(cw: Any, truth: Any) -> np.ndarray:
    """Number of primary clusters each candidate opens (the per-peak model's target).

    Every truth cluster with an electron peak inside the waveform is given to one candidate:
    the candidate matched one-to-one (:func:`ccreco.kernels.match_peaks`, ``cw.config.tolerance``)
    to the earliest of its electrons that has a match, i.e. the first detected arrival of the
    cluster; a cluster none of whose electrons is matched (lost in a merged pulse, or below
    threshold) goes to the candidate nearest in time to its first electron peak. The targets of a
    waveform therefore sum to its number of clusters with an electron in the window (for a
    waveform with at least one candidate); most are 0 or 1.

    Parameters
    ----------
    cw : CandidateWindows
        The candidates (sorted within each waveform).
    truth : awkward.Array
        Chunk truth with ``electron_peak_ns`` and ``electron_cluster``.

    Returns
    -------
    numpy.ndarray
        float32 ``(len(cw),)``.

    Raises
    ------
    TruthInconsistencyError
        A truth field missing, or of a different length than the electrons.
    """
    import awkward as ak

    from ccreco.kernels import match_peaks

    fields = set(ak.fields(truth))
    for name in ("electron_peak_ns", "electron_cluster"):
        if name not in fields:
            raise TruthInconsistencyError(f"the per-peak target needs the truth field {name!r} (have {sorted(fields)})")
    if len(truth) != cw.n_waveforms:
        raise TruthInconsistencyError(f"truth has {len(truth)} entries for {cw.n_waveforms} waveforms")
    times = ak.values_astype(truth["electron_peak_ns"], np.float64)
    cluster = ak.values_astype(truth["electron_cluster"], np.int64)
    if not ak.all(ak.num(times, axis=1) == ak.num(cluster, axis=1)):
        raise TruthInconsistencyError("electron_peak_ns and electron_cluster differ in length")
    samples = ak.values_astype(np.rint(times / cw.sampling_ns), np.int64)
    inside = (samples >= 0) & (samples < cw.n_samples)
    order = ak.argsort(times[inside], axis=1, stable=True)
    s = ak.to_numpy(ak.flatten(samples[inside][order], axis=1)).astype(np.int64)
    c = ak.to_numpy(ak.flatten(cluster[inside][order], axis=1)).astype(np.int64)
    counts = ak.to_numpy(ak.num(samples[inside], axis=1)).astype(np.int64)
    ref_off = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=ref_off[1:])
    m = len(cw)
    target = np.zeros(m, dtype=np.float32)
    if s.size == 0 or m == 0:
        return target
    ref_match, _ = match_peaks(s, ref_off, cw.sample_index, cw.offsets, cw.config.tolerance)
    wf = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    gid = wf * (int(c.max()) + 1) + c  # a waveform-unique cluster id, electrons in time order
    # the earliest matched electron of each cluster (first occurrence in time order)
    hit = ref_match >= 0
    hit_ids, first_hit = np.unique(gid[hit], return_index=True)
    np.add.at(target, ref_match[hit][first_hit], 1.0)
    # clusters without any matched electron: nearest candidate to their first electron
    all_ids, first_any = np.unique(gid, return_index=True)
    lost = first_any[~np.isin(all_ids, hit_ids)]
    if lost.size:
        span = int(cw.n_samples) + 1
        key_det = np.repeat(np.arange(cw.n_waveforms, dtype=np.int64), np.diff(cw.offsets)) * span + cw.sample_index
        key = wf[lost] * span + s[lost]
        right = np.searchsorted(key_det, key)
        left = right - 1
        best = np.full(lost.size, -1, dtype=np.int64)
        best_d = np.full(lost.size, np.iinfo(np.int64).max, dtype=np.int64)
        for cand in (left, right):
            ok = (cand >= 0) & (cand < m)
            cc = np.clip(cand, 0, m - 1)
            ok &= key_det[cc] // span == wf[lost]
            d = np.abs(key_det[cc] - key)
            better = ok & (d < best_d)
            best[better], best_d[better] = cc[better], d[better]
        np.add.at(target, best[best >= 0], 1.0)
    return target


def peak_cluster_sample(
    files: FileArg,
    peak_model: Any,
    context: int,
    *,
    schema: str = "native",
    max_waveforms: int | None = None,
    channels: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Per-candidate inputs and targets of the per-peak cluster model, from ntuples.

    Candidates are selected as the step-1 model's metadata says and scored by it; every
    candidate (accepted or not) becomes an example, with its neighbours as context
    (:func:`ccreco.models.encoding.peak_context`) and :func:`peak_cluster_targets` as target.

    Parameters
    ----------
    files : path or iterable of paths
        ROOT files with MC truth.
    peak_model : PeakModel
        The step-1 ONNX model.
    context : int
        Neighbours on each side.
    schema : str
        Ntuple schema.
    max_waveforms : int, optional
        Stop after this many waveforms.
    channels : tuple of str, optional
        Context channels (:attr:`PeakClusterConfig.channels`); default
        :data:`~ccreco.models.encoding.CONTEXT_CHANNELS`.

    Returns
    -------
    dict
        ``x`` (m, 2 context + 1, channels) float32, ``y`` (m,) float32, ``offsets`` (n + 1,),
        ``n_true`` (n,) truth ``n_clusters``, ``waveform`` (per-waveform
        :func:`~ccreco.models.encoding.waveform_quantities`, for the model's ``input_ranges``),
        ``sampling_ns``, ``window_ns`` and ``info``.
    """
    from ccreco.models.encoding import (
        CONTEXT_CHANNELS,
        geometry_inputs,
        geometry_values,
        peak_context,
        peak_features,
        waveform_quantities,
    )

    channels = CONTEXT_CHANNELS if channels is None else tuple(channels)
    cfg = candidate_config(peak_model.window_left, peak_model.window_right, peak_model.metadata.get("candidates"))
    xs, ys, counts, n_true, files_seen = [], [], [], [], []
    per_wf: dict[str, list[np.ndarray]] = {}
    sampling: float | None = None
    window: float | None = None
    with progress(total=max_waveforms, desc="per-peak sample", unit="wf") as bar:
        for chunk in _chunks(files, schema, max_waveforms):
            sampling = chunk.sampling_ns if sampling is None else sampling
            window = chunk.n_samples * chunk.sampling_ns
            cw, scored = scored_windows(chunk, cfg)
            scores = peak_model.predict_scored(cw.windows, scored, sampling_ns=chunk.sampling_ns)
            feats = peak_features(cw.windows, cw.time_ns, scores, cw.config.window_left)
            given: dict[str, np.ndarray] = {}
            needed = geometry_inputs(channels)
            if needed:  # the geometry the user gives at reconstruction comes from the truth here
                truth_fields = [] if chunk.truth is None else list(chunk.truth.fields)
                for name in needed:
                    if name not in truth_fields:
                        raise MissingBranchError(
                            f"the channels {list(channels)} need the truth {name} per waveform",
                            file=None if chunk.source is None else chunk.source.file, branch=name)
                    given[name] = np.asarray(chunk.truth[name])  # as stored: the channel is computed in float64
            geometry = geometry_values(given, len(chunk)) if given else None
            xs.append(peak_context(feats, cw.offsets, context, channels, geometry))
            for name, values in waveform_quantities(feats, cw.offsets).items():
                per_wf.setdefault(name, []).append(values)
            for name, values in given.items():  # their range too (|angle|), for the model's input_ranges
                per_wf.setdefault(name, []).append(np.abs(values).astype(np.float32))
            ys.append(peak_cluster_targets(cw, chunk.truth))
            counts.append(np.diff(cw.offsets))
            n_true.append(np.asarray(chunk.truth["n_clusters"], dtype=np.float32))
            if chunk.source is not None and chunk.source.file not in files_seen:
                files_seen.append(chunk.source.file)
            bar.update(len(chunk))
    if sampling is None or window is None:  # both are set by the first chunk
        raise ConfigError(f"no waveforms read from {files!r}")
    cnt = np.concatenate(counts)
    offsets = np.zeros(cnt.size + 1, dtype=np.int64)
    np.cumsum(cnt, out=offsets[1:])
    y = np.concatenate(ys)
    info = {
        "files": [os.path.basename(f) for f in files_seen],
        "n_waveforms": int(cnt.size),
        "n_candidates": int(y.size),
        "target_sum_over_n_clusters": float(y.sum() / max(float(np.concatenate(n_true).sum()), 1.0)),
        "context": int(context),
        "channels": list(channels),
        "peak_model": {"file": os.path.basename(str(peak_model.path)), "candidates": dataclasses.asdict(cfg)},
        "target": "clusters opened per candidate (peak_cluster_targets)",
    }
    return {"x": np.concatenate(xs), "y": y, "offsets": offsets, "n_true": np.concatenate(n_true),
            "waveform": {k: np.concatenate(v) for k, v in per_wf.items()},
            "sampling_ns": float(sampling), "window_ns": float(window), "info": info}


__all__ = ["ClusterSample", "PeakSample", "candidate_config", "chunk_windows", "cluster_sample", "peak_cluster_sample",
           "peak_cluster_targets", "peak_sample", "scored_windows"]
