"""Candidate windows for the step-1 classifier: ``(n_windows, L, 1)`` float32, ready for ORT.

Window of candidate ``t``: samples ``[t - left, t + right]`` (``L = left + right + 1``), minus the
window's own mean (float64 sum, left to right), optionally divided by the waveform's noise RMS
(waveforms with RMS 0 are left undivided). Candidates whose window would leave the waveform are
dropped (``t < left`` or ``t > n_samples - 1 - right``).

The convenience entry point for the model and reco layers is :func:`candidate_windows`::

    cw = candidate_windows(chunk.waveforms, CandidateConfig(), sampling_ns=chunk.sampling_ns)
    cw.windows        # (m, L, 1) float32, C-contiguous
    cw.sample_index   # (m,) int64 candidate sample of each window
    cw.offsets        # (n + 1,) int64: waveform w owns windows offsets[w]:offsets[w+1]
    cw.baseline, cw.rms   # (n,) float64
    labels = candidate_labels(cw, chunk.truth)   # ccreco.kernels.labels, (m,) int8
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from ccreco.constants import SAMPLING_NS
from ccreco.kernels._jit import jit
from ccreco.kernels._util import as_offsets, as_waveforms
from ccreco.kernels.candidates import CandidateConfig, find_candidates


@dataclass(frozen=True)
class CandidateWindows:
    """Candidate windows of a block of waveforms (output of :func:`candidate_windows`).

    Attributes
    ----------
    windows : numpy.ndarray
        float32, C-contiguous, shape ``(m, L, 1)``, ``L = config.window_length``.
    sample_index : numpy.ndarray
        int64, shape ``(m,)``: candidate sample of each window (sorted within a waveform).
    offsets : numpy.ndarray
        int64, shape ``(n + 1,)``: waveform ``w`` owns rows ``offsets[w]:offsets[w + 1]``.
    baseline, rms : numpy.ndarray
        float64, shape ``(n,)``: per-waveform baseline and noise RMS.
    sampling_ns : float
        Sampling period in ns.
    n_samples : int
        Samples per waveform.
    config : CandidateConfig
        The options that made the windows.
    """

    windows: np.ndarray
    sample_index: np.ndarray
    offsets: np.ndarray
    baseline: np.ndarray
    rms: np.ndarray
    sampling_ns: float
    n_samples: int
    config: CandidateConfig

    def __len__(self) -> int:
        return int(self.sample_index.size)

    @property
    def n_waveforms(self) -> int:
        """Number of waveforms."""
        return int(self.offsets.size - 1)

    @property
    def counts(self) -> np.ndarray:
        """Windows per waveform, int64 ``(n,)``."""
        return np.diff(self.offsets)

    @property
    def waveform_index(self) -> np.ndarray:
        """Waveform of each window, int64 ``(m,)``."""
        return np.repeat(np.arange(self.n_waveforms, dtype=np.int64), self.counts)

    @property
    def time_ns(self) -> np.ndarray:
        """Candidate time of each window in ns from the window start, float64 ``(m,)``."""
        return self.sample_index * float(self.sampling_ns)

    def per_waveform(self, values: np.ndarray) -> ak.Array:
        """Split per-window values (scores, labels, times) into one list per waveform.

        Parameters
        ----------
        values : numpy.ndarray
            Shape ``(m,)`` (or ``(m, 1)``).

        Returns
        -------
        awkward.Array
            ``n`` lists.
        """
        return ak.unflatten(np.asarray(values).reshape(len(self)), self.counts)


@jit
def _extract_windows(
    waveforms: np.ndarray,
    index: np.ndarray,
    offsets: np.ndarray,
    left: int,
    right: int,
    scale: np.ndarray,
) -> np.ndarray:
    length = left + right + 1
    out = np.empty((index.size, length, 1), dtype=np.float32)
    for w in range(offsets.size - 1):
        x = waveforms[w]
        inv = 1.0 / scale[w]
        for r in range(offsets[w], offsets[w + 1]):
            t0 = index[r] - left
            acc = 0.0
            for j in range(length):
                acc += x[t0 + j]
            mean = acc / length
            for j in range(length):
                out[r, j, 0] = (x[t0 + j] - mean) * inv
    return out


@jit
def _inside(index: np.ndarray, offsets: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    keep = np.empty(index.size, dtype=np.bool_)
    new = np.zeros(offsets.size, dtype=np.int64)
    m = 0
    for w in range(offsets.size - 1):
        for r in range(offsets[w], offsets[w + 1]):
            keep[r] = lo <= index[r] <= hi
            if keep[r]:
                m += 1
        new[w + 1] = m
    return keep, new


def _scale(rms: np.ndarray | None, n: int, normalize: bool) -> np.ndarray:
    if not normalize:
        return np.ones(n, dtype=np.float64)
    if rms is None:
        raise ValueError("normalize=True needs the per-waveform rms")
    scale = np.ascontiguousarray(rms, dtype=np.float64).copy()
    if scale.shape != (n,):
        raise ValueError(f"rms must have shape ({n},), got {scale.shape}")
    scale[~(scale > 0)] = 1.0
    return scale


def extract_windows(
    waveforms: np.ndarray,
    index: np.ndarray,
    offsets: np.ndarray,
    cfg: CandidateConfig | None = None,
    *,
    rms: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Windows around given sample indices (e.g. a file's own candidate times).

    Parameters
    ----------
    waveforms : numpy.ndarray
        Shape ``(n, n_samples)``.
    index : numpy.ndarray
        Integer sample indices, flat over waveforms.
    offsets : numpy.ndarray
        int64 ``(n + 1,)`` into ``index``.
    cfg : CandidateConfig, optional
        Window extent and normalisation.
    rms : numpy.ndarray, optional
        Per-waveform noise RMS, needed when ``cfg.normalize``.

    Returns
    -------
    windows : numpy.ndarray
        float32 ``(m, L, 1)`` for the kept indices.
    index, offsets : numpy.ndarray
        The kept indices (int64) and their offsets.
    keep : numpy.ndarray
        bool, shape of the input ``index``: which indices got a window (edge ones do not).
    """
    cfg = CandidateConfig() if cfg is None else cfg
    wf = as_waveforms(waveforms)
    n, ns = wf.shape
    idx = np.ascontiguousarray(index, dtype=np.int64).reshape(-1)
    off = as_offsets(offsets, n, idx.size)
    keep, new_off = _inside(idx, off, cfg.window_left, ns - 1 - cfg.window_right)
    kept = idx[keep]
    windows = _extract_windows(wf, kept, new_off, cfg.window_left, cfg.window_right,
                               _scale(rms, n, cfg.normalize))
    return windows, kept, new_off, keep


