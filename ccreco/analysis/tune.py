"""Tune simulator parameters so that simulation matches data on truth-free waveform statistics.

Method (docs/DATA_VS_SIM.md, "Tuning"):

1. **Summary statistics with errors** (:mod:`ccreco.analysis.tune_statistics`), each chosen to respond to
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

Layout: statistics in :mod:`ccreco.analysis.tune_statistics`, the two optimizers in
:mod:`ccreco.analysis.tune_optimizers`, checks (model, bounds, geometry) in
:mod:`ccreco.analysis.tune_checks`, plots in :mod:`ccreco.analysis.tune_plots`; this module
orchestrates (:func:`tune`) and writes (:func:`write_result`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ccreco._progress import progress
from ccreco.analysis.features import FeatureConfig, Features
from ccreco.analysis.tune_checks import (
    BOUND_TOLERANCE,
    bound_warnings,
    check_active,
    geometry_check,
    peak_time_endpoint,
)
from ccreco.analysis.tune_statistics import (
    AMPLITUDE_QUANTILES,
    AUTOCORR_LAGS,
    PAIR_WINDOWS_NS,
    SHAPE_OFFSETS,
    TAIL_FACTORS,
    TUNE_FEATURES,
    Statistics,
    simulate_features,
    summary_statistics,
)
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
    "cluster_low_exponent": ("abs", 1.2, 6.0),
    "pulse_ion_tau_ns": ("mul", 0.3, 3.0),
    "pulse_ion_t0_ns": ("mul", 0.3, 3.0),
    "pulse_shaper_tau_ns": ("mul", 0.4, 2.5),
    "pulse_ac_coupling_ns": ("abs", 0.0, 1000.0),
    "ion_tail_fraction": ("abs", 0.0, 1.0),
    "ion_tail_t0_ns": ("mul", 0.2, 5.0),
    "bandwidth_mhz": ("mul", 0.4, 2.5),
}

#: Cluster-size parameters (need ``cluster_size_model = "heed"``; see :func:`tune`).
CLUSTER_PARAMETERS: tuple[str, ...] = ("cluster_p1", "cluster_tail_exponent", "cluster_low_exponent")


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

    def config(self, theta: Sequence[float] | np.ndarray) -> Any:
        values = {n: float(v) for n, v in zip(self.names, theta, strict=True)}
        b = self.base
        # a single power law (low-k exponent = tail exponent) stays one unless the low-k
        # exponent is tuned itself
        if ("cluster_tail_exponent" in values and "cluster_low_exponent" not in values
                and b.cluster_low_exponent == b.cluster_tail_exponent):
            values["cluster_low_exponent"] = values["cluster_tail_exponent"]
        return b.replace(**values)

    def __call__(self, theta: Sequence[float] | np.ndarray) -> Statistics:
        key = tuple(float(v) for v in theta)
        if key not in self.cache:
            cfg = self.config(key)
            feats = simulate_features(cfg, self.n_sim, self.seed, self.features)
            self.last_features = feats
            self.cache[key] = summary_statistics(feats)
        return self.cache[key]


def default_parameters(config: Any) -> list[str]:
    """The parameters tuned by default for a start configuration.

    :data:`DEFAULT_PARAMETERS` for the ``biexp`` pulse and ``table`` cluster sizes (the tb2023
    presets). Otherwise noise, gain, density and time offset, plus the pulse's main shape
    parameter (``pulse_rise_ns`` / ``pulse_fall_ns`` for ``biexp``, ``pulse_shaper_tau_ns`` for
    ``iontail``, none for a measured ``template``) and, with the HEED-like cluster sizes,
    ``cluster_p1`` and ``cluster_tail_exponent``.

    Parameters
    ----------
    config : SimConfig
        Start configuration.

    Returns
    -------
    list of str
        SimConfig fields.
    """
    if config.pulse_model == "biexp" and config.cluster_size_model == "table":
        return list(DEFAULT_PARAMETERS)
    out = ["noise_mv", "single_electron_mv", "density_scale", "trigger_offset_ns"]
    out += {"biexp": ["pulse_rise_ns", "pulse_fall_ns"], "iontail": ["pulse_shaper_tau_ns"]}.get(config.pulse_model, [])
    if config.cluster_size_model == "heed":
        out += ["cluster_p1", "cluster_tail_exponent"]
    return out


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
                            cluster_low_exponent=round(expo, 4),
                            delta_electron_spread=True)
        notes.append(f"cluster-size parameters need the HEED-like model: starting from its member closest to "
                     f"the {pmf.size}-entry '{old_model}' table (P(1) {p1:.4f}, exponent {expo:.3f}, "
                     f"mean {mean:.3f} e-/cluster), with delta-electron ranges on")
    for note in notes:
        (log or (lambda s: None))(note)
    return base, notes


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
        SimConfig float fields to tune (default :data:`DEFAULT_PARAMETERS`; see
        :func:`default_parameters` for the other models). Parameters without effect in the
        start's models are refused (:func:`check_active`).
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
    check_active(base, names)
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
    parameters_out = dict(zip(names, map(float, best), strict=True))
    at_bound = bound_warnings(parameters_out, bounds)
    for w in at_bound:
        say("WARNING: " + w)
    say(f"chi2/ndf before {chi2_before:.1f}/{ndf}, after {chi2_after:.1f}/{ndf} "
        f"({len(obj.cache)} simulations, {time.monotonic() - t_start:.0f} s)")
    return TuneResult(
        config=obj.config(best).replace(name=f"{base.name}-tuned"),
        parameters=parameters_out,
        errors=dict(zip(names, map(float, errs), strict=True)),
        start=dict(zip(names, map(float, theta0), strict=True)),
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
    """Before/after plots (see :func:`ccreco.analysis.tune_plots.plot_tuning`).

    Normalized distributions of data, start and tuned simulation with ratio panels, the
    amplitude and charge tails on a log scale, and the mean isolated pulse / autocorrelation.

    Returns
    -------
    list of pathlib.Path
        PNG files written.
    """
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
    "check_active",
    "default_parameters",
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
