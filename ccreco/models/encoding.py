"""Step-2 input encoding: detected peak times -> fixed-length arrays (numpy only).

Used unchanged by training (:mod:`ccreco.models.train_clusters`) and inference
(:class:`ccreco.models.inference.ClusterModel`, which reads the :class:`Encoding` from the
model's ONNX metadata), so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import awkward as ak
import numpy as np

from ccreco.geometry import path_length_cm
from ccreco.kernels._jit import jit
from ccreco.models.config import Encoding

#: The default binning of the step-2 input (``Encoding`` is frozen, so one shared instance is safe).
_DEFAULT_ENCODING = Encoding()


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


def encode_flat(flat: np.ndarray, counts: np.ndarray, encoding: Encoding = _DEFAULT_ENCODING) -> np.ndarray:
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


def encode_peak_times(times: Any | Sequence[Any], encoding: Encoding = _DEFAULT_ENCODING) -> np.ndarray:
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
#: Optional waveform-level channels (the same value in every slot of a waveform's candidates):
#: the sum of the step-1 scores of its candidates, its number of confident candidates and the
#: time span between its first and last confident candidate (ns) and the fraction of short gaps
#: between consecutive confident candidates (:data:`CLOSE_GAP_NS`). Together they tell the model
#: the track's electron density, so that its per-candidate yield need not be the training mix's
#: average (docs/MODELS.md, "Per-peak formulation").
WAVEFORM_CHANNELS: tuple[str, ...] = ("wf_score_sum", "wf_confident", "wf_span_ns", "wf_close_fraction")
#: Optional geometry channels (same value in every slot of a waveform's candidates) that the
#: waveform cannot tell and the user gives: ``sec_angle``, 1 / cos of the track's angle to the
#: normal of the wire (the path length over its perpendicular value; from ``angle_deg``). With it
#: a per-peak model separates a track's angle from its cluster density (docs/MODELS.md,
#: "An angle-aware per-peak model").
GEOMETRY_CHANNELS: tuple[str, ...] = ("sec_angle",)
#: The per-waveform input each geometry channel is computed from (:func:`geometry_values`).
GEOMETRY_INPUTS: dict[str, str] = {"sec_angle": "angle_deg"}
#: Gap (ns) below which two consecutive confident candidates count as close (``wf_close_fraction``:
#: the fraction of a waveform's gaps between confident candidates that are this short, a
#: per-waveform view of how often electrons arrive in tight groups, i.e. of the cluster sizes).
CLOSE_GAP_NS: float = 5.0
#: Step-1 score above which a candidate counts as confident (defines ``t_rel_ns``).
CONFIDENT_SCORE: float = 0.5


def context_channels(waveform_channels: tuple[str, ...] | list[str] = ()) -> tuple[str, ...]:
    """The channel names of :func:`peak_context` with the given waveform-level channels.

    Parameters
    ----------
    waveform_channels : sequence of str
        Names from :data:`WAVEFORM_CHANNELS` and :data:`GEOMETRY_CHANNELS`, appended in this
        order after :data:`CONTEXT_CHANNELS`.

    Returns
    -------
    tuple of str

    Raises
    ------
    ValueError
        An unknown or repeated name.
    """
    wc = tuple(str(c) for c in waveform_channels)
    known = WAVEFORM_CHANNELS + GEOMETRY_CHANNELS
    unknown = [c for c in wc if c not in known]
    if unknown or len(set(wc)) != len(wc):
        raise ValueError(f"waveform channels {list(wc)}: each at most once, from {list(known)}")
    return CONTEXT_CHANNELS + wc


def geometry_inputs(channels: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The per-waveform inputs (e.g. ``angle_deg``) a channel list needs from outside the waveform.

    Parameters
    ----------
    channels : sequence of str
        A model's channel list (or only its waveform-level part).

    Returns
    -------
    tuple of str
        Names from :data:`GEOMETRY_INPUTS`, in channel order; empty without geometry channels.
    """
    return tuple(GEOMETRY_INPUTS[c] for c in channels if c in GEOMETRY_INPUTS)


