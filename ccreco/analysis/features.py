"""Waveform-level features that need no truth: noise, candidates, DERIV peaks, shapes, charge.

These are the quantities shared by the data/simulation comparison
(:mod:`ccreco.analysis.compare`), the simulator tuning (:mod:`ccreco.analysis.tune`) and the
dE/dx estimator of :mod:`ccreco.analysis.pid`. Everything comes from the waveforms alone:

- ``baseline_mv``, ``baseline_rms_mv``: mean and RMS of the pre-signal region
  (:func:`ccreco.kernels.baseline_rms`);
- ``n_candidates``: IHEP candidates above ``threshold`` x RMS (:func:`ccreco.kernels.find_candidates`);
- ``n_peaks``, ``peak_time_ns``, ``peak_amplitude_mv``: DERIV peaks
  (:func:`ccreco.kernels.deriv_peaks`), amplitude above the baseline;
- ``n_clusters``: DERIV peaks clusterized by time proximity (:func:`ccreco.reco.stages.deriv_clusters`);
- ``first_peak_ns``: time of the first DERIV peak (NaN without peaks);
- ``charge_mv_ns``: integral above the baseline from ``charge_before_ns`` before the first peak to
  ``charge_after_ns`` after the last one (0 without peaks);
- ``autocorr``: normalized autocorrelation of the signal region at lags 1..``autocorr_lags``;
- ``shape``: mean pulse of *isolated* DERIV peaks (no other peak within ``isolation_ns``),
  each normalized to its peak sample, on offsets ``shape_left`` .. ``shape_right`` samples.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ccreco.constants import BASELINE_NS
from ccreco.errors import ConfigError
from ccreco.kernels import (
    CandidateConfig,
    ClusterizeConfig,
    DerivConfig,
    find_candidates,
)
from ccreco.reco.stages import deriv_clusters


@dataclass(frozen=True)
class FeatureConfig:
    """How waveform features are computed.

    Attributes
    ----------
    deriv : DerivConfig
        DERIV thresholds (default ``DerivConfig()``).
    cluster : ClusterizeConfig
        Clusterization of the DERIV peaks.
    threshold : float
        Candidate amplitude cut in units of the noise RMS.
    baseline_start_ns, baseline_stop_ns : float
        Pre-signal region for baseline and RMS.
    isolation_ns : float
        A peak is isolated when no other peak lies within this time.
    shape_left, shape_right : int
        Samples before / after the peak kept in the mean shape.
    charge_before_ns, charge_after_ns : float
        Charge integration region around the first / last peak.
    """

    deriv: DerivConfig = field(default_factory=DerivConfig)
    cluster: ClusterizeConfig = field(default_factory=ClusterizeConfig)
    threshold: float = 2.5
    baseline_start_ns: float = 0.0
    baseline_stop_ns: float = BASELINE_NS
    isolation_ns: float = 30.0
    shape_left: int = 4
    shape_right: int = 16
    charge_before_ns: float = 10.0
    charge_after_ns: float = 40.0
    autocorr_lags: int = 10

    def __post_init__(self) -> None:
        if not (0 <= self.baseline_start_ns < self.baseline_stop_ns):
            raise ConfigError("baseline_start_ns < baseline_stop_ns required")
        if self.shape_left < 1 or self.shape_right < 1:
            raise ConfigError("shape_left and shape_right must be >= 1")
        if self.isolation_ns <= 0 or self.charge_before_ns < 0 or self.charge_after_ns < 0:
            raise ConfigError("isolation_ns > 0, charge_before_ns >= 0, charge_after_ns >= 0 required")


@dataclass
class Features:
    """Truth-free features of a set of waveforms (per waveform, per peak, mean shape).

    Attributes
    ----------
    per_waveform : dict of str to numpy.ndarray
        ``baseline_mv``, ``baseline_rms_mv``, ``n_candidates``, ``n_peaks``, ``n_clusters``,
        ``first_peak_ns``, ``charge_mv_ns``; each shape ``(n,)``.
    per_peak : dict of str to numpy.ndarray
        ``peak_time_ns``, ``peak_amplitude_mv``; flat over waveforms.
    peak_offsets : numpy.ndarray
        int64 ``(n + 1,)`` into the per-peak arrays.
    shapes : numpy.ndarray
        float64 ``(m, shape_left + shape_right + 1)``: normalized isolated pulses.
    sampling_ns : float
        Sampling period.
    autocorr : numpy.ndarray, optional
        ``(n, autocorr_lags)``: normalized autocorrelation of each waveform's signal region at
        lags 1, 2, ... samples (NaN without peaks).
    """

    per_waveform: dict[str, np.ndarray]
    per_peak: dict[str, np.ndarray]
    peak_offsets: np.ndarray
    shapes: np.ndarray
    sampling_ns: float
    autocorr: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.peak_offsets.size - 1)

    @classmethod
    def concatenate(cls, parts: list[Features]) -> Features:
        """Join the features of several chunks.

        Parameters
        ----------
        parts : list of Features
            At least one, all with the same sampling.

        Returns
        -------
        Features
            The concatenation.
        """
        if not parts:
            raise ValueError("nothing to concatenate")
        if len(parts) == 1:
            return parts[0]
        pw = {k: np.concatenate([p.per_waveform[k] for p in parts]) for k in parts[0].per_waveform}
        pp = {k: np.concatenate([p.per_peak[k] for p in parts]) for k in parts[0].per_peak}
        counts = np.concatenate([np.diff(p.peak_offsets) for p in parts])
        off = np.zeros(counts.size + 1, dtype=np.int64)
        np.cumsum(counts, out=off[1:])
        ac = None if any(p.autocorr is None for p in parts) else np.concatenate([p.autocorr for p in parts])
        return cls(pw, pp, off, np.concatenate([p.shapes for p in parts]), parts[0].sampling_ns, ac)

    def columns(self) -> dict[str, np.ndarray]:
        """Every feature as a flat array (per-waveform and per-peak ones together).

        Returns
        -------
        dict of str to numpy.ndarray
            Names to values (per-peak arrays are flat over waveforms).
        """
        return {**self.per_waveform, **self.per_peak}


def _region(index: np.ndarray, offsets: np.ndarray, n: int, ns: int, before: int, after: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signal region ``[first peak - before, last peak + after]`` of each waveform (empty without peaks)."""
    counts = np.diff(offsets)
    has = counts > 0
    if not has.any():
        z = np.zeros(n, dtype=np.int64)
        return z, z, has
    first = np.where(has, index[np.minimum(offsets[:-1], max(index.size - 1, 0))], 0)
    last = np.where(has, index[np.maximum(offsets[1:] - 1, 0)], 0)
    lo = np.where(has, np.clip(first - before, 0, ns), 0)
    hi = np.where(has, np.clip(last + after + 1, 0, ns), 0)
    return lo, hi, has


