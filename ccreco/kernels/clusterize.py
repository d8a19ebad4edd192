"""Clusterization of peak times by time proximity (PHYSICS.md "Algorithms").

Peaks of a waveform, in time order: the first opens a cluster; peak ``k`` joins the current
cluster when ``t_k - t_{k-1} <= c * sqrt(t_k - t0)`` (ns), else it opens a new one. ``t0`` is the
waveform's first peak (the drift-time origin, default) or a fixed ``t0_ns``; negative
``t_k - t0`` count as 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ccreco.errors import ConfigError
from ccreco.kernels._jit import jit
from ccreco.kernels._util import as_offsets


@dataclass(frozen=True)
class ClusterizeConfig:
    """Time-proximity clusterization.

    Attributes
    ----------
    c : float
        Proximity constant in sqrt(ns) (PHYSICS.md: 0.20-0.26 for He/iC4H10 90/10). Default: the
        best cluster-count RMS for the default DERIV peaks on tb2023-untuned simulation with ``t0`` the
        first peak (docs/ALGORITHMS.md); larger than PHYSICS.md's range, whose time origin differs.
    t0_ns : float or None
        Time origin of ``sqrt(t)``; ``None``: each waveform's first peak.
    """

    c: float = 0.35
    t0_ns: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.c, bool) or not isinstance(self.c, (int, float, np.floating, np.integer)) \
                or not (np.isfinite(self.c) and self.c >= 0):
            raise ConfigError(f"c must be a finite number >= 0, got {self.c!r}")
        if self.t0_ns is not None and not np.isfinite(self.t0_ns):
            raise ConfigError(f"t0_ns must be None or finite, got {self.t0_ns!r}")
        from ccreco.config import coerce_fields

        coerce_fields(self)  # one converter for keyword arguments and ``--set`` strings


@jit
def _clusterize(times: np.ndarray, offsets: np.ndarray, c: float, use_first: bool, t0: float
                ) -> tuple[np.ndarray, np.ndarray]:
    n = offsets.size - 1
    cluster = np.empty(times.size, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    for w in range(n):
        a, b = offsets[w], offsets[w + 1]
        if a == b:
            continue
        origin = times[a] if use_first else t0
        k = 0
        cluster[a] = 0
        for p in range(a + 1, b):
            t = times[p] - origin
            if t < 0.0:
                t = 0.0
            if not (times[p] - times[p - 1] <= c * np.sqrt(t)):
                k += 1
            cluster[p] = k
        counts[w] = k + 1
    return cluster, counts


def clusterize(
    times_ns: np.ndarray,
    offsets: np.ndarray,
    cfg: ClusterizeConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Group peak times into clusters and count them per waveform.

    Parameters
    ----------
    times_ns : numpy.ndarray
        Peak times in ns, flat over waveforms, sorted within each waveform.
    offsets : numpy.ndarray
        int64 ``(n + 1,)``.
    cfg : ClusterizeConfig, optional
        Proximity constant and time origin.

    Returns
    -------
    cluster_id : numpy.ndarray
        int64, per peak: its cluster's number within the waveform (0, 1, ...).
    n_clusters : numpy.ndarray
        int64 ``(n,)``.
    """
    cfg = ClusterizeConfig() if cfg is None else cfg
    t = np.ascontiguousarray(times_ns, dtype=np.float64).reshape(-1)
    off = as_offsets(offsets, None, t.size)
    if t.size > 1:
        first = np.zeros(t.size, dtype=bool)
        first[off[:-1][off[:-1] < t.size]] = True
        if np.any((np.diff(t) < 0) & ~first[1:]):
            raise ValueError("times_ns must be sorted within each waveform")
    t0 = cfg.t0_ns
    return _clusterize(t, off, float(cfg.c), t0 is None, 0.0 if t0 is None else float(t0))


__all__ = ["ClusterizeConfig", "clusterize"]
