"""Baseline and noise RMS of each waveform from a pre-signal region.

The baseline is the mean of the samples in ``[start, stop)`` and the RMS their standard
deviation around that mean (population, ``ddof=0``), both in float64.
"""

from __future__ import annotations

import numpy as np

from ccreco.constants import BASELINE_NS, SAMPLING_NS
from ccreco.kernels._jit import jit
from ccreco.kernels._util import as_waveforms, ns_to_samples


@jit
def _baseline_rms(waveforms: np.ndarray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    n = waveforms.shape[0]
    base = np.empty(n, dtype=np.float64)
    rms = np.empty(n, dtype=np.float64)
    m = stop - start
    for w in range(n):
        acc = 0.0
        for i in range(start, stop):
            acc += waveforms[w, i]
        mean = acc / m
        var = 0.0
        for i in range(start, stop):
            d = waveforms[w, i] - mean
            var += d * d
        base[w] = mean
        rms[w] = np.sqrt(var / m)
    return base, rms


def baseline_rms(
    waveforms: np.ndarray,
    *,
    sampling_ns: float = SAMPLING_NS,
    start_ns: float = 0.0,
    stop_ns: float = BASELINE_NS,
) -> tuple[np.ndarray, np.ndarray]:
    """Baseline (mean) and noise RMS of each waveform in ``[start_ns, stop_ns)``.

    Parameters
    ----------
    waveforms : numpy.ndarray
        Shape ``(n, n_samples)`` (float32 preferred; converted otherwise).
    sampling_ns : float
        Sampling period in ns.
    start_ns, stop_ns : float
        Pre-signal region in ns from the window start (default the first
        ``constants.BASELINE_NS``).

    Returns
    -------
    baseline, rms : numpy.ndarray
        float64, shape ``(n,)``.

    Raises
    ------
    ConfigError
        A region with fewer than two samples or beyond the waveform.
    """
    wf = as_waveforms(waveforms)
    start, stop = ns_to_samples(start_ns, stop_ns, sampling_ns, wf.shape[1], "baseline region")
    return _baseline_rms(wf, start, stop)


__all__ = ["baseline_rms"]
