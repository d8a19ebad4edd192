"""Cluster-size models and delta-electron ranges for He 90 / iC4H10 10.

Three cluster-size models (``SimConfig.cluster_size_model``; docs/SIMULATION.md, "Ionization
models"):

``table``
    The Fischle et al. table as tabulated in key4hep (:func:`ccreco.sim.gas.cluster_size_pmf`),
    truncated at ``cluster_size_kmax``. The calibration of the ``tb2023-*`` presets.
``heed``
    A HEED-like family with continuous parameters: ``P(1) = p1`` and, for ``2 <= k <= k_max``,
    ``P(k) = (1 - p1) k^-a / sum_j j^-a`` (optionally a steeper ``k^-a_low`` for k <= 5, the
    resonance region of the energy-loss spectrum). Large clusters come from energetic delta electrons;
    their energy transfers follow the Rutherford ``1/E^2`` spectrum and a delta of energy E frees
    about ``E / W`` electrons, hence a power law with ``a = 2``. ``k_max`` is the size whose
    delta-electron range (:func:`electron_range_cm`) reaches the 0.4 cm tube radius (about 300
    electrons, 8 keV): larger deltas mostly leave the gas. ``p1`` is set so that the mean is
    the published Garfield++/HEED 1.528 electrons per cluster for this gas (PHYSICS.md, untuned
    sample): :data:`HEED_DEFAULT_P1`.
``file``
    A user table of ``k, P(k)`` read by :func:`read_cluster_size_file` (CSV or TOML).

The number of clusters per cm is the same for every model (:func:`ccreco.sim.gas.cluster_density`).
"""

from __future__ import annotations

import csv
import io
import math
import os
import tomllib
from functools import lru_cache
from pathlib import Path

import numpy as np

from ccreco.errors import ConfigError
from ccreco.sim.gas import cluster_size_pmf

#: Mean energy per ion pair in the mixture, eV: 1/W = sum_i f_i / W_i with f_i the share of the
#: energy loss (dE/dx He 0.32, iC4H10 5.93 keV/cm; W He 41.3, iC4H10 23 eV; F. Sauli, CERN
#: 77-09, table 1) -> 27 eV.
W_EV: float = 27.0
#: Gas density of He 90 / iC4H10 10 at 1 atm, 293 K (He 0.166, iC4H10 2.49 mg/cm^3), g/cm^3.
GAS_DENSITY_G_CM3: float = 0.9 * 0.166e-3 + 0.1 * 2.49e-3
#: Effective ``A / Z^0.889`` of the mixture for the Kanaya-Okayama range (stopping powers of
#: He, C and H added by mass fraction: He 0.375, C 0.518, H 0.107).
_KO_A_OVER_Z: float = 1.0 / (0.375 * 2**0.889 / 4.0 + 0.518 * 6**0.889 / 12.0 + 0.107 * 1.0)

#: Default HEED-like tail exponent (Rutherford 1/E^2 delta-electron spectrum).
HEED_DEFAULT_EXPONENT: float = 2.0
#: Largest cluster size of the low-k power law (about 5 W = 135 eV: the energy-loss spectrum's
#: resonance region, where atomic shells make it steeper than 1/E^2, ends there).
HEED_BREAK_K: int = 5
#: Default largest cluster of the HEED-like family (delta range = 0.4 cm tube radius).
HEED_DEFAULT_KMAX: int = 300
#: Published Garfield++ (HEED) mean electrons per cluster for this gas (PHYSICS.md, untuned).
HEED_REFERENCE_MEAN: float = 1.528


def electron_range_cm(energy_ev: float | np.ndarray) -> np.ndarray:
    """Practical range of an electron in the gas (Kanaya-Okayama range-energy relation).

    ``R = 0.0276 A E^1.67 / (Z^0.889 rho)`` um with E in keV and rho in g/cm^3 (K. Kanaya and
    S. Okayama, J. Phys. D 5 (1972) 43; valid from about 1 keV to 1 MeV, extrapolated below).
    For He 90 / iC4H10 10 this is 141 um at 1 keV, 2.1 mm at 5 keV, 6.6 mm at 10 keV.

    Parameters
    ----------
    energy_ev : float or numpy.ndarray
        Kinetic energy in eV.

    Returns
    -------
    numpy.ndarray
        Range in cm.
    """
    e_kev = np.asarray(energy_ev, dtype=np.float64) * 1e-3
    return 0.0276 * _KO_A_OVER_Z * np.power(np.maximum(e_kev, 0.0), 1.67) / GAS_DENSITY_G_CM3 * 1e-4


