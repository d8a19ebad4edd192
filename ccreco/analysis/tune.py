"""Tune simulator parameters so that simulation matches data on truth-free waveform statistics.

Method (docs/DATA_VS_SIM.md, "Tuning"):

1. **Summary statistics with errors** (:func:`summary_statistics`), each chosen to respond to
   one parameter first: mean baseline RMS (noise), quantiles of the DERIV peak-amplitude spectrum
   and the mean collected charge (gain), the mean normalized shape of isolated peaks before and
   after the maximum (pulse rise / fall), mean candidate and DERIV peak counts per waveform
   (cluster density), the mean time of the first peak (time offset), and for the cluster sizes
   the amplitude and charge tails relative to their medians and the share of peaks with a
   neighbour within 4 / 8 ns (several electrons of one cluster).
2. **Common random numbers**: every simulation uses the same ``seed`` and ``n_sim`` waveforms,
   so the objective is a deterministic function of the parameters.
3. **Surrogate** (the approach of HEP generator tuning, e.g. Professor): the simulation is run
   at Latin-hypercube points of a box around the current estimate, each statistic is fitted by a
   quadratic polynomial of the (normalized) parameters, and iminuit's MIGRAD minimizes
   ``chi2 = sum_i (d_i - s_i(p))^2 / (sigma_d,i^2 + sigma_s,i^2 + sigma_fit,i^2)`` on the
   polynomials; HESSE gives the uncertainties. The box shrinks around the minimum for the next
   iteration. The surrogate averages out the jumps that discrete random draws (Poisson cluster
   counts with rejection sampling) put into the simulation at nearby parameter values, which a
   finite-difference gradient on the raw simulation would not survive.
   ``method="direct"`` instead runs iminuit (SIMPLEX then MIGRAD) on the simulation itself
   (for a few parameters that act smoothly, such as the noise); its uncertainties come from a
   parabola fitted to the chi2 along each axis, not from HESSE.

Statistics are treated as independent (quantiles of one spectrum are correlated): the chi2 is a
distance, and HESSE errors are approximate (the closure test checks them).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ccreco._progress import progress
from ccreco.analysis.features import FeatureConfig, Features, features_from_chunks
from ccreco.errors import ConfigError

#: The parameters tuned by default: SimConfig field -> role.
DEFAULT_PARAMETERS: tuple[str, ...] = (
    "noise_mv",
    "single_electron_mv",
    "pulse_rise_ns",
    "pulse_fall_ns",
    "density_scale",
    "trigger_offset_ns",
)

#: Default search ranges relative to the base config: ("mul", lo, hi) multiplies the base value,
#: ("add", lo, hi) adds to it, ("abs", lo, hi) is absolute.
DEFAULT_RANGES: dict[str, tuple[str, float, float]] = {
    "noise_mv": ("mul", 0.5, 2.0),
    "coloured_noise_mv": ("abs", 0.0, 2.0),
    "single_electron_mv": ("mul", 0.5, 2.0),
    "gain_theta": ("abs", 0.0, 2.0),
    "pulse_rise_ns": ("abs", 0.3, 3.0),
    "pulse_fall_ns": ("abs", 3.0, 12.0),
    "density_scale": ("mul", 0.6, 1.6),
    "trigger_offset_ns": ("add", -40.0, 40.0),
    "cluster_p1": ("abs", 0.5, 0.99),
    "cluster_tail_exponent": ("abs", 1.2, 4.5),
    "pulse_ion_tau_ns": ("mul", 0.3, 3.0),
    "pulse_ion_t0_ns": ("mul", 0.3, 3.0),
    "pulse_shaper_tau_ns": ("mul", 0.4, 2.5),
    "pulse_ac_coupling_ns": ("abs", 0.0, 1000.0),
    "ion_tail_fraction": ("abs", 0.0, 1.0),
    "ion_tail_t0_ns": ("mul", 0.2, 5.0),
    "bandwidth_mhz": ("mul", 0.4, 2.5),
}

#: Cluster-size parameters (need ``cluster_size_model = "heed"``; see :func:`tune`).
CLUSTER_PARAMETERS: tuple[str, ...] = ("cluster_p1", "cluster_tail_exponent")
#: A parameter within this fraction of its range from a bound is reported as "at the bound".
BOUND_TOLERANCE: float = 0.01

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
        return {n: {"value": float(v), "error": float(e)} for n, v, e in zip(self.names, self.values, self.errors)}


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
    med = float(np.median(amp)) if amp.size >= 10 else 0.0
    for f in TAIL_FACTORS:
        add(f"amp_frac_above_{f:g}med", _frac_err(amp > f * med) if med > 0 else nan)
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
        add(f"peak_pair_frac_{w:g}ns", _frac_err(has_near))
    return Statistics(tuple(names), np.array(vals), np.array(errs), len(features))


def _frac_err(flags: np.ndarray) -> tuple[float, float]:
    n = flags.size
    if n < 10:
        return float("nan"), float("inf")
    f = float(flags.mean())
    return f, float(max(np.sqrt(f * (1 - f) / n), 1.0 / n))


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


@dataclass
class TuneResult:
    """Outcome of :func:`tune`.

    Attributes
    ----------
    config : SimConfig
        The base configuration with the tuned parameters.
    parameters : dict of str to float
        Tuned values.
    errors : dict of str to float
        HESSE uncertainties (from the surrogate chi2, or the direct one).
    start : dict of str to float
        Values of the base configuration.
    chi2_before, chi2_after : float
        chi2 of the statistics, simulated at the start and at the tuned values.
    ndf : int
        Number of statistics minus number of parameters.
    data, before, after : Statistics
        The data statistics and the simulated ones before/after.
    history : list of dict
        One entry per iteration (box, best values, surrogate chi2, evaluations).
    n_evaluations : int
        Simulations run.
    method : str
        ``"surrogate"`` or ``"direct"``.
    warnings : list of str
        Parameters that ended at a bound of their range, and the geometry check.
    notes : list of str
        What was changed in the start configuration (e.g. the cluster-size model).
    bounds : dict of str to (float, float)
        Search ranges.
    """

    config: Any
    parameters: dict[str, float]
    errors: dict[str, float]
    start: dict[str, float]
    chi2_before: float
    chi2_after: float
    ndf: int
    data: Statistics
    before: Statistics
    after: Statistics
    history: list[dict[str, Any]] = field(default_factory=list)
    n_evaluations: int = 0
    method: str = "surrogate"
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable summary (without the config object; see ``config.to_dict()``)."""
        return {
            "method": self.method,
            "parameters": self.parameters,
            "errors": self.errors,
            "start": self.start,
            "chi2_before": self.chi2_before,
            "chi2_after": self.chi2_after,
            "ndf": self.ndf,
            "n_evaluations": self.n_evaluations,
            "statistics": {
                "data": self.data.as_dict(),
                "before": self.before.as_dict(),
                "after": self.after.as_dict(),
            },
            "history": self.history,
            "warnings": self.warnings,
            "notes": self.notes,
            "bounds": {k: list(v) for k, v in self.bounds.items()},
            "config": self.config.to_dict(),
        }

    def table(self) -> str:
        """Markdown table of the tuned parameters and the statistics before/after."""
        lines = [f"**WARNING**: {w}" for w in self.warnings] + [f"note: {n}" for n in self.notes]
        lines += ["", "| parameter | start | tuned | uncertainty | range |", "|---|---:|---:|---:|---|"]
        for k, v in self.parameters.items():
            rng = self.bounds.get(k)
            r = f"{rng[0]:.4g}:{rng[1]:.4g}" if rng else ""
            lines.append(f"| {k} | {self.start[k]:.4g} | {v:.4g} | {self.errors[k]:.2g} | {r} |")
        lines += ["", f"chi2/ndf before {self.chi2_before:.1f}/{self.ndf}, after {self.chi2_after:.1f}/{self.ndf}",
                  "", "| statistic | data | sim before | sim after | pull after |", "|---|---:|---:|---:|---:|"]
        for i, n in enumerate(self.data.names):
            d, b, a = self.data.values[i], self.before.values[i], self.after.values[i]
            s = np.hypot(self.data.errors[i], self.after.errors[i])
            lines.append(f"| {n} | {d:.4g} +- {self.data.errors[i]:.2g} | {b:.4g} | {a:.4g} | {(a - d) / s:+.2f} |")
        return "\n".join(lines) + "\n"


