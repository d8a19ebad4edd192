"""The stages of the reconstruction chain, as plain functions on flat arrays + offsets.

One copy, used by :class:`ccreco.reco.Reconstructor`, by every evaluation method
(:mod:`ccreco.analysis.methods`), by PID (:mod:`ccreco.analysis.pid`) and by the truth-free
features (:mod:`ccreco.analysis.features`):

1. :func:`score_windows` -- the step-1 model's probability of every candidate window;
2. :func:`select_peaks` -- the windows at or above the working point -> peak samples + offsets;
3. :func:`resolve_extra_inputs` + :func:`count_clusters` -- a step-2 CNN's count from the
   flat peak times (extra scalar inputs such as ``track_length_cm`` resolved one way); a
   per-peak step-2 model counts from the candidate windows and scores itself
   (:meth:`ccreco.models.inference.PeakClusterModel.count`);
4. :func:`deriv_clusters` -- the classical chain: DERIV peaks + time-proximity clusterization.

Per-waveform jagged data are a flat array plus int64 ``offsets`` of length ``n + 1``: waveform
``w`` owns ``flat[offsets[w]:offsets[w + 1]]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccreco.errors import ConfigError
from ccreco.kernels import ClusterizeConfig, DerivConfig, clusterize, deriv_peaks


@dataclass(frozen=True)
class PeakSelection:
    """Peaks selected from scored candidate windows.

    Attributes
    ----------
    index : numpy.ndarray
        int64 sample index of every selected peak, sorted within each waveform.
    offsets : numpy.ndarray
        int64 ``(n + 1,)``.
    selected : numpy.ndarray
        bool ``(m,)``: which of the ``m`` candidate windows were selected.
    """

    index: np.ndarray
    offsets: np.ndarray
    selected: np.ndarray

    def times_ns(self, sampling_ns: float) -> np.ndarray:
        """Peak times in ns from the waveform start (float64, flat)."""
        return self.index * float(sampling_ns)


def score_windows(peak_model: Any, windows: np.ndarray, sampling_ns: float,
                  scored: np.ndarray | None = None) -> np.ndarray:
    """Step-1 probability of every candidate window.

    Parameters
    ----------
    peak_model : ccreco.models.inference.PeakModel
        The step-1 model.
    windows : numpy.ndarray
        ``(m, L, 1)`` candidate windows (:func:`ccreco.kernels.candidate_windows`).
    sampling_ns : float
        Sampling period of the data (checked against the model's).
    scored : numpy.ndarray, optional
        bool ``(m,)``: the windows a first-stage pre-selection passed
        (:func:`ccreco.models.dataset.scored_windows`); the others get 0.

    Returns
    -------
    numpy.ndarray
        float32 ``(m,)``.
    """
    if len(windows) == 0:
        return np.zeros(0, dtype=np.float32)
    if scored is not None:
        return np.asarray(peak_model.predict_scored(windows, scored, sampling_ns=sampling_ns), dtype=np.float32)
    return np.asarray(peak_model.predict(windows, sampling_ns=sampling_ns), dtype=np.float32)


def select_peaks(selected: np.ndarray, sample_index: np.ndarray, waveform_index: np.ndarray,
                 n_waveforms: int) -> PeakSelection:
    """Peak samples and offsets of the selected candidate windows.

    Parameters
    ----------
    selected : numpy.ndarray
        bool ``(m,)``, e.g. ``scores >= threshold``.
    sample_index : numpy.ndarray
        Candidate sample of each window (sorted within a waveform).
    waveform_index : numpy.ndarray
        Waveform of each window.
    n_waveforms : int
        Number of waveforms.

    Returns
    -------
    PeakSelection
        Flat peak samples, offsets and the selection mask.
    """
    sel = np.asarray(selected, dtype=bool).reshape(-1)
    counts = np.bincount(np.asarray(waveform_index)[sel], minlength=n_waveforms)
    offsets = np.zeros(n_waveforms + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return PeakSelection(np.asarray(np.asarray(sample_index)[sel], dtype=np.int64), offsets, sel)


def resolve_extra_inputs(
    names: list[str] | tuple[str, ...],
    n: int,
    *,
    truth: Any = None,
    fixed: Mapping[str, Any] | None = None,
    fallback: Mapping[str, Any] | None = None,
    hint: str = "",
) -> dict[str, np.ndarray] | None:
    """Values of the step-2 model's extra scalar inputs, one per waveform.

    Each name is taken, in this order, from ``fixed`` (a value or array that overrides the data),
    the chunk's ``truth`` field of that name, then ``fallback`` (used only when the data lack it).

    Parameters
    ----------
    names : sequence of str
        The model's extra inputs (``ClusterModel.extra_inputs``).
    n : int
        Number of waveforms.
    truth : awkward.Array, optional
        The chunk's truth records.
    fixed, fallback : mapping of str to float or array, optional
        See above.
    hint : str
        Appended to the error message (how the caller can supply a missing input).

    Returns
    -------
    dict of str to numpy.ndarray or None
        float32 ``(n,)`` per name; ``None`` when the model has no extra input.

    Raises
    ------
    ConfigError
        An input that no source provides (all missing names listed).
    """
    if not names:
        return None
    fixed = fixed or {}
    fallback = fallback or {}
    fields = [] if truth is None else list(truth.fields)
    out: dict[str, np.ndarray] = {}
    missing = []
    for name in names:
        if name in fixed:
            value: Any = fixed[name]
        elif name in fields:
            value = truth[name]
        elif name in fallback:
            value = fallback[name]
        else:
            missing.append(name)
            continue
        out[name] = np.broadcast_to(np.asarray(value, dtype=np.float32), (n,)).copy()
    if missing:
        raise ConfigError(f"the step-2 model needs extra inputs {missing}, which neither the data nor the "
                          f"configuration provide{': ' + hint if hint else ''}")
    return out


def count_clusters(cluster_model: Any, times_ns: np.ndarray, offsets: np.ndarray, *, sampling_ns: float,
                   window_ns: float, extra: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Step-2 CNN cluster count per waveform from flat peak times.

    Parameters
    ----------
    cluster_model : ccreco.models.inference.ClusterModel
        The step-2 model.
    times_ns : numpy.ndarray
        Flat peak times in ns from the waveform start.
    offsets : numpy.ndarray
        int64 ``(n + 1,)``.
    sampling_ns, window_ns : float
        Sampling period and acquisition window of the data (checked against the model's).
    extra : mapping, optional
        From :func:`resolve_extra_inputs`.

    Returns
    -------
    numpy.ndarray
        float32 ``(n,)``, the real-valued CNN output; 0 for a waveform without peaks.
    """
    n = int(np.asarray(offsets).size) - 1
    if n <= 0:
        return np.zeros(0, dtype=np.float32)
    out = np.asarray(cluster_model.predict(times_ns, offsets=offsets, sampling_ns=sampling_ns,
                                           window_ns=window_ns, extra=extra), dtype=np.float32)
    # no peak found (flat, all-zero or empty waveform): the model never saw such input; no clusters
    return np.where(np.diff(np.asarray(offsets)) > 0, out, np.float32(0.0)).astype(np.float32)


def round_counts(n_clusters: np.ndarray) -> np.ndarray:
    """The step-2 model's real-valued counts as integers (negative outputs clipped to 0).

    Parameters
    ----------
    n_clusters : numpy.ndarray
        Real-valued counts.

    Returns
    -------
    numpy.ndarray
        int64, same shape.
    """
    counts: np.ndarray = np.rint(np.maximum(n_clusters, 0.0)).astype(np.int64)
    return counts


@dataclass(frozen=True)
class DerivClusters:
    """The classical chain's output for a block of waveforms.

    Attributes
    ----------
    index, offsets : numpy.ndarray
        DERIV peak samples (int64, flat) and offsets (int64 ``(n + 1,)``).
    baseline, rms : numpy.ndarray
        float64 ``(n,)`` of the pre-signal region DERIV used.
    times_ns : numpy.ndarray
        float64 flat peak times.
    cluster_id : numpy.ndarray
        int64 per peak, its cluster's number within the waveform.
    n_clusters : numpy.ndarray
        int64 ``(n,)``.
    """

    index: np.ndarray
    offsets: np.ndarray
    baseline: np.ndarray
    rms: np.ndarray
    times_ns: np.ndarray
    cluster_id: np.ndarray
    n_clusters: np.ndarray

    @property
    def n_peaks(self) -> np.ndarray:
        """int64 ``(n,)`` DERIV peaks per waveform."""
        return np.diff(self.offsets).astype(np.int64)


def deriv_clusters(waveforms: np.ndarray, deriv: DerivConfig, cluster: ClusterizeConfig, *,
                   sampling_ns: float) -> DerivClusters:
    """DERIV peaks and their time-proximity clusters (the classical baseline).

    Parameters
    ----------
    waveforms : numpy.ndarray
        ``(n, n_samples)`` in mV, positive pulses.
    deriv : DerivConfig
        Peak-finder thresholds (e.g. from :func:`ccreco.kernels.deriv_preset`).
    cluster : ClusterizeConfig
        Clusterization (the preset's constant unless overridden).
    sampling_ns : float
        Sampling period in ns.

    Returns
    -------
    DerivClusters
        Peaks, times, cluster ids and counts.
    """
    index, offsets, baseline, rms = deriv_peaks(waveforms, deriv, sampling_ns=sampling_ns)
    times = index * float(sampling_ns)
    cid, n_cl = clusterize(times, offsets, cluster)
    return DerivClusters(index, offsets, baseline, rms, times, cid, np.asarray(n_cl, dtype=np.int64))


__all__ = ["DerivClusters", "PeakSelection", "count_clusters", "deriv_clusters", "resolve_extra_inputs",
           "round_counts", "score_windows", "select_peaks"]