def candidate_windows(
    waveforms: np.ndarray,
    cfg: CandidateConfig | None = None,
    *,
    sampling_ns: float = SAMPLING_NS,
) -> CandidateWindows:
    """Find the candidates of every waveform and cut their windows (edge candidates dropped).

    Parameters
    ----------
    waveforms : numpy.ndarray
        Shape ``(n, n_samples)``, float32 C-contiguous (converted otherwise), e.g.
        ``WaveformChunk.waveforms``.
    cfg : CandidateConfig, optional
        Selection, window and normalisation options (default ``CandidateConfig()``).
    sampling_ns : float
        Sampling period in ns (for the baseline region and times).

    Returns
    -------
    CandidateWindows
        Windows ``(m, L, 1)`` float32, ``sample_index``, ``offsets``, ``baseline``, ``rms``.

    Examples
    --------
    >>> import numpy as np
    >>> wf = np.zeros((1, 100), np.float32); wf[0, 50] = 10.0
    >>> cw = candidate_windows(wf, CandidateConfig(threshold=None))
    >>> cw.sample_index, cw.windows.shape
    (array([50]), (1, 15, 1))
    """
    cfg = CandidateConfig() if cfg is None else cfg
    wf = as_waveforms(waveforms)
    n, ns = wf.shape
    index, offsets, baseline, rms = find_candidates(
        wf, cfg, sampling_ns=sampling_ns, lo=cfg.window_left, hi=ns - 1 - cfg.window_right
    )
    windows = _extract_windows(wf, index, offsets, cfg.window_left, cfg.window_right,
                               _scale(rms, n, cfg.normalize))
    return CandidateWindows(windows, index, offsets, baseline, rms, float(sampling_ns), ns, cfg)


__all__ = ["CandidateWindows", "candidate_windows", "extract_windows"]