def parameter_bounds(base: Any, names: Sequence[str],
                     ranges: dict[str, tuple[float, float]] | None = None) -> dict[str, tuple[float, float]]:
    """Absolute search bounds of each tuned parameter.

    Parameters
    ----------
    base : SimConfig
        Starting configuration.
    names : sequence of str
        SimConfig fields to tune.
    ranges : dict, optional
        Absolute ``(lo, hi)`` per name, overriding :data:`DEFAULT_RANGES`.

    Returns
    -------
    dict of str to (float, float)
        Bounds, each containing the base value.

    Raises
    ------
    ConfigError
        A name that is not a float field of SimConfig, no range known, or a range that does
        not contain the base value.
    """
    import dataclasses

    floats = {f.name for f in dataclasses.fields(base) if f.type in ("float", float)}
    out: dict[str, tuple[float, float]] = {}
    for name in names:
        if name not in floats:
            raise ConfigError(f"cannot tune {name!r}: not a float field of SimConfig; known: {sorted(floats)}")
        v0 = float(getattr(base, name))
        if ranges and name in ranges:
            lo, hi = map(float, ranges[name])
        elif name in DEFAULT_RANGES:
            kind, a, b = DEFAULT_RANGES[name]
            lo, hi = (v0 * a, v0 * b) if kind == "mul" else (v0 + a, v0 + b) if kind == "add" else (a, b)
        else:
            raise ConfigError(f"no default range for {name!r}; give one (name=lo:hi)")
        if not lo < hi or not lo <= v0 <= hi:
            raise ConfigError(f"range of {name!r} must satisfy lo < hi and contain the start {v0}, got {lo}:{hi}")
        out[name] = (lo, hi)
    return out