def cluster_range_cm(size: np.ndarray) -> np.ndarray:
    """Range of the delta electron that made a cluster of ``size`` electrons.

    The cluster's energy is ``(size - 1) * W`` above the first ionization (the first electron is
    the primary's); clusters of one electron have no spread.

    Parameters
    ----------
    size : numpy.ndarray
        Electrons per cluster.

    Returns
    -------
    numpy.ndarray
        Range in cm (0 for single electrons).
    """
    k = np.asarray(size, dtype=np.float64)
    return np.where(k > 1, electron_range_cm((k - 1) * W_EV), 0.0)


def heed_pmf(p1: float, exponent: float, k_max: int, low_exponent: float | None = None,
             break_k: int = HEED_BREAK_K) -> np.ndarray:
    """HEED-like cluster-size probabilities ``P(k)``, k = 1..k_max.

    ``P(1) = p1``; for k >= 2, P(k) is proportional to ``k^-low_exponent`` up to ``break_k`` and
    continues as ``k^-exponent`` beyond (continuous at ``break_k``). With ``low_exponent ==
    exponent`` (the default) it is one power law.

    Parameters
    ----------
    p1 : float
        Probability of a single-electron cluster, in (0, 1].
    exponent : float
        Power of the tail beyond ``break_k`` (2 for the Rutherford spectrum).
    k_max : int
        Largest cluster size (>= 1).
    low_exponent : float, optional
        Power for 2 <= k <= ``break_k`` (default: ``exponent``).
    break_k : int
        Where the two power laws meet.

    Returns
    -------
    numpy.ndarray
        ``pmf[k - 1] = P(k)``, summing to 1.
    """
    a_low = exponent if low_exponent is None else low_exponent
    p = np.zeros(k_max, dtype=np.float64)
    p[0] = p1
    if k_max >= 2:
        k = np.arange(2, k_max + 1, dtype=np.float64)
        tail = np.where(k <= break_k, k ** (-a_low), float(break_k) ** (-a_low) * (k / break_k) ** (-exponent))
        p[1:] = (1.0 - p1) * tail / tail.sum()
    pmf: np.ndarray = p / p.sum()
    return pmf


def heed_p1_for_mean(mean: float, exponent: float = HEED_DEFAULT_EXPONENT, k_max: int = HEED_DEFAULT_KMAX) -> float:
    """The ``p1`` of :func:`heed_pmf` that gives a mean cluster size ``mean``.

    Parameters
    ----------
    mean : float
        Target mean electrons per cluster (> 1).
    exponent, k_max : float, int
        Tail exponent and largest size.

    Returns
    -------
    float
        P(1).
    """
    k = np.arange(2, k_max + 1, dtype=np.float64)
    w = k ** (-exponent)
    tail_mean = float((k * w).sum() / w.sum())
    return 1.0 - (mean - 1.0) / (tail_mean - 1.0)


def heed_exponent_for_mean(p1: float, mean: float, k_max: int = HEED_DEFAULT_KMAX) -> float:
    """The tail exponent of :func:`heed_pmf` that gives mean ``mean`` at a fixed ``p1``.

    Used to start a tuning from the ``table`` model: the HEED-like member with the table's P(1)
    and mean.

    Parameters
    ----------
    p1 : float
        P(1).
    mean : float
        Target mean.
    k_max : int
        Largest size.

    Returns
    -------
    float
        Exponent (bisection in [0.5, 8]).
    """
    lo, hi = 0.5, 8.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        m = float(np.dot(heed_pmf(p1, mid, k_max), np.arange(1, k_max + 1)))
        lo, hi = (mid, hi) if m > mean else (lo, mid)
    return 0.5 * (lo + hi)


#: Default P(1) of the HEED-like family (mean 1.528 with exponent 2 and k_max 300): 0.927.
HEED_DEFAULT_P1: float = round(heed_p1_for_mean(HEED_REFERENCE_MEAN), 4)


def _is_number(x: object) -> bool:
    try:
        float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


