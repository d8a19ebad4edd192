"""Tune simulator parameters so that simulation matches data on truth-free waveform statistics.

Method (docs/DATA_VS_SIM.md, "Tuning"):

1. **Summary statistics with errors** (:func:`summary_statistics`), each chosen to respond to
   one parameter first: mean baseline RMS (noise), quantiles of the DERIV peak-amplitude spectrum
   and the mean collected charge (gain), the mean normalized shape of isolated peaks before and
   after the maximum (pulse rise / fall), mean candidate and DERIV peak counts per waveform
   (cluster density), the mean time of the first peak (time offset).
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

import json
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
}

#: Offsets (samples from the maximum) of the isolated-peak shape used as statistics.
SHAPE_OFFSETS: tuple[int, ...] = (-3, -2, -1, 1, 2, 4, 7, 10)
#: Lags (samples) of the signal-region autocorrelation used as statistics (pulse shape).
AUTOCORR_LAGS: tuple[int, ...] = (1, 2, 3, 5, 8)
#: Quantiles of the peak-amplitude spectrum used as statistics.
AMPLITUDE_QUANTILES: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9)
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
    return Statistics(tuple(names), np.array(vals), np.array(errs), len(features))


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
            "config": self.config.to_dict(),
        }

    def table(self) -> str:
        """Markdown table of the tuned parameters and the statistics before/after."""
        lines = ["| parameter | start | tuned | uncertainty |", "|---|---:|---:|---:|"]
        for k, v in self.parameters.items():
            lines.append(f"| {k} | {self.start[k]:.4g} | {v:.4g} | {self.errors[k]:.2g} |")
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


def _poly_terms(u: np.ndarray) -> np.ndarray:
    """Quadratic design matrix (1, u_i, u_i u_j for i <= j) for points ``u`` of shape (m, d)."""
    m, d = u.shape
    cols = [np.ones(m)] + [u[:, i] for i in range(d)]
    cols += [u[:, i] * u[:, j] for i in range(d) for j in range(i, d)]
    return np.stack(cols, axis=1)


def _n_terms(d: int) -> int:
    return 1 + d + d * (d + 1) // 2


class _Objective:
    """Simulate at parameter values and return the statistics (cached by value)."""

    def __init__(self, base: Any, names: Sequence[str], n_sim: int, seed: int,
                 features: FeatureConfig) -> None:
        self.base, self.names, self.n_sim, self.seed, self.features = base, list(names), n_sim, seed, features
        self.cache: dict[tuple[float, ...], Statistics] = {}

    def config(self, theta: Sequence[float]) -> Any:
        return self.base.replace(**{n: float(v) for n, v in zip(self.names, theta)})

    def __call__(self, theta: Sequence[float]) -> Statistics:
        key = tuple(float(v) for v in theta)
        if key not in self.cache:
            cfg = self.config(key)
            self.cache[key] = summary_statistics(simulate_features(cfg, self.n_sim, self.seed, self.features))
        return self.cache[key]


def _chi2(data: Statistics, values: np.ndarray, var_extra: np.ndarray) -> float:
    ok = np.isfinite(data.values) & np.isfinite(values) & np.isfinite(var_extra) & np.isfinite(data.errors)
    r = (data.values - values)[ok]
    return float(np.sum(r * r / (data.errors[ok] ** 2 + var_extra[ok])))


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
        The data sample (features computed with the same ``features`` options) or its statistics.
    base : SimConfig
        Starting configuration; the data's sampling and window must match it.
    parameters : sequence of str
        SimConfig float fields to tune (default :data:`DEFAULT_PARAMETERS`).
    ranges : dict, optional
        Absolute ``(lo, hi)`` search bounds per parameter (default :data:`DEFAULT_RANGES`).
    n_sim : int
        Simulated waveforms per evaluation.
    seed : int
        Fixed simulation seed (common random numbers).
    method : {"surrogate", "direct"}
        Quadratic surrogate + MIGRAD (default) or SIMPLEX + MIGRAD on the simulation itself.
    iterations : int
        Surrogate iterations (box shrinks around the minimum each time).
    n_points : int, optional
        Simulations per iteration (default twice the number of quadratic terms, at least 12).
    shrink : float
        Factor applied to the box half-width after each iteration (floored at 4 sigma).
    features : FeatureConfig
        Feature options.
    log : callable, optional
        Receives one line per iteration (e.g. ``print``).

    Returns
    -------
    TuneResult
        Tuned config, values, uncertainties, chi2 before/after, statistics and history.
    """
    from iminuit import Minuit
    from scipy.stats import qmc

    if method not in ("surrogate", "direct"):
        raise ConfigError(f"method must be 'surrogate' or 'direct', got {method!r}")
    if n_sim < 50:
        raise ConfigError(f"n_sim must be >= 50, got {n_sim}")
    names = list(parameters)
    if not names:
        raise ConfigError("nothing to tune")
    bounds = parameter_bounds(base, names, ranges)
    dstats = data if isinstance(data, Statistics) else summary_statistics(data)
    obj = _Objective(base, names, n_sim, seed, features)
    theta0 = np.array([float(getattr(base, n)) for n in names])
    lo_g = np.array([bounds[n][0] for n in names])
    hi_g = np.array([bounds[n][1] for n in names])
    say = log or (lambda s: None)
    history: list[dict[str, Any]] = []
    ndf = len(dstats.names) - len(names)
    before = obj(theta0)

    if method == "direct":
        scale = (hi_g - lo_g) / 2

        def fcn(*u: float) -> float:
            s = obj(theta0 + np.asarray(u) * scale)
            return _chi2(dstats, s.values, s.errors ** 2)

        m = Minuit(fcn, *np.zeros(len(names)), name=names)
        m.errordef = Minuit.LEAST_SQUARES
        m.limits = [((lo_g[i] - theta0[i]) / scale[i], (hi_g[i] - theta0[i]) / scale[i]) for i in range(len(names))]
        m.errors = [0.05] * len(names)
        with progress(desc="tune (direct)", unit="sim") as bar:
            n0 = len(obj.cache)
            m.simplex()
            bar.update(len(obj.cache) - n0)
            n0 = len(obj.cache)
            m.migrad()
            bar.update(len(obj.cache) - n0)
        best_u = np.array(m.values)
        best = theta0 + best_u * scale
        # HESSE's finite differences are unreliable on the raw simulation (the chi2 jumps where
        # discrete draws change): fit a parabola to chi2 along each axis over +-5% of the range
        errs = np.empty(len(names))
        steps = np.linspace(-0.05, 0.05, 7)
        for i in range(len(names)):
            chi = []
            for dlt in steps:
                uu = best_u.copy()
                uu[i] += dlt
                chi.append(fcn(*uu))
            a = np.polyfit(steps, chi, 2)[0]
            errs[i] = scale[i] / np.sqrt(a) if a > 0 else float("nan")
        history.append({"iteration": 0, "chi2": float(m.fval), "valid": bool(m.valid),
                        "best": dict(zip(names, map(float, best)))})
        say(f"direct: chi2 {m.fval:.2f}, valid {m.valid}, {len(obj.cache)} simulations")
    else:
        d = len(names)
        n_pts = n_points or max(12, 2 * _n_terms(d))
        if n_pts < _n_terms(d) + 2:
            raise ConfigError(f"n_points must be >= {_n_terms(d) + 2} for {d} parameters")
        centre = theta0.copy()
        half = np.maximum(centre - lo_g, hi_g - centre)
        errs = np.full(d, np.nan)
        best = centre.copy()
        for it in range(iterations):
            lo = np.maximum(centre - half, lo_g)
            hi = np.minimum(centre + half, hi_g)
            mid, hw = (lo + hi) / 2, (hi - lo) / 2
            u = qmc.LatinHypercube(d=d, seed=seed + it).random(n_pts) * 2 - 1
            u = np.vstack([np.clip((centre - mid) / hw, -1, 1)[None, :], u])
            stats = []
            with progress(total=len(u), desc=f"tune {it + 1}/{iterations}", unit="sim") as bar:
                for row in u:
                    stats.append(obj(mid + row * hw))
                    bar.update(1)
            y = np.stack([s.values for s in stats])
            e2 = np.nanmean(np.stack([s.errors for s in stats]) ** 2, axis=0)
            X = _poly_terms(u)
            coef = np.zeros((X.shape[1], y.shape[1]))
            resid_var = np.zeros(y.shape[1])
            for j in range(y.shape[1]):
                ok = np.isfinite(y[:, j])
                if ok.sum() < X.shape[1] + 1:
                    coef[:, j] = np.nan
                    continue
                c, *_ = np.linalg.lstsq(X[ok], y[ok, j], rcond=None)
                coef[:, j] = c
                r = y[ok, j] - X[ok] @ c
                resid_var[j] = float(r @ r) / max(ok.sum() - X.shape[1], 1)
            # variance of the surrogate's prediction ~ residual variance x (terms / points)
            var_extra = e2 + resid_var * X.shape[1] / len(u)

            def fcn(*uu: float, coef: np.ndarray = coef, var_extra: np.ndarray = var_extra) -> float:
                pred = (_poly_terms(np.asarray(uu)[None, :]) @ coef)[0]
                return _chi2(dstats, pred, var_extra)

            start = np.clip((best - mid) / hw, -1, 1)
            m = Minuit(fcn, *start, name=names)
            m.errordef = Minuit.LEAST_SQUARES
            m.limits = [(-1.0, 1.0)] * d
            m.errors = [0.1] * d
            m.migrad()
            m.hesse()
            best = mid + np.array(m.values) * hw
            errs = np.array(m.errors) * hw
            history.append({
                "iteration": it + 1, "points": len(u), "surrogate_chi2": float(m.fval), "valid": bool(m.valid),
                "box": {n: [float(lo[i]), float(hi[i])] for i, n in enumerate(names)},
                "best": dict(zip(names, map(float, best))), "errors": dict(zip(names, map(float, errs))),
            })
            say(f"iteration {it + 1}/{iterations}: surrogate chi2 {m.fval:.2f}/{ndf}, "
                + ", ".join(f"{n}={b:.4g}+-{e:.2g}" for n, b, e in zip(names, best, errs)))
            centre = best
            half = np.maximum(half * shrink, 4 * np.where(np.isfinite(errs), errs, half))
    after = obj(best)
    chi2_after = _chi2(dstats, after.values, after.errors ** 2)
    chi2_before = _chi2(dstats, before.values, before.errors ** 2)
    say(f"chi2/ndf before {chi2_before:.1f}/{ndf}, after {chi2_after:.1f}/{ndf} ({len(obj.cache)} simulations)")
    return TuneResult(
        config=obj.config(best).replace(name=f"{base.name}-tuned"),
        parameters=dict(zip(names, map(float, best))),
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
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(header) + "\n" + text)
    js = path.with_suffix(".json")
    js.write_text(json.dumps(result.to_dict(), indent=2, default=float) + "\n")
    md = path.with_suffix(".md")
    md.write_text(result.table())
    return {"toml": path, "json": js, "md": md}