class _Objective:
    """Simulate at parameter values and return the statistics (cached by value)."""

    def __init__(self, base: Any, names: Sequence[str], n_sim: int, seed: int,
                 features: FeatureConfig) -> None:
        self.base, self.names, self.n_sim, self.seed, self.features = base, list(names), n_sim, seed, features
        self.cache: dict[tuple[float, ...], Statistics] = {}
        self.last_features: Features | None = None

    def config(self, theta: Sequence[float]) -> Any:
        return self.base.replace(**{n: float(v) for n, v in zip(self.names, theta)})

    def __call__(self, theta: Sequence[float]) -> Statistics:
        key = tuple(float(v) for v in theta)
        if key not in self.cache:
            cfg = self.config(key)
            feats = simulate_features(cfg, self.n_sim, self.seed, self.features)
            self.last_features = feats
            self.cache[key] = summary_statistics(feats)
        return self.cache[key]


def prepare_base(base: Any, names: Sequence[str], log: Callable[[str], None] | None = None) -> tuple[Any, list[str]]:
    """Make the start configuration able to move the requested parameters.

    Tuning ``cluster_p1`` / ``cluster_tail_exponent`` needs the HEED-like cluster-size model.
    Starting from the ``table`` model (the ``tb2023-*`` presets), the start becomes the HEED-like
    member closest to the table: the table's P(1), and the exponent that keeps the table's mean
    (k_max ``cluster_tail_kmax``), and the long tail's delta electrons get their ranges
    (``delta_electron_spread``). The simulation then starts where the table's does, up to its
    tail beyond k = ``cluster_size_kmax``.

    Parameters
    ----------
    base : SimConfig
        Start configuration.
    names : sequence of str
        Parameters to tune.
    log : callable, optional
        Receives a line describing the switch.

    Returns
    -------
    (SimConfig, list of str)
        The start configuration and notes.
    """
    from ccreco.sim.clusters import heed_exponent_for_mean

    notes: list[str] = []
    if any(n in CLUSTER_PARAMETERS for n in names) and base.cluster_size_model != "heed":
        pmf = base.size_pmf
        old_model = base.cluster_size_model
        p1 = float(pmf[0])
        mean = base.mean_cluster_size
        expo = heed_exponent_for_mean(p1, mean, base.cluster_tail_kmax)
        base = base.replace(cluster_size_model="heed", cluster_p1=round(p1, 5), cluster_tail_exponent=round(expo, 4),
                            delta_electron_spread=True)
        notes.append(f"cluster-size parameters need the HEED-like model: starting from its member closest to "
                     f"the {pmf.size}-entry '{old_model}' table (P(1) {p1:.4f}, exponent {expo:.3f}, "
                     f"mean {mean:.3f} e-/cluster), with delta-electron ranges on")
    for note in notes:
        (log or (lambda s: None))(note)
    return base, notes


