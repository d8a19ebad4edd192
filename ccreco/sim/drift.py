"""Drift of ionization electrons to the anode: x(t) relation and longitudinal diffusion."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ccreco.sim.gas import drift_velocity


def field_kv_cm(r_cm: np.ndarray, voltage_v: float, wire_radius_cm: float, outer_cm: float) -> np.ndarray:
    """Radial field of a coaxial tube, E(r) = V / (r ln(b/a)), in kV/cm.

    Parameters
    ----------
    r_cm : numpy.ndarray
        Distance to the wire axis in cm.
    voltage_v : float
        Anode voltage in V.
    wire_radius_cm : float
        Wire radius a in cm.
    outer_cm : float
        Cathode radius b in cm (for a square cell, half its side: the inscribed circle).

    Returns
    -------
    numpy.ndarray
        Field in kV/cm.
    """
    field: np.ndarray = voltage_v * 1e-3 / (np.asarray(r_cm) * np.log(outer_cm / wire_radius_cm))
    return field


@dataclass(frozen=True)
class DriftTable:
    """Drift time and its longitudinal-diffusion spread as functions of the start radius.

    ``t(r) = int_a^r dr / v(E(r))`` and ``sigma_t(r)^2 = int_a^r D_L^2 / v(E(r))^2 dr``
    (diffusion accumulated along the path, converted to time by the local velocity), tabulated
    on a grid and interpolated linearly.

    Attributes
    ----------
    r_cm, t_ns, sigma_ns : numpy.ndarray
        Grid of radii and the drift time / time spread at each.
    """

    r_cm: np.ndarray
    t_ns: np.ndarray
    sigma_ns: np.ndarray

    @classmethod
    def build(
        cls,
        *,
        voltage_v: float,
        wire_radius_cm: float,
        outer_cm: float,
        r_max_cm: float,
        diffusion_l_um_sqrt_cm: float,
        n_grid: int = 4000,
    ) -> DriftTable:
        """Integrate the drift on a grid that is logarithmic near the wire.

        Parameters
        ----------
        voltage_v, wire_radius_cm, outer_cm : float
            Anode voltage, wire radius and cathode radius (see :func:`field_kv_cm`).
        r_max_cm : float
            Largest start radius needed (the corner of a square cell lies beyond ``outer_cm``;
            the coaxial field is extended there).
        diffusion_l_um_sqrt_cm : float
            Longitudinal diffusion coefficient in um/sqrt(cm).
        n_grid : int
            Grid points.

        Returns
        -------
        DriftTable
            The tabulated relation.
        """
        r = np.geomspace(wire_radius_cm, r_max_cm, n_grid)
        v_cm_ns = drift_velocity(field_kv_cm(r, voltage_v, wire_radius_cm, outer_cm)) * 1e-3
        inv_v = 1.0 / v_cm_ns
        dr = np.diff(r)
        t = np.concatenate([[0.0], np.cumsum(0.5 * (inv_v[1:] + inv_v[:-1]) * dr)])
        d2 = (diffusion_l_um_sqrt_cm * 1e-4) ** 2  # cm^2 per cm of drift
        var = np.concatenate([[0.0], np.cumsum(0.5 * d2 * (inv_v[1:] ** 2 + inv_v[:-1] ** 2) * dr)])
        return cls(r_cm=r, t_ns=t, sigma_ns=np.sqrt(var))

    def time_ns(self, r_cm: np.ndarray) -> np.ndarray:
        """Mean drift time in ns from radius ``r_cm`` (clamped to the grid)."""
        t: np.ndarray = np.interp(r_cm, self.r_cm, self.t_ns)
        return t

    def spread_ns(self, r_cm: np.ndarray) -> np.ndarray:
        """Longitudinal-diffusion time spread (1 sigma) in ns from radius ``r_cm``."""
        sigma: np.ndarray = np.interp(r_cm, self.r_cm, self.sigma_ns)
        return sigma

    @property
    def max_time_ns(self) -> float:
        """Drift time from the largest tabulated radius."""
        return float(self.t_ns[-1])
