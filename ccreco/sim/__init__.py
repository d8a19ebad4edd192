"""Fast waveform simulator calibrated to the Garfield++ drift-tube study (docs/SIMULATION.md)."""

from __future__ import annotations

from ccreco.sim.config import PRESETS, SimConfig, build_sim_config
from ccreco.sim.generate import simulate, simulate_to_file
from ccreco.sim.particles import PARTICLES

__all__ = ["PARTICLES", "PRESETS", "SimConfig", "build_sim_config", "simulate", "simulate_to_file"]
