"""The two optimizers of :func:`ccreco.analysis.tune.tune`: quadratic surrogate and direct.

Both minimize ``chi2(theta) = sum_i (d_i - s_i(theta))^2 / (sigma_d,i^2 + sigma_s,i^2 + ...)``
over a box of parameter values. ``objective(theta)`` returns the simulated statistics
(:class:`ccreco.analysis.tune.Statistics`) at absolute parameter values; ``tick(n)`` reports
progress (simulations done).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ccreco._extras import require


def chi2(data: Any, values: np.ndarray, var_extra: np.ndarray) -> float:
    """chi2 distance between data statistics and predicted values (non-finite terms skipped).

    Parameters
    ----------
    data : Statistics
        Data values and errors.
    values : numpy.ndarray
        Predicted statistics.
    var_extra : numpy.ndarray
        Variance added to the data's (simulation statistics, surrogate error).

    Returns
    -------
    float
        The chi2.
    """
    ok = np.isfinite(data.values) & np.isfinite(values) & np.isfinite(var_extra) & np.isfinite(data.errors)
    r = (data.values - values)[ok]
    return float(np.sum(r * r / (data.errors[ok] ** 2 + var_extra[ok])))


def poly_terms(u: np.ndarray) -> np.ndarray:
    """Quadratic design matrix (1, u_i, u_i u_j for i <= j) for points ``u`` of shape (m, d)."""
    m, d = u.shape
    cols = [np.ones(m)] + [u[:, i] for i in range(d)]
    cols += [u[:, i] * u[:, j] for i in range(d) for j in range(i, d)]
    return np.stack(cols, axis=1)


def n_terms(d: int) -> int:
    """Number of terms of the quadratic in ``d`` parameters."""
    return 1 + d + d * (d + 1) // 2


def direct(
    objective: Callable[[np.ndarray], Any],
    data: Any,
    names: Sequence[str],
    theta0: np.ndarray,
    lo_g: np.ndarray,
    hi_g: np.ndarray,
    tick: Callable[[int], None],
) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]], str]:
    """SIMPLEX then MIGRAD on the simulation itself; errors from chi2 parabolas along each axis.

    HESSE's finite differences are unreliable on the raw simulation (the chi2 jumps where
    discrete draws change), so each error comes from a parabola fitted to chi2 over +-5% of the
    range along that axis.

    Returns
    -------
    best, errors : numpy.ndarray
        Parameter values and uncertainties.
    history : list of dict
        One entry.
    message : str
        Summary line.
    """
    require("iminuit", "ccreco tune")
    from iminuit import Minuit

    scale = (hi_g - lo_g) / 2
    seen = [0]

    def fcn(*u: float) -> float:
        s = objective(theta0 + np.asarray(u) * scale)
        seen[0] += 1
        tick(1)
        return chi2(data, s.values, s.errors ** 2)

    d = len(names)
    m = Minuit(fcn, *np.zeros(d), name=list(names))
    m.errordef = Minuit.LEAST_SQUARES
    m.limits = [((lo_g[i] - theta0[i]) / scale[i], (hi_g[i] - theta0[i]) / scale[i]) for i in range(d)]
    m.errors = [0.05] * d
    m.simplex()
    m.migrad()
    best_u = np.array(m.values)
    best = theta0 + best_u * scale
    errs = np.empty(d)
    steps = np.linspace(-0.05, 0.05, 7)
    for i in range(d):
        chi = []
        for dlt in steps:
            uu = best_u.copy()
            uu[i] += dlt
            chi.append(fcn(*uu))
        a = np.polyfit(steps, chi, 2)[0]
        errs[i] = scale[i] / np.sqrt(a) if a > 0 else float("nan")
    history = [{"iteration": 0, "chi2": float(m.fval), "valid": bool(m.valid),
                "best": dict(zip(names, map(float, best), strict=True))}]
    return best, errs, history, f"direct: chi2 {m.fval:.2f}, valid {m.valid}, {seen[0]} evaluations"


def surrogate(
    objective: Callable[[np.ndarray], Any],
    data: Any,
    names: Sequence[str],
    theta0: np.ndarray,
    lo_g: np.ndarray,
    hi_g: np.ndarray,
    *,
    iterations: int,
    n_points: int,
    shrink: float,
    seed: int,
    ndf: int,
    tick: Callable[[int], None],
    say: Callable[[str], None],
) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Quadratic surrogate of each statistic on Latin-hypercube points, MIGRAD + HESSE on it.

    The box (first the whole range around ``theta0``) shrinks by ``shrink`` around the minimum
    after each iteration, floored at 4 HESSE sigmas.

    Returns
    -------
    best, errors : numpy.ndarray
        Parameter values and uncertainties.
    history : list of dict
        One entry per iteration.
    """
    require("iminuit", "ccreco tune")
    from iminuit import Minuit
    from scipy.stats import qmc

    d = len(names)
    centre = theta0.copy()
    half = np.maximum(centre - lo_g, hi_g - centre)
    errs = np.full(d, np.nan)
    best = centre.copy()
    history: list[dict[str, Any]] = []
    for it in range(iterations):
        lo = np.maximum(centre - half, lo_g)
        hi = np.minimum(centre + half, hi_g)
        mid, hw = (lo + hi) / 2, (hi - lo) / 2
        u = qmc.LatinHypercube(d=d, seed=seed + it).random(n_points) * 2 - 1
        u = np.vstack([np.clip((centre - mid) / hw, -1, 1)[None, :], u])
        stats = []
        for row in u:
            stats.append(objective(mid + row * hw))
            tick(1)
        y = np.stack([s.values for s in stats])
        e2 = np.nanmean(np.stack([s.errors for s in stats]) ** 2, axis=0)
        X = poly_terms(u)
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
            pred = (poly_terms(np.asarray(uu)[None, :]) @ coef)[0]
            return chi2(data, pred, var_extra)

        start = np.clip((best - mid) / hw, -1, 1)
        m = Minuit(fcn, *start, name=list(names))
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
            "best": dict(zip(names, map(float, best), strict=True)),
            "errors": dict(zip(names, map(float, errs), strict=True)),
        })
        say(f"iteration {it + 1}/{iterations}: surrogate chi2 {m.fval:.2f}/{ndf}, "
            + ", ".join(f"{n}={b:.4g}+-{e:.2g}" for n, b, e in zip(names, best, errs, strict=True)))
        centre = best
        half = np.maximum(half * shrink, 4 * np.where(np.isfinite(errs), errs, half))
    return best, errs, history


__all__ = ["chi2", "direct", "n_terms", "poly_terms", "surrogate"]
