"""Truth-free summary statistics of waveform samples, with standard errors (simulator tuning).

Each statistic is chosen to respond to one simulator parameter first (docs/DATA_VS_SIM.md,
"Method", with a sensitivity scan): noise, gain, pulse shape, cluster density, time offset and
cluster sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ccreco.analysis.features import FeatureConfig, Features, features_from_chunks

#: Offsets (samples from the maximum) of the isolated-peak shape used as statistics.
SHAPE_OFFSETS: tuple[int, ...] = (-3, -2, -1, 1, 2, 4, 7, 10)
#: Lags (samples) of the signal-region autocorrelation used as statistics (pulse shape).
AUTOCORR_LAGS: tuple[int, ...] = (1, 2, 3, 5, 8)
#: Quantiles of the peak-amplitude spectrum used as statistics.
AMPLITUDE_QUANTILES: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9)
#: Amplitude-tail statistics: share of peaks above these multiples of the median amplitude.
TAIL_FACTORS: tuple[float, ...] = (2.0, 3.0, 5.0, 10.0)
#: Peak-multiplicity statistics: share of peaks with another peak within these times (ns).
PAIR_WINDOWS_NS: tuple[float, ...] = (4.0, 8.0)
#: Feature options used for tuning (isolation short enough to keep many peaks).
TUNE_FEATURES: FeatureConfig = FeatureConfig(isolation_ns=12.0, shape_left=4, shape_right=12)


@dataclass(frozen=True)
class Statistics:
    """Summary statistics of one sample: names, values and standard errors.

    Attributes
    ----------
    names : tuple of str
        Statistic names.
    values, errors : numpy.ndarray
        float64, one per name.
    n_waveforms : int
        Sample size.
    """

    names: tuple[str, ...]
    values: np.ndarray
    errors: np.ndarray
    n_waveforms: int

    def as_dict(self) -> dict[str, dict[str, float]]:
        """Name -> {"value", "error"} (for JSON)."""
        return {n: {"value": float(v), "error": float(e)}
                for n, v, e in zip(self.names, self.values, self.errors, strict=True)}


def _mean_err(x: np.ndarray) -> tuple[float, float]:
    x = x[np.isfinite(x)]
    if x.size < 2:
        return float("nan"), float("inf")
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size))


def _quantile_err(x: np.ndarray, q: float) -> tuple[float, float]:
    # order-statistic error: the quantile moves by the spread of the binomial count
    if x.size < 10:
        return float("nan"), float("inf")
    dq = np.sqrt(q * (1 - q) / x.size)
    lo, mid, hi = np.quantile(x, [max(q - dq, 0.0), q, min(q + dq, 1.0)])
    return float(mid), float(max((hi - lo) / 2, 1e-6))


def summary_statistics(features: Features) -> Statistics:
    """Truth-free summary statistics of a sample, with their standard errors.

    Parameters
    ----------
    features : Features
        From :func:`ccreco.analysis.features.waveform_features` (best with
        :data:`TUNE_FEATURES`).

    Returns
    -------
    Statistics
        ``rms_mean`` (noise), ``amp_qXX`` and ``charge_mean`` (gain), ``shape_+k`` (rise for
        k < 0, fall for k > 0), ``n_candidates_mean`` and ``n_peaks_mean`` (cluster density),
        ``first_peak_mean`` (time offset).
    """
    pw = features.per_waveform
    amp = features.per_peak["peak_amplitude_mv"]
    names: list[str] = []
    vals: list[float] = []
    errs: list[float] = []

    def add(name: str, ve: tuple[float, float]) -> None:
        names.append(name)
        vals.append(ve[0])
        errs.append(ve[1])

    add("rms_mean", _mean_err(pw["baseline_rms_mv"]))
    for q in AMPLITUDE_QUANTILES:
        add(f"amp_q{int(round(q * 100)):02d}", _quantile_err(amp, q))
    add("charge_mean", _mean_err(pw["charge_mv_ns"]))
    sh = features.shapes
    for k in SHAPE_OFFSETS:
        col = TUNE_FEATURES.shape_left + k
        if sh.shape[0] >= 2 and 0 <= col < sh.shape[1]:
            add(f"shape_{k:+d}", _mean_err(sh[:, col]))
        else:
            add(f"shape_{k:+d}", (float("nan"), float("inf")))
    if features.autocorr is not None:
        for k in AUTOCORR_LAGS:
            if k <= features.autocorr.shape[1]:
                add(f"autocorr_{k}", _mean_err(features.autocorr[:, k - 1]))
    add("n_candidates_mean", _mean_err(pw["n_candidates"]))
    add("n_peaks_mean", _mean_err(pw["n_peaks"]))
    add("first_peak_mean", _mean_err(pw["first_peak_ns"]))
    first = pw["first_peak_ns"]
    add("first_peak_q10", _quantile_err(first[np.isfinite(first)], 0.1))
    # cluster sizes: the amplitude and charge tails relative to their medians (gain-free) and
    # the share of peaks with a neighbour within a short window (electrons of one cluster)
    nan = (float("nan"), float("inf"))
    peak_row = np.repeat(np.arange(features.peak_offsets.size - 1), np.diff(features.peak_offsets))
    med = float(np.median(amp)) if amp.size >= 10 else 0.0
    for f in TAIL_FACTORS:
        add(f"amp_frac_above_{f:g}med", _frac_err(amp > f * med, peak_row) if med > 0 else nan)
    charge = pw["charge_mv_ns"][np.isfinite(pw["charge_mv_ns"])]
    charge = charge[charge > 0]
    med_q = float(np.median(charge)) if charge.size >= 10 else 0.0
    if med_q > 0:
        q90, q90e = _quantile_err(charge, 0.9)
        add("charge_q90_over_median", (q90 / med_q, q90e / med_q))
        add("charge_frac_above_2med", _frac_err(charge > 2 * med_q))
    else:
        add("charge_q90_over_median", nan)
        add("charge_frac_above_2med", nan)
    times = features.per_peak["peak_time_ns"]
    off = features.peak_offsets
    row = np.repeat(np.arange(off.size - 1), np.diff(off))
    gap = np.diff(times)
    same = row[1:] == row[:-1]
    for w in PAIR_WINDOWS_NS:
        if times.size < 10:
            add(f"peak_pair_frac_{w:g}ns", nan)
            continue
        near = same & (gap <= w)
        has_near = np.zeros(times.size, dtype=bool)
        has_near[1:] |= near
        has_near[:-1] |= near
        add(f"peak_pair_frac_{w:g}ns", _frac_err(has_near, row))
    return Statistics(tuple(names), np.array(vals), np.array(errs), len(features))


def _frac_err(flags: np.ndarray, group: np.ndarray | None = None) -> tuple[float, float]:
    """Fraction of True and its error; with ``group`` (the waveform of each peak) the error of
    the ratio estimator over waveforms, since peaks of one waveform are correlated (a large
    delta cluster gives several large peaks)."""
    n = flags.size
    if n < 10:
        return float("nan"), float("inf")
    f = float(flags.mean())
    err = np.sqrt(f * (1 - f) / n)
    if group is not None:
        a = np.bincount(group, weights=flags.astype(np.float64))
        m = np.bincount(group).astype(np.float64)
        err = max(err, float(np.sqrt(np.sum((a - f * m) ** 2)) / n))
    return f, float(max(err, 1.0 / n))


def simulate_features(config: Any, n: int, seed: int, features: FeatureConfig = TUNE_FEATURES) -> Features:
    """Simulate ``n`` waveforms and compute their truth-free features.

    Parameters
    ----------
    config : SimConfig
        Simulator configuration.
    n : int
        Number of waveforms.
    seed : int
        Seed (keep it fixed between evaluations: common random numbers).
    features : FeatureConfig
        Feature options.

    Returns
    -------
    Features
        The features of the simulated sample.
    """
    from ccreco.sim import simulate

    return features_from_chunks(simulate(config, n, seed, chunk_size=min(max(n, 1), 5000)), features)


__all__ = [
    "AMPLITUDE_QUANTILES",
    "AUTOCORR_LAGS",
    "PAIR_WINDOWS_NS",
    "SHAPE_OFFSETS",
    "Statistics",
    "TAIL_FACTORS",
    "TUNE_FEATURES",
    "simulate_features",
    "summary_statistics",
]