def plot_tuning(result: TuneResult, data: Features, outdir: str | os.PathLike[str], n_sim: int | None = None,
                seed: int = 1, features: FeatureConfig = TUNE_FEATURES) -> list[Path]:
    """Before/after plots: data vs the start and the tuned simulation.

    Draws normalized distributions with ratio panels (baseline RMS, peak amplitude, candidate and
    peak counts, peak times, first-peak time, charge) and the mean isolated-peak shape and
    signal autocorrelation.

    Parameters
    ----------
    result : TuneResult
        From :func:`tune`.
    data : Features
        The data features that were tuned to.
    outdir : str or os.PathLike
        Directory (created).
    n_sim : int, optional
        Simulated waveforms for the plots (default: as many as the data, at most 5000).
    seed : int
        Simulation seed.
    features : FeatureConfig
        Feature options.

    Returns
    -------
    list of pathlib.Path
        PNG files written.
    """
    import mplhep as hep
    from matplotlib.figure import Figure

    from ccreco.analysis.compare import LABELS, common_edges, overlay_figure

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    n = n_sim or min(len(data), 5000)
    start_cfg = result.config.replace(**result.start)
    before = simulate_features(start_cfg, n, seed, features)
    after = simulate_features(result.config, n, seed, features)
    samples = {"data": data.columns(), "sim start": before.columns(), "sim tuned": after.columns()}
    written: list[Path] = []
    for name in ("baseline_rms_mv", "peak_amplitude_mv", "n_candidates", "n_peaks", "peak_time_ns",
                 "first_peak_ns", "charge_mv_ns"):
        vals = {k: v[name] for k, v in samples.items()}
        edges = common_edges(vals["data"][np.isfinite(vals["data"])], vals["sim tuned"][np.isfinite(vals["sim tuned"])])
        fig = overlay_figure(vals, edges, LABELS.get(name, name), title="tuning", reference="data")
        path = out / f"tune_{name}.png"
        fig.savefig(path, dpi=90, bbox_inches="tight")
        written.append(path)
    hep.style.use("ROOT")
    fig = Figure(figsize=(12, 5.5))
    ax1, ax2 = fig.subplots(1, 2)
    k = np.arange(-features.shape_left, features.shape_right + 1)
    for i, (label, f) in enumerate((("data", data), ("sim start", before), ("sim tuned", after))):
        style = {"color": "k", "marker": "o", "ls": "none"} if label == "data" else {"color": f"C{i}"}
        if f.shapes.shape[0]:
            ax1.plot(k, f.shapes.mean(axis=0), label=f"{label} ({f.shapes.shape[0]} peaks)", **style)
        if f.autocorr is not None:
            lags = np.arange(1, f.autocorr.shape[1] + 1)
            ax2.plot(lags, np.nanmean(f.autocorr, axis=0), label=label, **style)
    ax1.set_xlabel("Samples from the peak")
    ax1.set_ylabel("Mean normalized isolated pulse")
    ax1.legend(fontsize="small")
    ax2.set_xlabel("Lag [samples]")
    ax2.set_ylabel("Signal autocorrelation")
    ax2.legend(fontsize="small")
    path = out / "tune_shape.png"
    fig.savefig(path, dpi=90, bbox_inches="tight")
    written.append(path)
    return written


__all__ = [
    "AMPLITUDE_QUANTILES",
    "AUTOCORR_LAGS",
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