def _charge(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, has: np.ndarray) -> np.ndarray:
    n, ns = y.shape
    out = np.zeros(n, dtype=np.float64)
    if not has.any():
        return out
    cs = np.zeros((n, ns + 1), dtype=np.float64)
    np.cumsum(y, axis=1, out=cs[:, 1:])
    rows = np.arange(n)
    out[has] = (cs[rows, hi] - cs[rows, lo])[has]
    return out


def _autocorr(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, lags: int) -> np.ndarray:
    """Normalized autocorrelation ``r(k), k = 1..lags`` of ``y`` inside ``[lo, hi)`` (NaN if empty)."""
    n, ns = y.shape
    pos = np.arange(ns)
    ym = np.where((pos[None, :] >= lo[:, None]) & (pos[None, :] < hi[:, None]), y, 0.0)
    r0 = np.einsum("ij,ij->i", ym, ym)
    out = np.full((n, lags), np.nan)
    ok = r0 > 0
    for k in range(1, lags + 1):
        rk = np.einsum("ij,ij->i", ym[:, :-k], ym[:, k:])
        out[ok, k - 1] = rk[ok] / r0[ok]
    return out


def waveform_features(waveforms: np.ndarray, sampling_ns: float, cfg: FeatureConfig | None = None) -> Features:
    """Compute the truth-free features of a block of waveforms.

    Parameters
    ----------
    waveforms : numpy.ndarray
        ``(n, n_samples)`` in mV, positive pulses.
    sampling_ns : float
        Sampling period in ns.
    cfg : FeatureConfig, optional
        Options (defaults as in :class:`FeatureConfig`).

    Returns
    -------
    Features
        Per-waveform, per-peak features and the isolated-peak shapes.
    """
    cfg = FeatureConfig() if cfg is None else cfg
    dt = float(sampling_ns)
    dcfg = dataclasses.replace(cfg.deriv, baseline_start_ns=cfg.baseline_start_ns,
                               baseline_stop_ns=cfg.baseline_stop_ns)
    d = deriv_clusters(waveforms, dcfg, cfg.cluster, sampling_ns=dt)
    index, offsets, baseline, rms = d.index, d.offsets, d.baseline, d.rms
    ccfg = CandidateConfig(threshold=cfg.threshold, baseline_start_ns=cfg.baseline_start_ns,
                           baseline_stop_ns=cfg.baseline_stop_ns)
    _, c_off, _, _ = find_candidates(waveforms, ccfg, sampling_ns=dt, baseline=baseline, rms=rms)
    wf = np.asarray(waveforms)
    n, ns = wf.shape
    counts = np.diff(offsets)
    row = np.repeat(np.arange(n), counts)
    y = wf.astype(np.float64) - baseline[:, None]
    amp = y[row, index] if index.size else np.zeros(0)
    times = d.times_ns
    n_cl = d.n_clusters
    n_cl = np.where(counts > 0, n_cl, 0)
    first = np.full(n, np.nan)
    has = counts > 0
    first[has] = times[offsets[:-1][has]]
    lo, hi, has_region = _region(index, offsets, n, ns, int(round(cfg.charge_before_ns / dt)),
                                 int(round(cfg.charge_after_ns / dt)))
    charge = _charge(y, lo, hi, has_region) * dt
    autocorr = _autocorr(y, lo, hi, cfg.autocorr_lags)

    # isolated peaks: the gap to both neighbours (within the waveform) exceeds isolation_ns
    iso_n = int(round(cfg.isolation_ns / dt))
    gap_prev = np.full(index.size, np.iinfo(np.int64).max)
    gap_next = np.full(index.size, np.iinfo(np.int64).max)
    if index.size > 1:
        same = row[1:] == row[:-1]
        gap = np.diff(index)
        gap_prev[1:] = np.where(same, gap, gap_prev[1:])
        gap_next[:-1] = np.where(same, gap, gap_next[:-1])
    iso = (gap_prev > iso_n) & (gap_next > iso_n) & (index >= cfg.shape_left) & (index < ns - cfg.shape_right)
    iso &= amp > 0
    k = np.arange(-cfg.shape_left, cfg.shape_right + 1)
    sel = np.flatnonzero(iso)
    shapes = y[row[sel, None], index[sel, None] + k[None, :]] / amp[sel, None] if sel.size else \
        np.zeros((0, k.size))
    return Features(
        per_waveform={
            "baseline_mv": baseline,
            "baseline_rms_mv": rms,
            "n_candidates": np.diff(c_off).astype(np.float64),
            "n_peaks": counts.astype(np.float64),
            "n_clusters": n_cl.astype(np.float64),
            "first_peak_ns": first,
            "charge_mv_ns": charge,
        },
        per_peak={"peak_time_ns": times.astype(np.float64), "peak_amplitude_mv": amp},
        peak_offsets=np.asarray(offsets, dtype=np.int64),
        shapes=shapes,
        sampling_ns=dt,
        autocorr=autocorr,
    )


