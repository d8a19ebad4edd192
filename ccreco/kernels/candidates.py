"""Peak candidates: samples where the waveform bends down (IHEP rule), optionally above k x RMS.

Rule (PHYSICS.md "Algorithms"): sample ``i`` is a candidate when the discrete second difference
is negative, ``x[i] - x[i-1] > x[i+1] - x[i]`` (``rule="d2"``), computed in float64 on the
float32 samples. Options, all in :class:`CandidateConfig`:

- ``threshold = k``: also require ``x[i] > baseline + k * rms`` (raw sample; baseline and RMS from
  :func:`~ccreco.kernels.baseline.baseline_rms`); ``None`` switches the cut off;
- ``smooth = h``: apply the shape rule to the box sum ``s[i] = x[i-h] + ... + x[i+h]`` (summed left
  to right in float64) instead of ``x`` (the amplitude cut stays on the raw sample);
- ``rule = "max"``: local maxima only, ``s[i] > s[i-1]`` and ``s[i] >= s[i+1]`` (one candidate per
  flat top, at its first sample; ``"d2"`` gives its two edges);
- ``rule = "top"``: the ``"d2"`` candidates thinned by non-maximum suppression: visited by
  decreasing ``s[i]`` (ties: earlier sample first), a candidate is kept unless one already kept
  lies less than ``min_distance`` samples away. The several ``d2`` samples of one pulse top
  become one, at its highest sample (the best estimate of the pulse's peak time), while two
  tops (or a top and a shoulder) at least ``min_distance`` apart each keep theirs. With
  ``min_distance > 2 * tolerance`` no true peak is within the matching tolerance of two
  candidates, so no window is labelled noise only because a neighbour took its electron;
- ``roi_threshold = k_roi`` (pre-selection): only samples in the region of interest
  ``[first - roi_margin, last + roi_margin]`` may be candidates, where ``first`` and ``last``
  are the first and last raw samples above ``baseline + k_roi * rms`` (none above: no
  candidates). It drops the noise candidates on the baseline before and after the track's
  signal, which are most of them (docs/MODELS.md, candidate study);
- ``preselect_weights = (w_1, ..., w_10, b)`` (first-stage pre-selection): after all of the
  above, a candidate is kept only when the logit ``b + sum_j w_j f_j >= preselect_threshold``,
  where ``f`` are the :data:`PRESELECT_FEATURES` of the candidate (raw samples, heights in units
  of the waveform's noise RMS, from the same baseline and RMS as the amplitude cut;
  :func:`candidate_features`). The weights come from a logistic regression on a training
  sample (``benchmarks/preselect_study.py``, ``fit_preselection``); ``None`` switches it off.

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

#: Candidate shape rules: negative second difference (IHEP), local maximum, or d2 with one
#: candidate per pulse top (non-maximum suppression within ``min_distance``).
RULES: tuple[str, ...] = ("d2", "max", "top")
#: Per-candidate features of the pre-selection (``preselect_weights``), in their order; heights
#: are in units of the waveform's noise RMS ``r`` and relative to its baseline ``b``, ``x`` are
#: the raw samples and ``i`` the candidate (windows clipped to the waveform):
#: ``height = (x[i] - b) / r``; ``rise5 = (x[i] - min(x[i-5..i-1])) / r``;
#: ``curv = ((x[i] - x[i-1]) - (x[i+1] - x[i])) / r``; ``d1_before = (x[i] - x[i-1]) / r``;
#: ``d1_after = (x[i+1] - x[i]) / r``; ``is_max = 1`` if ``x[i] > x[i-1]`` and ``x[i] >= x[i+1]``
#: else 0; ``below_top2 = (max(x[i-2..i+2]) - x[i]) / r``; ``rise3 = (x[i] - x[i-3]) / r``;
#: ``fall3 = (x[i] - x[i+3]) / r``; ``log_height = log(1 + max(height, 0))``. A waveform with
#: ``r <= 0`` uses ``r = 1``.
PRESELECT_FEATURES: tuple[str, ...] = (
    "height", "rise5", "curv", "d1_before", "d1_after", "is_max", "below_top2", "rise3", "fall3", "log_height",
)
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
    rule : {"d2", "max", "top"}
        Negative second difference (IHEP), local maximum, or ``d2`` thinned to the highest
        candidate within ``min_distance`` samples (module docstring).
    min_distance : int
        ``rule="top"`` only: smallest distance in samples between two kept candidates (>= 1;
        1 keeps every ``d2`` candidate).
    roi_threshold : float or None
        Pre-selection: candidates only within ``roi_margin`` samples of the first..last raw sample
        above ``baseline + roi_threshold * rms``; ``None`` switches it off.
    roi_margin : int
        Samples added on both sides of the region of interest.
    preselect_weights : tuple of float or None
        First-stage pre-selection, applied after the rule, amplitude cut and region of interest:
        ``len(PRESELECT_FEATURES) + 1`` finite numbers, the weights of
        :data:`PRESELECT_FEATURES` in that order followed by the intercept; ``None`` (default)
        switches it off. Lists (e.g. from JSON metadata) are stored as tuples.
    preselect_threshold : float
        Keep a candidate when its logit, ``intercept + weights . features``, is ``>=`` this.
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
    min_distance: int = 3
    roi_threshold: float | None = None
    roi_margin: int = 20
    preselect_weights: tuple[float, ...] | None = None
    preselect_threshold: float = 0.0

    def __post_init__(self) -> None:
        if self.preselect_weights is not None:
            object.__setattr__(self, "preselect_weights", _preselect_weights(self.preselect_weights))
        if isinstance(self.preselect_threshold, bool) \
                or not isinstance(self.preselect_threshold, (int, float, np.number)) \
                or not np.isfinite(self.preselect_threshold):
            raise ConfigError(f"preselect_threshold must be a finite number, got {self.preselect_threshold!r}")
        object.__setattr__(self, "preselect_threshold", float(self.preselect_threshold))
        if self.threshold is not None and not (np.isfinite(self.threshold) and self.threshold >= 0):
            raise ConfigError(f"threshold must be None or a finite number >= 0, got {self.threshold!r}")
        if self.roi_threshold is not None and not (np.isfinite(self.roi_threshold) and self.roi_threshold >= 0):
            raise ConfigError(f"roi_threshold must be None or a finite number >= 0, got {self.roi_threshold!r}")
        for name in ("smooth", "window_left", "window_right", "tolerance", "roi_margin"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {value!r}")
        if isinstance(self.min_distance, bool) or not isinstance(self.min_distance, (int, np.integer)) \
                or self.min_distance < 1:
            raise ConfigError(f"min_distance must be an integer >= 1, got {self.min_distance!r}")
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


def _preselect_weights(value: object) -> tuple[float, ...]:
    # the validated preselect_weights field: a tuple of len(PRESELECT_FEATURES) + 1 finite floats
    need = len(PRESELECT_FEATURES) + 1
    items = list(value) if isinstance(value, (list, tuple, np.ndarray)) else None
    if items is None or len(items) != need:
        raise ConfigError(f"preselect_weights must be None or {need} numbers (weights of "
                          f"{', '.join(PRESELECT_FEATURES)}, then the intercept), got {value!r}")
    for j, v in enumerate(items):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number)) or not np.isfinite(v):
            what = PRESELECT_FEATURES[j] if j < need - 1 else "intercept"
            raise ConfigError(f"preselect_weights[{j}] ({what}) must be a finite number, got {v!r}")
    return tuple(float(v) for v in items)


@jit
def _grow(buf: np.ndarray, need: int) -> np.ndarray:
    if need <= buf.size:
        return buf
    new = np.empty(max(need, 2 * buf.size), dtype=buf.dtype)
    new[: buf.size] = buf
    return new


@jit
def _suppress(cand: np.ndarray, m0: int, m: int, score: np.ndarray, min_distance: int) -> int:
    # Greedy non-maximum suppression of the sorted candidates cand[m0:m]: visit them by
    # decreasing score (ties: earlier sample first) and drop any within min_distance - 1 samples
    # of one already kept; the kept ones are compacted in place, still sorted. Returns the new m.
    count = m - m0
    if count < 2 or min_distance < 2:
        return m
    values = np.empty(count, dtype=np.float64)
    for r in range(count):
        values[r] = -score[cand[m0 + r]]
    order = np.argsort(values, kind="mergesort")
    kept = np.zeros(count, dtype=np.bool_)
    for q in range(count):
        r = order[q]
        t = cand[m0 + r]
        ok = True
        left = r - 1  # sorted: only the nearest kept neighbours on each side can be too close
        while left >= 0 and t - cand[m0 + left] < min_distance:
            if kept[left]:
                ok = False
                break
            left -= 1
        right = r + 1
        while ok and right < count and cand[m0 + right] - t < min_distance:
            if kept[right]:
                ok = False
                break
            right += 1
        kept[r] = ok
    w = m0
    for r in range(count):
        if kept[r]:
            cand[w] = cand[m0 + r]
            w += 1
    return w


@jit
def _region_of_interest(x: np.ndarray, level: float, margin: int, lo: int, hi: int) -> tuple[int, int]:
    # [first - margin, last + margin] around the samples above level, clipped to [lo, hi];
    # an empty range (lo > hi) when no sample is above it
    first = -1
    for i in range(x.size):
        if np.float64(x[i]) > level:
            first = i
            break
    if first < 0:
        return hi + 1, hi
    last = first
    for i in range(x.size - 1, first, -1):
        if np.float64(x[i]) > level:
            last = i
            break
    return max(lo, first - margin), min(hi, last + margin)


@jit
def _find_candidates(
    waveforms: np.ndarray,
    baseline: np.ndarray,
    rms: np.ndarray,
    k: float,
    use_threshold: bool,
    smooth: int,
    rule: int,
    min_distance: int,
    roi_k: float,
    use_roi: bool,
    roi_margin: int,
    lo: int,
    hi: int,
) -> tuple[np.ndarray, np.ndarray]:
    # rule: 0 = d2, 1 = max, 2 = top (d2 + non-maximum suppression within min_distance)
    n, ns = waveforms.shape
    offsets = np.zeros(n + 1, dtype=np.int64)
    out = np.empty(max(16 * n, 16), dtype=np.int64)
    s = np.empty(ns, dtype=np.float64)
    rule_max = rule == 1
    m = 0
    for w in range(n):
        x = waveforms[w]
        thr = baseline[w] + k * rms[w]
        first = max(lo, 1 + smooth)
        last = min(hi, ns - 2 - smooth)
        if use_roi:
            first, last = _region_of_interest(x, baseline[w] + roi_k * rms[w], roi_margin, first, last)
        out = _grow(out, m + max(last - first + 1, 0))
        m0 = m
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
            if rule == 2:
                m = _suppress(out, m0, m, x, min_distance)
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
        if rule == 2:
            m = _suppress(out, m0, m, s, min_distance)
        offsets[w + 1] = m
    return out[:m].copy(), offsets


@jit
def _candidate_features(x: np.ndarray, i: int, b: float, inv: float, out: np.ndarray) -> None:
    # PRESELECT_FEATURES of candidate i (1 <= i <= x.size - 2) of the raw samples x into out[:10]
    ns = x.size
    xi = np.float64(x[i])
    a = np.float64(x[i - 1])
    c = np.float64(x[i + 1])
    lo5 = xi
    for j in range(max(0, i - 5), i):
        lo5 = min(lo5, np.float64(x[j]))
    hi2 = xi
    for j in range(max(0, i - 2), min(ns, i + 3)):
        hi2 = max(hi2, np.float64(x[j]))
    h = (xi - b) * inv
    out[0] = h
    out[1] = (xi - lo5) * inv
    out[2] = ((xi - a) - (c - xi)) * inv
    out[3] = (xi - a) * inv
    out[4] = (c - xi) * inv
    out[5] = 1.0 if (xi > a and xi >= c) else 0.0
    out[6] = (hi2 - xi) * inv
    out[7] = (xi - np.float64(x[max(0, i - 3)])) * inv
    out[8] = (xi - np.float64(x[min(ns - 1, i + 3)])) * inv
    out[9] = np.log1p(max(h, 0.0))


@jit
def _features(waveforms: np.ndarray, index: np.ndarray, offsets: np.ndarray, baseline: np.ndarray,
              rms: np.ndarray) -> np.ndarray:
    out = np.empty((index.size, 10), dtype=np.float64)
    for w in range(offsets.size - 1):
        inv = 1.0 / rms[w] if rms[w] > 0 else 1.0
        for p in range(offsets[w], offsets[w + 1]):
            _candidate_features(waveforms[w], index[p], baseline[w], inv, out[p])
    return out


@jit
def _preselect_mask(waveforms: np.ndarray, index: np.ndarray, offsets: np.ndarray, baseline: np.ndarray,
                    rms: np.ndarray, weights: np.ndarray, threshold: float) -> np.ndarray:
    # which candidates have the logit weights[10] + weights[:10] . features >= threshold
    keep = np.zeros(index.size, dtype=np.bool_)
    f = np.empty(10, dtype=np.float64)
    for w in range(offsets.size - 1):
        inv = 1.0 / rms[w] if rms[w] > 0 else 1.0
        for p in range(offsets[w], offsets[w + 1]):
            _candidate_features(waveforms[w], index[p], baseline[w], inv, f)
            logit = weights[10]
            for j in range(10):
                logit += weights[j] * f[j]
            keep[p] = logit >= threshold
    return keep


@jit
def _preselect(waveforms: np.ndarray, index: np.ndarray, offsets: np.ndarray, baseline: np.ndarray,
               rms: np.ndarray, weights: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    # keep the candidates whose logit weights[10] + weights[:10] . features >= threshold
    keep = _preselect_mask(waveforms, index, offsets, baseline, rms, weights, threshold)
    new_offsets = np.zeros(offsets.size, dtype=np.int64)
    for w in range(offsets.size - 1):
        new_offsets[w + 1] = new_offsets[w] + np.count_nonzero(keep[offsets[w]:offsets[w + 1]])
    return index[keep].copy(), new_offsets


def preselect_mask(
    waveforms: np.ndarray,
    index: np.ndarray,
    offsets: np.ndarray,
    baseline: np.ndarray,
    rms: np.ndarray,
    cfg: CandidateConfig,
) -> np.ndarray:
    """Which candidates pass the first-stage pre-selection of ``cfg`` (all when it has none).

    :func:`find_candidates` drops the others; the reconstruction keeps them as candidates that
    the step-1 model does not score (score 0), so that a per-peak step 2 still sees them as
    neighbours (:func:`ccreco.models.dataset.scored_windows`).

    Parameters
    ----------
    waveforms : numpy.ndarray
        Shape ``(n, n_samples)``.
    index, offsets : numpy.ndarray
        Candidates as :func:`find_candidates` returns them for ``cfg`` without its pre-selection.
    baseline, rms : numpy.ndarray
        Their per-waveform baseline and noise RMS, ``(n,)``.
    cfg : CandidateConfig
        The selection with ``preselect_weights`` / ``preselect_threshold``.

    Returns
    -------
    numpy.ndarray
        bool ``(m,)``.
    """
    idx = np.ascontiguousarray(index, dtype=np.int64)
    if cfg.preselect_weights is None:
        return np.ones(idx.size, dtype=bool)
    wf = as_waveforms(waveforms)
    return _preselect_mask(wf, idx, np.ascontiguousarray(offsets, dtype=np.int64),
                           np.ascontiguousarray(baseline, dtype=np.float64),
                           np.ascontiguousarray(rms, dtype=np.float64),
                           np.asarray(cfg.preselect_weights, dtype=np.float64), float(cfg.preselect_threshold))


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
    roi_k = 0.0 if cfg.roi_threshold is None else float(cfg.roi_threshold)
    index, offsets = _find_candidates(wf, baseline, rms, k, cfg.threshold is not None, int(cfg.smooth),
                                      RULES.index(cfg.rule), int(cfg.min_distance), roi_k,
                                      cfg.roi_threshold is not None, int(cfg.roi_margin), int(lo), hi)
    if cfg.preselect_weights is not None:  # the first-stage cut, after the selection, same baseline and RMS
        index, offsets = _preselect(wf, index, offsets, baseline, rms,
                                    np.asarray(cfg.preselect_weights, dtype=np.float64),
                                    float(cfg.preselect_threshold))
    return index, offsets, baseline, rms


def candidate_features(
    waveforms: np.ndarray,
    index: np.ndarray,
    offsets: np.ndarray,
    baseline: np.ndarray,
    rms: np.ndarray,
) -> np.ndarray:
    """The pre-selection features (:data:`PRESELECT_FEATURES`) of every candidate.

    Parameters
    ----------
    waveforms : numpy.ndarray
        Shape ``(n, n_samples)``, float32 (converted otherwise).
    index, offsets : numpy.ndarray
        Candidates as :func:`find_candidates` returns them (``1 <= index <= n_samples - 2``).
    baseline, rms : numpy.ndarray
        Per-waveform baseline and noise RMS, ``(n,)`` (those :func:`find_candidates` returns).

    Returns
    -------
    numpy.ndarray
        float64, shape ``(len(index), len(PRESELECT_FEATURES))``.

    Raises
    ------
    ValueError
        Inconsistent shapes or offsets, or a candidate without both neighbours.
    """
    wf = as_waveforms(waveforms)
    n, ns = wf.shape
    index = np.ascontiguousarray(index, dtype=np.int64)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    baseline = np.ascontiguousarray(baseline, dtype=np.float64)
    rms = np.ascontiguousarray(rms, dtype=np.float64)
    if baseline.shape != (n,) or rms.shape != (n,):
        raise ValueError(f"baseline and rms must have shape ({n},), got {baseline.shape}, {rms.shape}")
    if offsets.shape != (n + 1,) or offsets[0] != 0 or offsets[-1] != index.size or np.any(np.diff(offsets) < 0):
        raise ValueError(f"offsets must be ({n + 1},), non-decreasing from 0 to len(index) = {index.size}")
    if index.size and (index.min() < 1 or index.max() > ns - 2):
        raise ValueError(f"candidate indices must be in [1, {ns - 2}] (both neighbours), "
                         f"got {index.min()}..{index.max()}")
    return _features(wf, index, offsets, baseline, rms)


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


__all__ = ["MATCH_TOLERANCE", "PRESELECT_FEATURES", "RULES", "CandidateConfig", "candidate_features", "preselect_mask",
           "find_candidates", "unflatten"]
