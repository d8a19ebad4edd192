"""The single-electron signal-to-noise ratio of a simulator configuration, and scaling to a target.

``S/N = single_electron_mv / total_noise_mv`` where the total noise RMS is the white and the
coloured noise added in quadrature. Used by the S/N scan (``benchmarks/sn_scan.py``) and by
anyone who wants simulated data at a given S/N.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ccreco.sim.config import SimConfig


def total_noise_mv(cfg: SimConfig) -> float:
    """Total noise RMS of a configuration (white and coloured in quadrature).

    Parameters
    ----------
    cfg : SimConfig
        Simulator configuration.

    Returns
    -------
    float
        ``sqrt(noise_mv**2 + coloured_noise_mv**2)`` in mV.
    """
    return math.hypot(cfg.noise_mv, cfg.coloured_noise_mv)


def single_electron_snr(cfg: SimConfig) -> float:
    """Single-electron S/N: ``single_electron_mv / total_noise_mv(cfg)``.

    Parameters
    ----------
    cfg : SimConfig
        Simulator configuration.

    Returns
    -------
    float
        The ratio (``inf`` without noise).
    """
    noise = total_noise_mv(cfg)
    return cfg.single_electron_mv / noise if noise > 0 else math.inf


def config_at_snr(snr: float, preset: str = "tb2023-untuned", overrides: Mapping[str, str] | None = None
                  ) -> SimConfig:
    """The preset with both noise terms scaled so that the single-electron S/N is ``snr``.

    Parameters
    ----------
    snr : float
        ``single_electron_mv / total_noise_mv`` wanted (> 0).
    preset : str
        Simulator preset.
    overrides : mapping of str to str, optional
        Other ``--set`` values applied first (e.g. ``density_scale`` for a low-overlap control).

    Returns
    -------
    SimConfig
        The scaled configuration (through ``with_strings``, i.e. ``--set noise_mv=...``), the
        ratio of white to coloured noise kept.
    """
    from ccreco.errors import ConfigError

    if not (math.isfinite(snr) and snr > 0):
        raise ConfigError(f"snr must be a finite number > 0, got {snr!r}")
    base = SimConfig.from_preset(preset)
    if overrides:
        base = base.with_strings(dict(overrides))
    k = base.single_electron_mv / total_noise_mv(base) / snr
    return base.with_strings({"noise_mv": repr(base.noise_mv * k),
                              "coloured_noise_mv": repr(base.coloured_noise_mv * k)})


__all__ = ["config_at_snr", "single_electron_snr", "total_noise_mv"]