def features_from_chunks(chunks: Iterable[Any], cfg: FeatureConfig | None = None,
                         max_waveforms: int | None = None) -> Features:
    """Features of a stream of :class:`~ccreco.io.WaveformChunk` (e.g. from ``iterate``/``simulate``).

    Parameters
    ----------
    chunks : iterable of WaveformChunk
        The waveforms.
    cfg : FeatureConfig, optional
        Options.
    max_waveforms : int, optional
        Stop after this many waveforms.

    Returns
    -------
    Features
        The concatenated features.

    Raises
    ------
    ConfigError
        No waveforms, or chunks with different sampling periods.
    """
    parts: list[Features] = []
    done = 0
    for chunk in chunks:
        wf = chunk.waveforms
        if max_waveforms is not None:
            wf = wf[: max(0, max_waveforms - done)]
        if len(wf) == 0:
            break
        if parts and parts[0].sampling_ns != chunk.sampling_ns:
            raise ConfigError(f"sampling changes from {parts[0].sampling_ns} to {chunk.sampling_ns} ns")
        parts.append(waveform_features(wf, chunk.sampling_ns, cfg))
        done += len(wf)
        if max_waveforms is not None and done >= max_waveforms:
            break
    if not parts:
        raise ConfigError("no waveforms to compute features from")
    return Features.concatenate(parts)


__all__ = ["FeatureConfig", "Features", "features_from_chunks", "waveform_features"]
