"""Checks around a simulator tuning: parameters without effect, at a bound, and the geometry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ccreco.analysis.features import Features
from ccreco.analysis.tune_statistics import _quantile_err
from ccreco.errors import ConfigError

#: A parameter within this fraction of its range from a bound is reported as "at the bound".
BOUND_TOLERANCE: float = 0.01

#: Parameters that only act in one pulse or cluster-size model: field -> (config field, models).
_MODEL_ONLY: dict[str, tuple[str, tuple[str, ...]]] = {
    "pulse_rise_ns": ("pulse_model", ("biexp",)),
    "pulse_fall_ns": ("pulse_model", ("biexp",)),
    "ion_tail_fraction": ("pulse_model", ("biexp",)),
    "ion_tail_t0_ns": ("pulse_model", ("biexp",)),
    "pulse_ion_tau_ns": ("pulse_model", ("iontail",)),
    "pulse_ion_t0_ns": ("pulse_model", ("iontail",)),
    "pulse_shaper_tau_ns": ("pulse_model", ("iontail",)),
    "pulse_ac_coupling_ns": ("pulse_model", ("iontail",)),
    "bandwidth_mhz": ("pulse_model", ("biexp", "iontail")),
    "cluster_p1": ("cluster_size_model", ("heed", "table")),
    "cluster_tail_exponent": ("cluster_size_model", ("heed", "table")),
    "cluster_low_exponent": ("cluster_size_model", ("heed", "table")),
}


def check_active(config: Any, names: Sequence[str]) -> None:
    """Refuse parameters that have no effect in the start configuration's models.

    Parameters
    ----------
    config : SimConfig
        Start configuration.
    names : sequence of str
        Parameters to tune.

    Raises
    ------
    ConfigError
        E.g. ``pulse_rise_ns`` with ``pulse_model = "iontail"`` (its statistics would not move,
        and the parameter would wander to a bound), or ``cluster_p1`` with a ``file`` table.
    """
    for name in names:
        if name in _MODEL_ONLY:
            field_name, models = _MODEL_ONLY[name]
            if getattr(config, field_name) not in models:
                raise ConfigError(f"cannot tune {name!r}: it has no effect with {field_name} = "
                                  f"{getattr(config, field_name)!r} (it acts with {', '.join(models)})")


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


__all__ = ["BOUND_TOLERANCE", "bound_warnings", "check_active", "geometry_check", "peak_time_endpoint"]
