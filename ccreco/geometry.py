"""Track geometry shared by the simulator and the reconstruction (numpy only)."""

from __future__ import annotations

import numpy as np


def path_length_cm(chord: np.ndarray, angle_deg: float | np.ndarray) -> np.ndarray:
    """Path length in the gas of a track inclined by ``angle_deg`` to the transverse plane.

    A perpendicular track (0 degrees) crosses the chord; at angle theta the path is
    ``chord / cos(theta)`` (0.8 cm -> 1.13 cm at 45 degrees).

    Parameters
    ----------
    chord : numpy.ndarray
        Transverse chord lengths in cm.
    angle_deg : float or numpy.ndarray
        Angle between the track and the plane perpendicular to the wire, in degrees (one per
        chord, or one for all).

    Returns
    -------
    numpy.ndarray
        Path lengths in cm.
    """
    length: np.ndarray = np.asarray(chord) / np.cos(np.deg2rad(angle_deg))
    return length


__all__ = ["path_length_cm"]