@lru_cache(maxsize=16)
def _read_table(path: str, mtime: float) -> tuple[tuple[int, ...], tuple[float, ...]]:
    text = Path(path).read_text()
    ks: list[int] = []
    ps: list[float] = []
    if path.lower().endswith(".toml"):
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"cluster-size table: {exc}", file=path) from exc
        if "k" not in data or "p" not in data:
            raise ConfigError("cluster-size table (TOML) needs arrays 'k' and 'p'", file=path)
        if len(data["k"]) != len(data["p"]):
            raise ConfigError(f"cluster-size table: 'k' has {len(data['k'])} entries, 'p' {len(data['p'])}", file=path)
        raw = list(zip(data["k"], data["p"], strict=True))
        rows = [(i + 1, r) for i, r in enumerate(raw)]
    else:
        rows = []
        for lineno, rec in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not rec or not "".join(rec).strip() or rec[0].strip().startswith("#"):
                continue
            if len(rec) < 2:
                raise ConfigError(f"cluster-size table line {lineno}: expected 'k, P(k)', got {','.join(rec)!r}",
                                  file=path)
            rows.append((lineno, (rec[0].strip(), rec[1].strip())))
    for lineno, (k_raw, p_raw) in rows:
        try:
            k_val, p_val = float(k_raw), float(p_raw)
        except (TypeError, ValueError):
            header = not ks and lineno == rows[0][0] and not path.lower().endswith(".toml")
            if header and not _is_number(k_raw) and not _is_number(p_raw):
                continue  # a header line such as "k,p"
            raise ConfigError(f"cluster-size table entry {lineno}: not numbers: {k_raw!r}, {p_raw!r}",
                              file=path) from None
        if k_val != int(k_val) or k_val < 1:
            raise ConfigError(f"cluster-size table entry {lineno}: k = {k_raw} is not an integer >= 1", file=path)
        if not math.isfinite(p_val) or p_val < 0:
            raise ConfigError(f"cluster-size table entry {lineno}: P = {p_raw} must be finite and >= 0", file=path)
        if int(k_val) in ks:
            raise ConfigError(f"cluster-size table entry {lineno}: k = {int(k_val)} repeated", file=path)
        ks.append(int(k_val))
        ps.append(p_val)
    if not ks or sum(ps) <= 0:
        raise ConfigError("cluster-size table has no entry with P > 0", file=path)
    if max(ks) > 100_000:
        raise ConfigError(f"cluster-size table: k up to {max(ks)} (limit 100000)", file=path)
    return tuple(ks), tuple(ps)


def read_cluster_size_file(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a user cluster-size table and return ``P(k)`` for k = 1..max(k), normalized.

    Formats: CSV with rows ``k, P(k)`` (an optional header line and ``#`` comments are
    skipped), or TOML with arrays ``k = [...]`` and ``p = [...]``. Sizes not listed get P = 0;
    the probabilities are renormalized to sum to 1 (per cent or counts are fine).

    Parameters
    ----------
    path : str or os.PathLike
        The table.

    Returns
    -------
    numpy.ndarray
        ``pmf[k - 1] = P(k)``.

    Raises
    ------
    ConfigError
        Unreadable file, non-numeric entry, k not a positive integer, repeated k, negative or
        non-finite P, or nothing with P > 0; the message names the file and the entry.
    """
    p = Path(path)
    try:
        mtime = p.stat().st_mtime
    except OSError as exc:
        raise ConfigError(f"cannot read cluster-size table: {exc.strerror}", file=str(path)) from exc
    ks, ps = _read_table(str(p), mtime)
    out = np.zeros(max(ks), dtype=np.float64)
    out[np.asarray(ks) - 1] = ps
    pmf: np.ndarray = out / out.sum()
    return pmf


def size_pmf(model: str, *, kmax: int, p1: float, exponent: float, heed_kmax: int, file: str,
             low_exponent: float | None = None) -> np.ndarray:
    """The cluster-size distribution of a model (see the module docstring).

    Parameters
    ----------
    model : {"table", "heed", "file"}
        Which model.
    kmax : int
        Truncation of the ``table`` model.
    p1, exponent, heed_kmax : float, float, int
        Parameters of the ``heed`` model.
    low_exponent : float, optional
        Low-k exponent of the ``heed`` model (default: ``exponent``).
    file : str
        Table of the ``file`` model.

    Returns
    -------
    numpy.ndarray
        ``pmf[k - 1] = P(k)``.
    """
    if model == "table":
        return cluster_size_pmf(kmax)
    if model == "heed":
        return heed_pmf(p1, exponent, heed_kmax, low_exponent)
    if model == "file":
        return read_cluster_size_file(file)
    raise ConfigError(f"unknown cluster_size_model {model!r}; known: table, heed, file")


__all__ = [
    "GAS_DENSITY_G_CM3",
    "HEED_BREAK_K",
    "HEED_DEFAULT_EXPONENT",
    "HEED_DEFAULT_KMAX",
    "HEED_DEFAULT_P1",
    "HEED_REFERENCE_MEAN",
    "W_EV",
    "cluster_range_cm",
    "electron_range_cm",
    "heed_exponent_for_mean",
    "heed_p1_for_mean",
    "heed_pmf",
    "read_cluster_size_file",
    "size_pmf",
]
