"""Fast waveform simulator calibrated to the Garfield++ drift-tube study (docs/SIMULATION.md)."""

from __future__ import annotations

from ccreco.sim.config import PRESETS, SimConfig
from ccreco.sim.generate import simulate, simulate_to_file
from ccreco.sim.particles import PARTICLES

__all__ = ["PARTICLES", "PRESETS", "SimConfig", "simulate", "simulate_to_file"]