def bound_warnings(parameters: dict[str, float], bounds: dict[str, tuple[float, float]],
                   tolerance: float = BOUND_TOLERANCE) -> list[str]:
    """One warning per parameter that ended within ``tolerance`` of its range's ends.

    A parameter at its bound did not find a minimum inside the range: the range is too narrow
    or, more often, the parameter absorbs something the model lacks (a wrong geometry, pulse or
    cluster-size model). Its HESSE error is then meaningless.

    Parameters
    ----------
    parameters : dict of str to float
        Tuned values.
    bounds : dict of str to (float, float)
        Search ranges.
    tolerance : float
        Fraction of the range counted as "at the bound".

    Returns
    -------
    list of str
        Warnings (empty when every parameter is inside).
    """
    out = []
    for name, v in parameters.items():
        lo, hi = bounds[name]
        eps = tolerance * (hi - lo)
        for side, b in (("lower", lo), ("upper", hi)):
            if abs(v - b) <= eps:
                out.append(f"{name} = {v:.4g} ended at its {side} bound {b:.4g} (range {lo:.4g}:{hi:.4g}): "
                           "widen the range with --range, or check the geometry / pulse / cluster-size model")
    return out


def peak_time_endpoint(features: Features, q: float = 0.98) -> tuple[float, float]:
    """The ``q`` quantile of (last peak - first peak) per waveform, with its error.

    The drift-time span of a track: set by the cell's maximum drift time (geometry, voltage,
    gas), nearly independent of gain, noise and cluster density.

    Parameters
    ----------
    features : Features
        Waveform features.
    q : float
        Quantile.

    Returns
    -------
    (float, float)
        Span in ns and its error.
    """
    off = features.peak_offsets
    t = features.per_peak["peak_time_ns"]
    has = np.diff(off) > 1
    span = t[off[1:][has] - 1] - t[off[:-1][has]]
    return _quantile_err(span, q)


def geometry_check(data: Features, sim: Features, config: Any, tolerance: float = 0.06) -> list[str]:
    """Say when the start configuration's cell cannot match the data's drift-time span.

    Compares :func:`peak_time_endpoint` (the 98% quantile and the median of last - first peak
    time per waveform) of the data with the same quantities simulated with ``config``. The
    endpoint is set by the maximum drift time (cell size, voltage, gas), the median by the
    distribution of chords (cell shape, impact range). A difference beyond ``tolerance``
    (relative, plus 3 sigma) means none of the tuned parameters can fix it (the tuner would
    bend the cluster density or the time offset instead).

    Parameters
    ----------
    data, sim : Features
        Data features and the simulation at the start values.
    config : SimConfig
        The start configuration (for the message).
    tolerance : float
        Relative difference tolerated.

    Returns
    -------
    list of str
        Warnings (empty when the spans agree).
    """
    out = []
    for q, what in ((0.98, "endpoint (98% quantile)"), (0.5, "median")):
        d, de = peak_time_endpoint(data, q)
        m, me = peak_time_endpoint(sim, q)
        if not (np.isfinite(d) and np.isfinite(m)) or m <= 0:
            continue
        if abs(d - m) <= tolerance * m + 3 * np.hypot(de, me):
            continue
        out.append(
            f"geometry: drift-time span (last - first peak) {what}: data {d:.0f} +- {de:.0f} ns, start simulation "
            f"{m:.0f} +- {me:.0f} ns ({'longer' if d > m else 'shorter'} in the data). The cell "
            f"'{config.cell_shape}' {config.cell_size_cm} cm, impact {config.impact_min_cm}-{config.impact_max_cm} cm, "
            f"{config.anode_voltage_v:.0f} V (maximum drift time {config.drift_table.max_time_ns:.0f} ns) cannot "
            "match the data: set cell_shape / cell_size_cm / impact_max_cm / anode_voltage_v first (otherwise "
            "density_scale and the time offset absorb the difference)")
    return out


