"""He 90 / iC4H10 10 gas properties: cluster density, cluster sizes, drift velocity.

Every table is quoted from docs/PHYSICS.md ("Gas: He 90 / iC4H10 10, 1 atm, 293 K").
"""

from __future__ import annotations

import numpy as np

#: Primary cluster density (clusters/cm) vs beta*gamma, HEED-based table of Delphes
#: ``TrkUtil::Nclusters`` / key4hep (PHYSICS.md). Plateau 16.98 for beta*gamma >= 1000.
CLUSTER_DENSITY_TABLE: tuple[tuple[float, float], ...] = (
    (0.5, 42.94), (0.8, 23.6), (1.0, 18.97), (2.0, 12.98), (3.0, 12.2), (4.0, 12.13),
    (5.0, 12.24), (8.0, 12.73), (10.0, 13.03), (12.0, 13.29), (15.0, 13.63), (20.0, 14.08),
    (50.0, 15.56), (100.0, 16.43), (200.0, 16.8), (500.0, 16.95), (1000.0, 16.98),
)

#: Cluster-size probabilities in per cent for k = 1..10 and 19 (Fischle et al. 1991, key4hep).
_SIZE_TABLE: dict[int, float] = {
    1: 76.6, 2: 12.5, 3: 4.6, 4: 2.0, 5: 1.2, 6: 0.75, 7: 0.50, 8: 0.36, 9: 0.25, 10: 0.19,
    19: 0.030,
}

#: Electron drift velocity (cm/us) vs field (kV/cm), Magboltz, 90/10 (PHYSICS.md).
DRIFT_VELOCITY_TABLE: tuple[tuple[float, float], ...] = (
    (0.55, 1.84), (0.79, 2.14), (1.13, 2.37), (1.62, 2.51), (2.34, 2.69), (3.36, 2.99),
    (4.83, 3.47), (6.95, 4.24), (10.0, 5.60),
)


def cluster_density(bg: float | np.ndarray) -> np.ndarray:
    """Primary cluster density in clusters/cm, interpolated linearly in log(beta*gamma).

    Parameters
    ----------
    bg : float or numpy.ndarray
        beta*gamma; values outside the table are clamped to its ends (0.5 and the plateau).

    Returns
    -------
    numpy.ndarray
        Clusters per cm.
    """
    x = np.log([b for b, _ in CLUSTER_DENSITY_TABLE])
    y = np.array([r for _, r in CLUSTER_DENSITY_TABLE])
    density: np.ndarray = np.interp(np.log(np.asarray(bg, dtype=np.float64)), x, y)
    return density


def cluster_size_pmf(k_max: int) -> np.ndarray:
    """Cluster-size probabilities P(k), k = 1..k_max, renormalized to 1.

    k = 1..10 and 19 from the table; 11..18 interpolated as a power law between P(10) and
    P(19) (exponent -2.88, the table elides them); 10.9/k^2 per cent for k >= 20.
    Truncated at ``k_max``: the mean is 1.513 at 15, 1.532 at 18, 1.543 at 20, 1.599 at 35.

    Parameters
    ----------
    k_max : int
        Largest cluster size (>= 1).

    Returns
    -------
    numpy.ndarray
        ``pmf[k - 1] = P(k)``, summing to 1.
    """
    slope = np.log(_SIZE_TABLE[10] / _SIZE_TABLE[19]) / np.log(19 / 10)
    p = np.empty(k_max, dtype=np.float64)
    for k in range(1, k_max + 1):
        if k in _SIZE_TABLE:
            p[k - 1] = _SIZE_TABLE[k]
        elif k < 19:
            p[k - 1] = _SIZE_TABLE[10] * (k / 10) ** (-slope)
        else:
            p[k - 1] = 10.9 / k**2
    pmf: np.ndarray = p / p.sum()
    return pmf


def mean_cluster_size(k_max: int) -> float:
    """Mean electrons per cluster of :func:`cluster_size_pmf`.

    Parameters
    ----------
    k_max : int
        Truncation.

    Returns
    -------
    float
        Mean cluster size.
    """
    p = cluster_size_pmf(k_max)
    return float(np.dot(p, np.arange(1, k_max + 1)))


def drift_velocity(e_kv_cm: float | np.ndarray) -> np.ndarray:
    """Electron drift velocity in cm/us, interpolated in log-log from the Magboltz table.

    Outside 0.55-10 kV/cm the end segments' power laws are extrapolated; the result is capped
    at 10 cm/us (reached only within a few wire radii, where drift time is negligible).

    Parameters
    ----------
    e_kv_cm : float or numpy.ndarray
        Electric field in kV/cm.

    Returns
    -------
    numpy.ndarray
        Drift velocity in cm/us.
    """
    le = np.log([e for e, _ in DRIFT_VELOCITY_TABLE])
    lv = np.log([v for _, v in DRIFT_VELOCITY_TABLE])
    x = np.log(np.asarray(e_kv_cm, dtype=np.float64))
    out = np.interp(x, le, lv)
    lo_slope = (lv[1] - lv[0]) / (le[1] - le[0])
    hi_slope = (lv[-1] - lv[-2]) / (le[-1] - le[-2])
    out = np.where(x < le[0], lv[0] + lo_slope * (x - le[0]), out)
    out = np.where(x > le[-1], lv[-1] + hi_slope * (x - le[-1]), out)
    return np.minimum(np.exp(out), 10.0)
