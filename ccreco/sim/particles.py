"""Beam particles and track geometry through one drift cell."""

from __future__ import annotations

import numpy as np

from ccreco.geometry import path_length_cm  # the one definition, shared with ccreco.reco

#: Particle species: short name -> (mass in GeV/c^2, PDG id of the negative/positive beam particle).
#: Masses from the PDG 2024 review.
PARTICLES: dict[str, tuple[float, int]] = {
    "e": (0.51099895e-3, 11),
    "mu": (0.1056583755, 13),
    "pi": (0.13957039, 211),
    "K": (0.493677, 321),
    "p": (0.93827208816, 2212),
}


def beta_gamma(species: str, momentum_gev: float | np.ndarray) -> np.ndarray:
    """Return beta*gamma = p / m of a particle.

    Parameters
    ----------
    species : str
        A key of :data:`PARTICLES`.
    momentum_gev : float or numpy.ndarray
        Momentum in GeV/c.

    Returns
    -------
    numpy.ndarray
        beta*gamma, same shape as ``momentum_gev``.
    """
    return np.asarray(momentum_gev, dtype=np.float64) / PARTICLES[species][0]


def chord_cm(shape: str, size_cm: float, impact_cm: np.ndarray) -> np.ndarray:
    """Length of a track's projection onto the plane transverse to the wire, inside the cell.

    The track runs along x at distance ``impact_cm`` from the wire (y offset). A square cell
    of side ``size_cm`` gives ``size_cm`` for every ``|impact| < size/2``; a round tube of
    diameter ``size_cm`` (radius R) gives ``2 sqrt(R^2 - d^2)``.

    Parameters
    ----------
    shape : {"square", "tube"}
        Cell shape.
    size_cm : float
        Side of the square cell, or inner diameter of the tube, in cm.
    impact_cm : numpy.ndarray
        Impact parameters in cm.

    Returns
    -------
    numpy.ndarray
        Chord lengths in cm (0 where the track misses the cell).
    """
    d = np.abs(np.asarray(impact_cm, dtype=np.float64))
    if shape == "square":
        return np.where(d < size_cm / 2, size_cm, 0.0)
    return 2.0 * np.sqrt(np.clip((size_cm / 2) ** 2 - d**2, 0.0, None))


__all__ = ["PARTICLES", "beta_gamma", "chord_cm", "path_length_cm"]