def geometry_values(inputs: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """The :data:`GEOMETRY_CHANNELS` values of ``n`` waveforms from their inputs.

    Parameters
    ----------
    inputs : mapping of str to numpy.ndarray
        ``angle_deg``: track angle to the normal of the wire, degrees, ``(n,)`` (or a scalar).
    n : int
        Number of waveforms.

    Returns
    -------
    dict of str to numpy.ndarray
        float32 ``(n,)`` per geometry channel whose input is given.

    Raises
    ------
    ValueError
        An angle outside (-89, 89) degrees or not finite.
    """
    out: dict[str, np.ndarray] = {}
    if "angle_deg" in inputs:
        angle = np.broadcast_to(np.asarray(inputs["angle_deg"], dtype=np.float64), (n,))
        if not np.all(np.isfinite(angle)) or np.any(np.abs(angle) >= 89.0):
            bad = angle[~(np.isfinite(angle) & (np.abs(angle) < 89.0))][:3]
            raise ValueError(f"angle_deg must be finite and within (-89, 89) degrees, got {bad.tolist()}")
        out["sec_angle"] = path_length_cm(np.ones(n), angle).astype(np.float32)  # path / chord
    return out


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


def waveform_channels_of(channels: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The waveform-level part of a full channel list, checked.

    Parameters
    ----------
    channels : sequence of str
        :data:`CONTEXT_CHANNELS` followed by waveform-level channels (a model's ``channels``
        metadata, :attr:`~ccreco.models.config.PeakClusterConfig.channels`).

    Returns
    -------
    tuple of str
        The names after :data:`CONTEXT_CHANNELS`.

    Raises
    ------
    ValueError
        The list does not start with :data:`CONTEXT_CHANNELS`, or an unknown or repeated
        waveform-level name (:func:`context_channels`).
    """
    channels = tuple(str(c) for c in channels)
    if channels[: len(CONTEXT_CHANNELS)] != CONTEXT_CHANNELS:
        raise ValueError(f"channels {list(channels)} must start with {list(CONTEXT_CHANNELS)}")
    return context_channels(channels[len(CONTEXT_CHANNELS):])[len(CONTEXT_CHANNELS):]


def _candidate_offsets(offsets: np.ndarray, m: int) -> np.ndarray:
    """``offsets`` as int64, checked to rise from 0 to the ``m`` candidates."""
    off = np.asarray(offsets, dtype=np.int64)
    if off.ndim != 1 or off.size < 1 or off[0] != 0 or off[-1] != m or np.any(np.diff(off) < 0):
        raise ValueError(f"offsets must rise from 0 to {m}")
    return off


def peak_context(
    features: np.ndarray, offsets: np.ndarray, context: int, channels: tuple[str, ...] | list[str] = CONTEXT_CHANNELS,
    geometry: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Each candidate with its ``context`` neighbours on either side, as model input.

    Parameters
    ----------
    features : numpy.ndarray
        ``(m, 4)`` from :func:`peak_features`, candidates sorted in time within a waveform.
    offsets : numpy.ndarray
        int64 ``(n + 1,)`` waveform offsets into the candidates.
    context : int
        Neighbours on each side (slots outside the waveform are all zero).
    channels : sequence of str
        :data:`CONTEXT_CHANNELS` followed by waveform-level channels (:func:`context_channels`);
        a model stores its list in its ``channels`` metadata.
    geometry : mapping of str to numpy.ndarray, optional
        Per-waveform values of the :data:`GEOMETRY_CHANNELS` in ``channels``
        (:func:`geometry_values`), ``(n_waveforms,)`` each.

    Returns
    -------
    numpy.ndarray
        float32 ``(m, 2 * context + 1, len(channels))``; slot ``context`` is the candidate
        itself.

    Examples
    --------
    >>> f = np.array([[10, 5, 3, 0.9], [30, 6, 4, 0.2]], dtype=np.float32)
    >>> x = peak_context(f, np.array([0, 2]), 1)
    >>> x.shape, x[0, :, 0].tolist(), x[0, 2, 1].item(), x[1, 1, 2].item()
    ((2, 3, 6), [0.0, 1.0, 1.0], 20.0, 20.0)
    """
    extra = waveform_channels_of(channels)
    f = np.asarray(features, dtype=np.float32)
    m = f.shape[0]
    off = _candidate_offsets(offsets, m)
    counts = np.diff(off)
    wf = np.repeat(np.arange(counts.size), counts)
    conf, first = _first_confident(f, off, wf)
    t_rel = f[:, 0] - first[wf] if m else np.zeros(0, np.float32)
    measured = [c for c in extra if c not in GEOMETRY_CHANNELS]
    per_wf = _waveform_quantities(f, wf, counts.size, conf, first) if measured else {}
    wf_values = np.zeros((counts.size, len(extra)), dtype=np.float32)
    for c, name in enumerate(extra):
        if name in GEOMETRY_CHANNELS:
            if geometry is None or name not in geometry:
                raise ValueError(f"channel {name} needs its per-waveform value ({GEOMETRY_INPUTS[name]}): "
                                 "pass geometry=geometry_values(...)")
            values = np.asarray(geometry[name], dtype=np.float32).reshape(-1)
            if values.size != counts.size:
                raise ValueError(f"channel {name}: {values.size} values for {counts.size} waveforms")
            wf_values[:, c] = values
        else:
            wf_values[:, c] = per_wf[name]
    return _fill_context(np.ascontiguousarray(f), np.ascontiguousarray(t_rel, dtype=np.float32), off,
                         int(context), wf_values)


@jit
def _fill_context(f: np.ndarray, t_rel: np.ndarray, off: np.ndarray, context: int,
                  wf_values: np.ndarray) -> np.ndarray:
    # slot k of candidate i holds its neighbour j = i + k - context of the same waveform, if any:
    # present, dt to i, t_rel, the three per-candidate quantities, then the waveform's values
    m = f.shape[0]
    n_extra = wf_values.shape[1]
    base = 6  # len(CONTEXT_CHANNELS): present, dt_ns, t_rel_ns and the three PEAK_QUANTITIES after time
    out = np.zeros((m, 2 * context + 1, base + n_extra), dtype=np.float32)
    for w in range(off.size - 1):
        a, b = off[w], off[w + 1]
        for i in range(a, b):
            for k in range(2 * context + 1):
                j = i + k - context
                if j < a or j >= b:
                    continue
                out[i, k, 0] = 1.0
                out[i, k, 1] = f[j, 0] - f[i, 0]
                out[i, k, 2] = t_rel[j]
                out[i, k, 3] = f[j, 1]
                out[i, k, 4] = f[j, 2]
                out[i, k, 5] = f[j, 3]
                for c in range(n_extra):
                    out[i, k, base + c] = wf_values[w, c]
    return out


def _first_confident(f: np.ndarray, off: np.ndarray, wf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which candidates are confident, and the time of each waveform's first confident candidate
    (its first candidate if none is), float32 ``(n,)``."""
    m, counts = f.shape[0], np.diff(off)
    conf = f[:, 3] >= CONFIDENT_SCORE
    first = np.full(counts.size, np.inf, dtype=np.float64)
    np.minimum.at(first, wf[conf], f[conf, 0].astype(np.float64))
    fallback = np.where(counts > 0, f[np.minimum(off[:-1], max(m - 1, 0)), 0] if m else 0.0, 0.0)
    return conf, np.where(np.isfinite(first), first, fallback).astype(np.float32)


def waveform_quantities(features: np.ndarray, offsets: np.ndarray) -> dict[str, np.ndarray]:
    """Per-waveform summaries of the candidates: ``n_candidates`` and the :data:`WAVEFORM_CHANNELS`.

    What a per-peak model records about its training sample (``input_ranges`` metadata) and
    compares the data with (:meth:`ccreco.models.inference.PeakClusterModel.outside_training_range`).

    Parameters
    ----------
    features : numpy.ndarray
        ``(m, 4)`` from :func:`peak_features`, time-sorted within each waveform.
    offsets : numpy.ndarray
        int64 ``(n + 1,)`` waveform offsets into the candidates.

    Returns
    -------
    dict of str to numpy.ndarray
        float32 ``(n,)`` per name.
    """
    f = np.asarray(features, dtype=np.float32)
    off = _candidate_offsets(offsets, f.shape[0])
    counts = np.diff(off)
    wf = np.repeat(np.arange(counts.size), counts)
    conf, first = _first_confident(f, off, wf)
    return {"n_candidates": counts.astype(np.float32), **_waveform_quantities(f, wf, counts.size, conf, first)}


def _waveform_quantities(f: np.ndarray, wf: np.ndarray, n: int, conf: np.ndarray,
                         first: np.ndarray) -> dict[str, np.ndarray]:
    """The :data:`WAVEFORM_CHANNELS` values of each waveform, ``(n,)`` float32 each."""
    score_sum = np.bincount(wf, weights=f[:, 3].astype(np.float64), minlength=n)
    confident = np.bincount(wf[conf], minlength=n).astype(np.float64)
    last = np.full(n, -np.inf, dtype=np.float64)
    np.maximum.at(last, wf[conf], f[conf, 0].astype(np.float64))
    span = np.where(confident > 0, last - first.astype(np.float64), 0.0)
    # gaps between consecutive confident candidates of the same waveform (candidates are time-sorted)
    cw, ct = wf[conf], f[conf, 0].astype(np.float64)
    same = cw[1:] == cw[:-1]
    gaps_wf, gaps = cw[1:][same], np.diff(ct)[same]
    n_gaps = np.bincount(gaps_wf, minlength=n).astype(np.float64)
    n_close = np.bincount(gaps_wf[gaps < CLOSE_GAP_NS], minlength=n).astype(np.float64)
    close = np.divide(n_close, n_gaps, out=np.zeros(n), where=n_gaps > 0)
    return {"wf_score_sum": score_sum.astype(np.float32), "wf_confident": confident.astype(np.float32),
            "wf_span_ns": span.astype(np.float32), "wf_close_fraction": close.astype(np.float32)}


__all__ = [
    "CONFIDENT_SCORE",
    "CONTEXT_CHANNELS",
    "PEAK_QUANTITIES",
    "GEOMETRY_CHANNELS",
    "GEOMETRY_INPUTS",
    "WAVEFORM_CHANNELS",
    "context_channels",
    "encode_flat",
    "encode_peak_times",
    "flatten_times",
    "geometry_inputs",
    "geometry_values",
    "peak_context",
    "peak_features",
    "waveform_channels_of",
    "waveform_quantities",
]
