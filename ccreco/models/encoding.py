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


__all__ = ["encode_flat", "encode_peak_times", "flatten_times"]