def tune(
    data: Features | Statistics,
    base: Any,
    parameters: Sequence[str] = DEFAULT_PARAMETERS,
    *,
    ranges: dict[str, tuple[float, float]] | None = None,
    n_sim: int = 1000,
    seed: int = 1,
    method: str = "surrogate",
    iterations: int = 3,
    n_points: int | None = None,
    shrink: float = 0.35,
    features: FeatureConfig = TUNE_FEATURES,
    log: Callable[[str], None] | None = None,
) -> TuneResult:
    """Fit simulator parameters to data on truth-free summary statistics.

    Parameters
    ----------
    data : Features or Statistics
        The data sample (features computed with the same ``features`` options) or its statistics
        (then no geometry check).
    base : SimConfig
        Starting configuration; the data's sampling and window must match it. Tuning
        ``cluster_p1`` / ``cluster_tail_exponent`` from the ``table`` cluster-size model starts
        from the closest HEED-like member (:func:`prepare_base`).
    parameters : sequence of str
        SimConfig float fields to tune (default :data:`DEFAULT_PARAMETERS`).
    ranges : dict, optional
        Absolute ``(lo, hi)`` search bounds per parameter (default :data:`DEFAULT_RANGES`).
    n_sim : int
        Simulated waveforms per evaluation.
    seed : int
        Fixed simulation seed (common random numbers).
    method : {"surrogate", "direct"}
        Quadratic surrogate + MIGRAD (default) or SIMPLEX + MIGRAD on the simulation itself
        (:mod:`ccreco.analysis.tune_optimizers`).
    iterations : int
        Surrogate iterations (box shrinks around the minimum each time).
    n_points : int, optional
        Simulations per iteration (default twice the number of quadratic terms, at least 12).
    shrink : float
        Factor applied to the box half-width after each iteration (floored at 4 sigma).
    features : FeatureConfig
        Feature options.
    log : callable, optional
        Receives progress lines (iterations, time used and an estimate of the time left,
        warnings), e.g. ``print``.

    Returns
    -------
    TuneResult
        Tuned config, values, uncertainties, chi2 before/after, statistics, history and
        warnings (parameters at a bound, geometry).
    """
    import time

    from ccreco.analysis import tune_optimizers as opt

    if method not in ("surrogate", "direct"):
        raise ConfigError(f"method must be 'surrogate' or 'direct', got {method!r}")
    if n_sim < 50:
        raise ConfigError(f"n_sim must be >= 50, got {n_sim}")
    names = list(parameters)
    if not names:
        raise ConfigError("nothing to tune")
    say = log or (lambda s: None)
    base, notes = prepare_base(base, names, say)
    bounds = parameter_bounds(base, names, ranges)
    dstats = data if isinstance(data, Statistics) else summary_statistics(data)
    obj = _Objective(base, names, n_sim, seed, features)
    theta0 = np.array([float(getattr(base, n)) for n in names])
    lo_g = np.array([bounds[n][0] for n in names])
    hi_g = np.array([bounds[n][1] for n in names])
    ndf = len(dstats.names) - len(names)
    d = len(names)
    n_pts = n_points or max(12, 2 * opt.n_terms(d))
    if method == "surrogate" and n_pts < opt.n_terms(d) + 2:
        raise ConfigError(f"n_points must be >= {opt.n_terms(d) + 2} for {d} parameters")
    # simulations expected: start + points per iteration (+1 centre) + final; direct: a guess
    total = 2 + (iterations * (n_pts + 1) if method == "surrogate" else 60 * d)
    t_start = time.monotonic()
    done = [0]
    bar = progress(total=total, desc=f"tune ({method})", unit="sim")

    def tick(n: int) -> None:
        done[0] += n
        bar.update(n)

    def eta() -> str:
        used = time.monotonic() - t_start
        left = used / max(done[0], 1) * max(total - done[0], 0)
        return f"{used:.0f} s used, about {left:.0f} s left"

    with bar:
        before = obj(theta0)
        tick(1)
        warnings: list[str] = []
        if isinstance(data, Features) and obj.last_features is not None:
            warnings += geometry_check(data, obj.last_features, base)
            for w in warnings:
                say("WARNING: " + w)
        say(f"start: chi2 {opt.chi2(dstats, before.values, before.errors ** 2):.1f}/{ndf}; "
            f"{total} simulations of {n_sim} waveforms planned ({eta()})")
        if method == "direct":
            best, errs, history, msg = opt.direct(obj, dstats, names, theta0, lo_g, hi_g, tick)
            say(msg + f" ({eta()})")
        else:
            best, errs, history = opt.surrogate(
                obj, dstats, names, theta0, lo_g, hi_g, iterations=iterations, n_points=n_pts, shrink=shrink,
                seed=seed, ndf=ndf, tick=tick, say=lambda s: say(f"{s} ({eta()})"))
        after = obj(best)
        tick(1)
    chi2_after = opt.chi2(dstats, after.values, after.errors ** 2)
    chi2_before = opt.chi2(dstats, before.values, before.errors ** 2)
    parameters_out = dict(zip(names, map(float, best)))
    at_bound = bound_warnings(parameters_out, bounds)
    for w in at_bound:
        say("WARNING: " + w)
    say(f"chi2/ndf before {chi2_before:.1f}/{ndf}, after {chi2_after:.1f}/{ndf} "
        f"({len(obj.cache)} simulations, {time.monotonic() - t_start:.0f} s)")
    return TuneResult(
        config=obj.config(best).replace(name=f"{base.name}-tuned"),
        parameters=parameters_out,
        errors=dict(zip(names, map(float, errs))),
        start=dict(zip(names, map(float, theta0))),
        chi2_before=chi2_before,
        chi2_after=chi2_after,
        ndf=ndf,
        data=dstats,
        before=before,
        after=after,
        history=history,
        n_evaluations=len(obj.cache),
        method=method,
        warnings=warnings + at_bound,
        notes=notes,
        bounds={k: (float(v[0]), float(v[1])) for k, v in bounds.items()},
    )


