"""Input validation shared by the public kernel wrappers (numpy only, no numba)."""

from __future__ import annotations

import numpy as np

from ccreco.errors import ConfigError


def as_waveforms(waveforms: np.ndarray, name: str = "waveforms") -> np.ndarray:
    """Check a waveform block and return it as a C-contiguous float32 2-D array.

    Parameters
    ----------
    waveforms : numpy.ndarray
        Shape ``(n, n_samples)`` (a single 1-D waveform is accepted as ``(1, n_samples)``).
    name : str
        Argument name used in error messages.

    Returns
    -------
    numpy.ndarray
        float32, C-contiguous, 2-D (no copy when the input already is).

    Raises
    ------
    ValueError
        Wrong number of dimensions, non-real dtype or non-finite samples.
    """
    arr = np.asarray(waveforms)
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n, n_samples), got shape {arr.shape}")
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"{name} must be real numbers, got dtype {arr.dtype}")
    if arr.dtype != np.float32 or not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr, dtype=np.float32)
    return arr


def as_offsets(offsets: np.ndarray, n: int | None, total: int, name: str = "offsets") -> np.ndarray:
    """Check per-waveform offsets into a flat array and return them as int64.

    Parameters
    ----------
    offsets : numpy.ndarray
        Shape ``(n + 1,)``, starting at 0, non-decreasing, ending at ``total``.
    n : int or None
        Expected number of waveforms (``None``: not checked).
    total : int
        Length of the flat array the offsets index.
    name : str
        Argument name used in error messages.

    Returns
    -------
    numpy.ndarray
        int64, C-contiguous.
    """
    off = np.ascontiguousarray(offsets, dtype=np.int64)
    if off.ndim != 1 or off.size < 1:
        raise ValueError(f"{name} must be 1-D with n + 1 entries, got shape {off.shape}")
    if n is not None and off.size != n + 1:
        raise ValueError(f"{name} must have {n + 1} entries (n waveforms + 1), got {off.size}")
    if off[0] != 0 or off[-1] != total or np.any(np.diff(off) < 0):
        raise ValueError(f"{name} must start at 0, not decrease and end at {total}")
    return off


def ns_to_samples(start_ns: float, stop_ns: float, sampling_ns: float, n_samples: int, field: str) -> tuple[int, int]:
    """Convert a time region ``[start_ns, stop_ns)`` into a sample range, checked.

    Parameters
    ----------
    start_ns, stop_ns : float
        Region in ns from the window start.
    sampling_ns : float
        Sampling period.
    n_samples : int
        Samples per waveform.
    field : str
        Config field named in the error.

    Returns
    -------
    tuple of int
        ``(start, stop)`` sample indices, ``stop - start >= 2``.

    Raises
    ------
    ConfigError
        Fewer than two samples in the region or a region beyond the waveform.
    """
    if not sampling_ns > 0:
        raise ConfigError(f"sampling_ns must be > 0, got {sampling_ns}")
    start = int(round(start_ns / sampling_ns))
    stop = int(round(stop_ns / sampling_ns))
    if start < 0 or stop > n_samples or stop - start < 2:
        raise ConfigError(
            f"{field}: baseline region [{start_ns}, {stop_ns}) ns is samples [{start}, {stop}), "
            f"which must hold >= 2 of the {n_samples} samples"
        )
    return start, stop
