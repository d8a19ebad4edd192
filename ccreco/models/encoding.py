"""Step-2 input encoding: detected peak times -> fixed-length arrays (numpy only).

Used unchanged by training (:mod:`ccreco.models.train_clusters`) and inference
(:class:`ccreco.models.inference.ClusterModel`, which reads the :class:`Encoding` from the
model's ONNX metadata), so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import awkward as ak
import numpy as np

from ccreco.models.config import Encoding


def flatten_times(times: Any) -> tuple[np.ndarray, np.ndarray]:
    """Turn per-waveform peak times into a flat float64 array and per-waveform counts.

    Parameters
    ----------
    times : awkward.Array or sequence of array-like
        One 1-D list of peak times (ns) per waveform.

    Returns
    -------
    flat : numpy.ndarray
        float64, all times concatenated.
    counts : numpy.ndarray
        int64, number of times per waveform.
    """
    if isinstance(times, ak.Array):
        return (
            np.asarray(ak.to_numpy(ak.flatten(times, axis=1)), dtype=np.float64),
            np.asarray(ak.to_numpy(ak.num(times, axis=1)), dtype=np.int64),
        )
    if isinstance(times, np.ndarray) and times.dtype != object and times.ndim != 1:
        raise ValueError(f"peak times: expected one list per waveform, got shape {times.shape}")
    arrays = [np.asarray(t, dtype=np.float64).reshape(-1) for t in times]
    counts = np.fromiter((a.size for a in arrays), dtype=np.int64, count=len(arrays))
    flat = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.float64)
    return flat, counts


def encode_flat(flat: np.ndarray, counts: np.ndarray, encoding: Encoding = Encoding()) -> np.ndarray:
    """Encode flat peak times (with per-waveform counts) into ``(n, bins, 1)`` float32.

    Parameters
    ----------
    flat : numpy.ndarray
        Peak times in ns, all waveforms concatenated.
    counts : numpy.ndarray
        Number of times per waveform (sums to ``len(flat)``).
    encoding : Encoding
        Binning and kind (binary occupancy or counts per bin).

    Returns
    -------
    numpy.ndarray
        float32 of shape ``(len(counts), encoding.bins, 1)``; times outside
        ``[t0_ns, t0_ns + window_ns)`` are dropped.
    """
    flat = np.asarray(flat, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.int64)
    if counts.sum() != flat.size:
        raise ValueError(f"counts sum to {int(counts.sum())} but there are {flat.size} times")
    n, bins = counts.size, encoding.bins
    idx = np.floor((flat - encoding.t0_ns) / encoding.bin_ns)
    row = np.repeat(np.arange(n, dtype=np.int64), counts)
    keep = (idx >= 0) & (idx < bins)
    linear = row[keep] * bins + idx[keep].astype(np.int64)
    hist = np.bincount(linear, minlength=n * bins)
    if encoding.kind == "binary":
        hist = np.minimum(hist, 1)
    return hist.astype(np.float32).reshape(n, bins, 1)


def encode_peak_times(times: Any | Sequence[Any], encoding: Encoding = Encoding()) -> np.ndarray:
    """Encode per-waveform peak times into the step-2 CNN input.

    Parameters
    ----------
    times : awkward.Array or sequence of array-like
        One list of peak times (ns from the waveform start) per waveform.
    encoding : Encoding
        Binning and kind; at inference it comes from the model's metadata.

    Returns
    -------
    numpy.ndarray
        float32 of shape ``(n_waveforms, encoding.bins, 1)``.

    Examples
    --------
    >>> from ccreco.models.config import Encoding
    >>> x = encode_peak_times([[0.5, 1.0, 1.2], []], Encoding(bins=4, window_ns=4.0))
    >>> x[..., 0].tolist()
    [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    """
    flat, counts = flatten_times(times)
    return encode_flat(flat, counts, encoding)


# ---------------------------------------------------------------------------------------------
# Per-peak inputs of the per-peak cluster model (formulation (b) of step 2)

#: Per-candidate quantities, in the order of the last axis of :func:`peak_features`:
#: time (ns), height over the window minimum (mV), height over the window mean (mV), step-1
#: score (0-1).
PEAK_QUANTITIES: tuple[str, ...] = ("time_ns", "height_over_min_mv", "height_over_mean_mv", "score")
#: Channels of each slot of :func:`peak_context`: slot holds a candidate (0/1), its time minus
#: the centre candidate's (ns), its time minus the waveform's first confident candidate (ns),
#: the two heights (mV) and the step-1 score.
CONTEXT_CHANNELS: tuple[str, ...] = ("present", "dt_ns", "t_rel_ns", "height_over_min_mv",
                                     "height_over_mean_mv", "score")
#: Step-1 score above which a candidate counts as confident (defines ``t_rel_ns``).
CONFIDENT_SCORE: float = 0.5


def peak_features(windows: np.ndarray, time_ns: np.ndarray, scores: np.ndarray, window_left: int) -> np.ndarray:
    """Per-candidate quantities (:data:`PEAK_QUANTITIES`) from the step-1 windows and scores.

    Parameters
    ----------
    windows : numpy.ndarray
        ``(m, L)`` or ``(m, L, 1)`` raw candidate windows (mV), the candidate at ``window_left``.
    time_ns : numpy.ndarray
        ``(m,)`` candidate times (ns).
    scores : numpy.ndarray
        ``(m,)`` step-1 signal probabilities.
    window_left : int
        Samples before the candidate in each window.

    Returns
    -------
    numpy.ndarray
        float32 ``(m, 4)``; the heights do not depend on a baseline offset.
    """
    w = np.asarray(windows, dtype=np.float32)
    if w.ndim == 3:
        w = w[:, :, 0]
    if w.ndim != 2 or not 0 <= window_left < w.shape[1]:
        raise ValueError(f"windows of shape {np.shape(windows)} with window_left={window_left}")
    t = np.asarray(time_ns, dtype=np.float32).reshape(-1)
    sc = np.asarray(scores, dtype=np.float32).reshape(-1)
    if not (t.size == sc.size == w.shape[0]):
        raise ValueError(f"{w.shape[0]} windows, {t.size} times and {sc.size} scores")
    out = np.empty((w.shape[0], len(PEAK_QUANTITIES)), dtype=np.float32)
    out[:, 0] = t
    if w.shape[0]:
        centre = w[:, window_left]
        out[:, 1] = centre - w.min(axis=1)
        out[:, 2] = centre - w.mean(axis=1)
    out[:, 3] = sc
    return out


def peak_context(features: np.ndarray, offsets: np.ndarray, context: int) -> np.ndarray:
    """Each candidate with its ``context`` neighbours on either side, as model input.

    Parameters
    ----------
    features : numpy.ndarray
        ``(m, 4)`` from :func:`peak_features`, candidates sorted in time within a waveform.
    offsets : numpy.ndarray
        int64 ``(n + 1,)`` waveform offsets into the candidates.
    context : int
        Neighbours on each side (slots outside the waveform are all zero).

    Returns
    -------
    numpy.ndarray
        float32 ``(m, 2 * context + 1, len(CONTEXT_CHANNELS))``; slot ``context`` is the
        candidate itself.

    Examples
    --------
    >>> f = np.array([[10, 5, 3, 0.9], [30, 6, 4, 0.2]], dtype=np.float32)
    >>> x = peak_context(f, np.array([0, 2]), 1)
    >>> x.shape, x[0, :, 0].tolist(), x[0, 2, 1].item(), x[1, 1, 2].item()
    ((2, 3, 6), [0.0, 1.0, 1.0], 20.0, 20.0)
    """
    f = np.asarray(features, dtype=np.float32)
    off = np.asarray(offsets, dtype=np.int64)
    m = f.shape[0]
    if off.ndim != 1 or off.size < 1 or off[0] != 0 or off[-1] != m or np.any(np.diff(off) < 0):
        raise ValueError(f"offsets must rise from 0 to {m}")
    counts = np.diff(off)
    wf = np.repeat(np.arange(counts.size), counts)
    local = np.arange(m) - off[:-1][wf]
    # time of the first confident candidate of each waveform (its first candidate if none)
    conf = f[:, 3] >= CONFIDENT_SCORE
    first = np.full(counts.size, np.inf, dtype=np.float64)
    np.minimum.at(first, wf[conf], f[conf, 0].astype(np.float64))
    fallback = np.where(counts > 0, f[np.minimum(off[:-1], max(m - 1, 0)), 0] if m else 0.0, 0.0)
    first = np.where(np.isfinite(first), first, fallback).astype(np.float32)
    t_rel = f[:, 0] - first[wf] if m else np.zeros(0, np.float32)
    slots = 2 * int(context) + 1
    out = np.zeros((m, slots, len(CONTEXT_CHANNELS)), dtype=np.float32)
    for k, o in enumerate(range(-int(context), int(context) + 1)):
        ok = (local + o >= 0) & (local + o < counts[wf])
        j = np.arange(m)[ok] + o
        out[ok, k, 0] = 1.0
        out[ok, k, 1] = f[j, 0] - f[ok, 0]
        out[ok, k, 2] = t_rel[j]
        out[ok, k, 3:] = f[j, 1:]
    return out


__all__ = [
    "CONFIDENT_SCORE",
    "CONTEXT_CHANNELS",
    "PEAK_QUANTITIES",
    "encode_flat",
    "encode_peak_times",
    "flatten_times",
    "peak_context",
    "peak_features",
]