def write_result(result: TuneResult, toml_path: str | os.PathLike[str]) -> dict[str, Path]:
    """Write the tuned config (TOML) plus ``<stem>.json`` and ``<stem>.md`` beside it.

    Parameters
    ----------
    result : TuneResult
        From :func:`tune`.
    toml_path : str or os.PathLike
        The simulator config to write (readable by ``SimConfig.from_toml`` /
        ``ccreco simulate --config``).

    Returns
    -------
    dict of str to Path
        ``toml``, ``json``, ``md``.
    """
    path = Path(toml_path)
    text = result.config.to_toml()
    header = ["# tuned by ccreco tune: " + ", ".join(
        f"{k}={v:.5g}+-{result.errors[k]:.2g}" for k, v in result.parameters.items()),
        f"# chi2/ndf before {result.chi2_before:.1f}/{result.ndf}, after {result.chi2_after:.1f}/{result.ndf}"]
    header += [f"# WARNING: {w}" for w in result.warnings]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(header) + "\n" + text)
    from ccreco.analysis.report import write_report

    written = write_report(path.parent, path.stem, table=result.table(), data=result.to_dict(), json_default=float)
    return {"toml": path, "json": written["json"], "md": written["md"]}


def plot_tuning(result: TuneResult, data: Features, outdir: str | os.PathLike[str], n_sim: int | None = None,
                seed: int = 1, features: FeatureConfig = TUNE_FEATURES) -> list[Path]:
    """Before/after plots (see :func:`ccreco.analysis.tune_plots.plot_tuning`)."""
    from ccreco.analysis.tune_plots import plot_tuning as _plot

    return _plot(result, data, outdir, n_sim=n_sim, seed=seed, features=features)


__all__ = [
    "AMPLITUDE_QUANTILES",
    "AUTOCORR_LAGS",
    "BOUND_TOLERANCE",
    "CLUSTER_PARAMETERS",
    "PAIR_WINDOWS_NS",
    "TAIL_FACTORS",
    "bound_warnings",
    "geometry_check",
    "peak_time_endpoint",
    "prepare_base",
    "DEFAULT_PARAMETERS",
    "DEFAULT_RANGES",
    "SHAPE_OFFSETS",
    "Statistics",
    "TUNE_FEATURES",
    "TuneResult",
    "parameter_bounds",
    "plot_tuning",
    "simulate_features",
    "summary_statistics",
    "tune",
    "write_result",
]
