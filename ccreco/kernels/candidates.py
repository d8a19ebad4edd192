"""Peak candidates: samples where the waveform bends down (IHEP rule), optionally above k x RMS.

Rule (PHYSICS.md "Algorithms"): sample ``i`` is a candidate when the discrete second difference
is negative, ``x[i] - x[i-1] > x[i+1] - x[i]`` (``rule="d2"``), computed in float64 on the
float32 samples. Options, all in :class:`CandidateConfig`:

- ``threshold = k``: also require ``x[i] > baseline + k * rms`` (raw sample; baseline and RMS from
  :func:`~ccreco.kernels.baseline.baseline_rms`); ``None`` switches the cut off;
- ``smooth = h``: apply the shape rule to the box sum ``s[i] = x[i-h] + ... + x[i+h]`` (summed left
  to right in float64) instead of ``x`` (the amplitude cut stays on the raw sample);
- ``rule = "max"``: local maxima only, ``s[i] > s[i-1]`` and ``s[i] >= s[i+1]`` (one candidate per
  flat top, at its first sample; ``"d2"`` gives its two edges).

Candidates need both neighbours of the (smoothed) series, so samples ``0`` and ``n_samples - 1``
(and ``h`` more on each side when smoothing) are never candidates. Output is flat: sorted sample
indices of all waveforms plus ``offsets`` (``n + 1``, int64) so that waveform ``w`` owns
``index[offsets[w]:offsets[w + 1]]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from ccreco.constants import BASELINE_NS, SAMPLING_NS, WINDOW_LEFT, WINDOW_RIGHT
from ccreco.errors import ConfigError
from ccreco.kernels._jit import jit
from ccreco.kernels._util import as_waveforms, ns_to_samples
from ccreco.kernels.baseline import _baseline_rms

#: Candidate shape rules: negative second difference (IHEP) or local maximum.
RULES: tuple[str, ...] = ("d2", "max")
#: Default one-to-one matching tolerance in samples (labels, selection, electron efficiency).
MATCH_TOLERANCE: int = 2


@dataclass(frozen=True)
class CandidateConfig:
    """How candidates are selected, windowed and labelled.

    Attributes
    ----------
    threshold : float or None
        k: keep candidates with ``x[i] > baseline + k * rms``; ``None``: no amplitude cut.
        Default 2.5, chosen on tb2023-untuned simulation (docs/ALGORITHMS.md, candidate study).
    smooth : int
        Half width h of the box sum the shape rule is applied to (0: raw samples).
    rule : {"d2", "max"}
        Negative second difference (IHEP) or local maximum.
    window_left, window_right : int
        Window ``[t - window_left, t + window_right]`` around candidate ``t``
        (defaults ``constants.WINDOW_LEFT``, ``constants.WINDOW_RIGHT``).
    normalize : bool
        Divide each mean-subtracted window by its waveform's noise RMS.
    baseline_start_ns, baseline_stop_ns : float
        Pre-signal region for baseline and RMS (default ``[0, constants.BASELINE_NS)``).
    tolerance : int
        One-to-one matching tolerance in samples for labels (``|candidate - true peak| <= tol``).
    """

    threshold: float | None = 2.5
    smooth: int = 0
    rule: str = "d2"
    window_left: int = WINDOW_LEFT
    window_right: int = WINDOW_RIGHT
    normalize: bool = False
    baseline_start_ns: float = 0.0
    baseline_stop_ns: float = BASELINE_NS
    tolerance: int = MATCH_TOLERANCE

    def __post_init__(self) -> None:
        if self.threshold is not None and not (np.isfinite(self.threshold) and self.threshold >= 0):
            raise ConfigError(f"threshold must be None or a finite number >= 0, got {self.threshold!r}")
        for name in ("smooth", "window_left", "window_right", "tolerance"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {value!r}")
        if self.rule not in RULES:
            raise ConfigError(f"rule must be one of {RULES}, got {self.rule!r}")
        if not isinstance(self.normalize, bool):
            raise ConfigError(f"normalize must be True or False, got {self.normalize!r}")
        if not (0 <= self.baseline_start_ns < self.baseline_stop_ns):
            raise ConfigError(
                f"baseline_start_ns, baseline_stop_ns must satisfy 0 <= start < stop, "
                f"got {self.baseline_start_ns!r}, {self.baseline_stop_ns!r}"
            )

    @property
    def window_length(self) -> int:
        """Samples per window, ``window_left + window_right + 1``."""
        return self.window_left + self.window_right + 1


@jit
def _grow(buf: np.ndarray, need: int) -> np.ndarray:
    if need <= buf.size:
        return buf
    new = np.empty(max(need, 2 * buf.size), dtype=buf.dtype)
    new[: buf.size] = buf
    return new


@jit
def _find_candidates(
    waveforms: np.ndarray,
    baseline: np.ndarray,
    rms: np.ndarray,
    k: float,
    use_threshold: bool,
    smooth: int,
    rule_max: bool,
    lo: int,
    hi: int,
) -> tuple[np.ndarray, np.ndarray]:
    n, ns = waveforms.shape
    offsets = np.zeros(n + 1, dtype=np.int64)
    out = np.empty(max(16 * n, 16), dtype=np.int64)
    s = np.empty(ns, dtype=np.float64)
    first = max(lo, 1 + smooth)
    last = min(hi, ns - 2 - smooth)
    m = 0
    for w in range(n):
        x = waveforms[w]
        thr = baseline[w] + k * rms[w]
        out = _grow(out, m + max(last - first + 1, 0))
        if smooth == 0:  # hot path: read the samples directly
            for i in range(first, last + 1):
                b = np.float64(x[i])
                if use_threshold and not (b > thr):
                    continue
                a = np.float64(x[i - 1])
                c = np.float64(x[i + 1])
                if (b > a and b >= c) if rule_max else ((b - a) > (c - b)):
                    out[m] = i
                    m += 1
            offsets[w + 1] = m
            continue
        for i in range(smooth, ns - smooth):
            acc = 0.0
            for j in range(i - smooth, i + smooth + 1):
                acc += x[j]
            s[i] = acc
        for i in range(first, last + 1):
            if use_threshold and not (np.float64(x[i]) > thr):
                continue
            a = s[i - 1]
            b = s[i]
            c = s[i + 1]
            if (b > a and b >= c) if rule_max else ((b - a) > (c - b)):
                out[m] = i
                m += 1
        offsets[w + 1] = m
    return out[:m].copy(), offsets


def find_candidates(
    waveforms: np.ndarray,
    cfg: CandidateConfig | None = None,
    *,
    sampling_ns: float = SAMPLING_NS,
    baseline: np.ndarray | None = None,
    rms: np.ndarray | None = None,
    lo: int = 0,
    hi: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Candidate sample indices of every waveform (flat + offsets).

    Parameters
    ----------
    waveforms : numpy.ndarray
        Shape ``(n, n_samples)``, float32 (converted otherwise).
    cfg : CandidateConfig, optional
        Selection options (default ``CandidateConfig()``).
    sampling_ns : float
        Sampling period (converts the baseline region to samples).
    baseline, rms : numpy.ndarray, optional
        Precomputed per-waveform baseline and RMS (float64, ``(n,)``); computed from the
        config's baseline region when omitted.
    lo, hi : int
        Only samples ``lo <= i <= hi`` may be candidates (default: all that have neighbours);
        :func:`~ccreco.kernels.windows.candidate_windows` uses this to drop edge candidates.

    Returns
    -------
    index : numpy.ndarray
        int64, sorted sample indices of all candidates, waveform after waveform.
    offsets : numpy.ndarray
        int64, shape ``(n + 1,)``.
    baseline, rms : numpy.ndarray
        float64, shape ``(n,)``.
    """
    cfg = CandidateConfig() if cfg is None else cfg
    wf = as_waveforms(waveforms)
    n, ns = wf.shape
    if baseline is None or rms is None:
        start, stop = ns_to_samples(cfg.baseline_start_ns, cfg.baseline_stop_ns, sampling_ns, ns,
                                    "baseline_start_ns/baseline_stop_ns")
        baseline, rms = _baseline_rms(wf, start, stop)
    baseline = np.ascontiguousarray(baseline, dtype=np.float64)
    rms = np.ascontiguousarray(rms, dtype=np.float64)
    if baseline.shape != (n,) or rms.shape != (n,):
        raise ValueError(f"baseline and rms must have shape ({n},), got {baseline.shape}, {rms.shape}")
    hi = ns - 1 if hi is None else int(hi)
    k = 0.0 if cfg.threshold is None else float(cfg.threshold)
    index, offsets = _find_candidates(wf, baseline, rms, k, cfg.threshold is not None, int(cfg.smooth),
                                      cfg.rule == "max", int(lo), hi)
    return index, offsets, baseline, rms


def unflatten(flat: np.ndarray, offsets: np.ndarray) -> ak.Array:
    """Rebuild a jagged awkward array (one list per waveform) from flat values + offsets.

    Parameters
    ----------
    flat : numpy.ndarray
        Values of all waveforms, concatenated.
    offsets : numpy.ndarray
        int64, shape ``(n + 1,)``.

    Returns
    -------
    awkward.Array
        ``n`` lists.
    """
    return ak.unflatten(flat, np.diff(offsets))


__all__ = ["MATCH_TOLERANCE", "RULES", "CandidateConfig", "find_candidates", "unflatten"]
