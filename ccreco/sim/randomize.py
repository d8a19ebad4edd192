"""Domain-randomized simulation: a training sample that spans what real runs vary.

The sample is made of blocks of :attr:`RandomizeConfig.block` waveforms; each block gets its own
:class:`~ccreco.sim.config.SimConfig`, drawn from the ranges of a :class:`RandomizeConfig`:

- beam: every event picks one of ``species`` and one of ``momenta_per_block`` momenta drawn
  log-uniformly in ``momentum_gev`` (so the cluster density spans pi/K/p/mu at 1-20 GeV/c);
- geometry: a square cell (path length ``size / cos(angle)``) or, with probability
  ``tube_fraction``, a round tube with the impact parameter uniform up to ``tube_impact_max``
  of the radius (chords from almost 0 to the diameter); the angle uniform in ``angle_deg``;
- ionization: one of ``ionization`` (named sets of SimConfig overrides; by default the
  ``table`` cluster-size model and the HEED-like ``heed`` model with delta-electron spread),
  with that model's parameters drawn from ``ionization_ranges``; ``cluster_size_kmax`` and
  ``density_scale`` uniform;
- electronics: single-electron amplitude scaled by ``gain_scale`` (+-15 %), white noise
  ``noise_mv``, one of ``pulse_models``, pulse rise/fall times and ion-tail fraction uniform in
  their ranges; optionally (off by default) the anode voltage, the front-end bandwidth (or
  none) and the coloured noise.

Everything is drawn from ``numpy.random.SeedSequence(seed)``: block ``b`` uses the stream
``spawn_key=(b,)`` for its configuration and simulator seed, so the file depends only on
``(RandomizeConfig, seed, n)``. ``ccreco simulate --randomize`` is the command line
(:func:`build_randomize_config`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ccreco.errors import ConfigError
from ccreco.io import NtupleWriter, WaveformChunk
from ccreco.sim.clusters import HEED_DEFAULT_P1
from ccreco.sim.config import SimConfig
from ccreco.sim.generate import simulate


def _pair(name: str, value: tuple[float, float], lo: float = -math.inf) -> tuple[float, float]:
    a, b = (float(v) for v in value)
    if not lo <= a <= b:
        raise ConfigError(f"RandomizeConfig.{name} = {value!r}: need {lo} <= low <= high")
    return (a, b)


@dataclass(frozen=True)
class RandomizeConfig:
    """Ranges of the domain randomization (see the module docstring).

    Attributes
    ----------
    base : str
        Simulator preset the blocks start from.
    block : int
        Waveforms per block (one configuration each).
    species : tuple of str
        Particles mixed within every block.
    momentum_gev : (float, float)
        Log-uniform momentum range.
    momenta_per_block : int
        Momenta drawn per block (each event picks one).
    angle_deg : (float, float)
        Uniform track angle range.
    tube_fraction : float
        Probability that a block is a round tube instead of the base's square cell.
    tube_impact_max : float
        Largest impact parameter in a tube, as a fraction of the radius.
    gain_scale : (float, float)
        Factor on the single-electron amplitude.
    noise_mv : (float, float)
        White-noise RMS range.
    pulse_rise_ns, pulse_fall_ns, ion_tail_fraction : (float, float)
        Pulse-shape ranges.
    cluster_size_kmax : (int, int)
        Inclusive range of the cluster-size truncation.
    anode_voltage_v : (float, float) or None
        Anode voltage range (drift velocity and x(t) relation); ``None``: the base preset's.
    bandwidth_mhz : (float, float) or None
        Front-end bandwidth range, with probability ``no_filter_fraction`` no low pass at all;
        ``None``: the base preset's.
    no_filter_fraction : float
        Probability of a block without front-end low pass (with ``bandwidth_mhz`` set).
    coloured_noise_mv : (float, float) or None
        Coloured-noise RMS range; ``None``: the base preset's.

    Notes
    -----
    The three optional ranges are off by default: with them (1200-1450 V, 250-600 MHz or none
    in a quarter of the blocks, 0-0.7 mV) a per-peak model trained on 8,000 waveforms had
    +8.5 % bias on tb2023-untuned instead of -1.7 % without them (docs/MODELS.md): the learned
    rate follows the training mix of pulse shapes.
    density_scale : (float, float)
        Factor on the cluster density.
    ionization : dict of str to dict
        Named SimConfig overrides, one picked uniformly per block: by default the simulator's
        ``table`` cluster-size model and the HEED-like model (``cluster_size_model="heed"`` with
        delta-electron spread).
    ionization_ranges : dict of str to dict
        Per ionization name, SimConfig fields drawn uniformly in ``(low, high)`` for that model
        (default: the HEED-like one-electron probability within +-10 % of its default and the
        tail exponent in 1.8-2.4).
    pulse_models : tuple of str
        Simulator pulse models, one picked uniformly per block.
    """

    base: str = "tb2023-untuned"
    block: int = 64
    species: tuple[str, ...] = ("pi", "K", "p", "mu")
    momentum_gev: tuple[float, float] = (1.0, 20.0)
    momenta_per_block: int = 4
    angle_deg: tuple[float, float] = (0.0, 60.0)
    tube_fraction: float = 0.4
    tube_impact_max: float = 0.995
    gain_scale: tuple[float, float] = (0.85, 1.15)
    noise_mv: tuple[float, float] = (1.0, 2.0)
    pulse_rise_ns: tuple[float, float] = (0.7, 1.5)
    pulse_fall_ns: tuple[float, float] = (3.5, 7.0)
    ion_tail_fraction: tuple[float, float] = (0.05, 0.15)
    cluster_size_kmax: tuple[int, int] = (10, 20)
    density_scale: tuple[float, float] = (0.9, 1.1)
    anode_voltage_v: tuple[float, float] | None = None
    bandwidth_mhz: tuple[float, float] | None = None
    no_filter_fraction: float = 0.0
    coloured_noise_mv: tuple[float, float] | None = None
    ionization: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: {
        "table": {}, "heed": {"cluster_size_model": "heed", "delta_electron_spread": True}})
    ionization_ranges: Mapping[str, Mapping[str, tuple[float, float]]] = field(default_factory=lambda: {
        "heed": {"cluster_p1": (0.9 * HEED_DEFAULT_P1, min(1.0, 1.1 * HEED_DEFAULT_P1)),
                 "cluster_tail_exponent": (1.8, 2.4)}})
    pulse_models: tuple[str, ...] = ("biexp", "iontail")

    def __post_init__(self) -> None:
        if self.block < 1 or self.momenta_per_block < 1:
            raise ConfigError("RandomizeConfig.block and momenta_per_block must be >= 1")
        object.__setattr__(self, "species", tuple(self.species))
        for name, lo in (("momentum_gev", 1e-6), ("angle_deg", 0.0), ("gain_scale", 1e-6), ("noise_mv", 0.0),
                         ("pulse_rise_ns", 1e-6), ("pulse_fall_ns", 1e-6), ("ion_tail_fraction", 0.0),
                         ("density_scale", 1e-6)):
            object.__setattr__(self, name, _pair(name, getattr(self, name), lo))
        for name, lo in (("anode_voltage_v", 1e-6), ("bandwidth_mhz", 1e-6), ("coloured_noise_mv", 0.0)):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _pair(name, getattr(self, name), lo))
        k = tuple(int(v) for v in self.cluster_size_kmax)
        if len(k) != 2 or not 1 <= k[0] <= k[1]:
            raise ConfigError(f"RandomizeConfig.cluster_size_kmax = {self.cluster_size_kmax!r}: need 1 <= low <= high")
        object.__setattr__(self, "cluster_size_kmax", k)
        if self.angle_deg[1] >= 89:
            raise ConfigError("RandomizeConfig.angle_deg must stay below 89 degrees")
        if not 0.0 <= self.no_filter_fraction <= 1.0:
            raise ConfigError("RandomizeConfig.no_filter_fraction must be in [0, 1]")
        if not 0.0 <= self.tube_fraction <= 1.0 or not 0.0 < self.tube_impact_max < 1.0:
            raise ConfigError("RandomizeConfig.tube_fraction must be in [0, 1] and tube_impact_max in (0, 1)")
        if not self.ionization:
            raise ConfigError("RandomizeConfig.ionization needs at least one entry ({'default': {}})")
        object.__setattr__(self, "ionization", {str(k): dict(v) for k, v in self.ionization.items()})
        unknown = sorted(set(self.ionization_ranges) - set(self.ionization))
        if unknown:
            raise ConfigError(f"RandomizeConfig.ionization_ranges names unknown ionization models {unknown}")
        object.__setattr__(self, "ionization_ranges", {
            str(k): {f: _pair(f"ionization_ranges[{k!r}].{f}", r) for f, r in v.items()}
            for k, v in self.ionization_ranges.items()})
        object.__setattr__(self, "pulse_models", tuple(self.pulse_models))
        if not self.pulse_models:
            raise ConfigError("RandomizeConfig.pulse_models needs at least one model")
        # every combination must make a valid SimConfig: check the extremes once, now
        for name in self.ionization:
            for corner in (0.0, 1.0):
                self._config(np.random.default_rng(0), name, corner)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able copy (stored in the output file's metadata)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

    def to_toml(self, path: str | os.PathLike[str] | None = None) -> str:
        """Serialize every field as TOML, readable by :func:`build_randomize_config`.

        Parameters
        ----------
        path : path-like, optional
            File to write.

        Returns
        -------
        str
            The TOML text: the scalar and range fields, then ``[ionization.NAME]`` and
            ``[ionization_ranges.NAME]`` tables.
        """
        d = self.to_dict()
        lines = ["# ccreco simulate --randomize configuration (RandomizeConfig)"]
        for key, value in d.items():
            if key not in ("ionization", "ionization_ranges") and value is not None:
                lines.append(f"{key} = {json.dumps(value)}")  # JSON scalars/arrays are valid TOML here
        for table in ("ionization", "ionization_ranges"):
            for name, fields in d[table].items():
                lines.append(f"\n[{table}.{json.dumps(name)}]")
                lines.extend(f"{k} = {json.dumps(list(v) if isinstance(v, tuple) else v)}" for k, v in fields.items())
        text = "\n".join(lines) + "\n"
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text)
        return text

    def _config(self, rng: np.random.Generator, ionization: str, corner: float | None = None) -> SimConfig:
        def u(lo_hi: tuple[float, float]) -> float:
            lo, hi = lo_hi
            return lo + (hi - lo) * (rng.random() if corner is None else corner)

        base = SimConfig.from_preset(self.base)
        lo, hi = (math.log(v) for v in self.momentum_gev)
        if corner is None:
            momenta = tuple(float(round(math.exp(rng.uniform(lo, hi)), 4)) for _ in range(self.momenta_per_block))
        else:
            momenta = (float(self.momentum_gev[int(corner)]),)
        tube = (rng.random() < self.tube_fraction) if corner is None else bool(corner)
        geometry: dict[str, Any] = {"cell_shape": "square"}
        if tube:
            radius = base.cell_size_cm / 2
            geometry = {"cell_shape": "tube", "impact_min_cm": 0.0, "impact_max_cm": self.tube_impact_max * radius}
        kmax = int(rng.integers(self.cluster_size_kmax[0], self.cluster_size_kmax[1] + 1)) if corner is None \
            else self.cluster_size_kmax[int(corner)]
        overrides = dict(
            name=f"randomized:{ionization}",
            species=self.species,
            momenta_gev=momenta,
            angle_deg=u(self.angle_deg),
            single_electron_mv=base.single_electron_mv * u(self.gain_scale),
            noise_mv=u(self.noise_mv),
            pulse_rise_ns=u(self.pulse_rise_ns),
            pulse_fall_ns=u(self.pulse_fall_ns),
            ion_tail_fraction=u(self.ion_tail_fraction),
            cluster_size_kmax=kmax,
            density_scale=u(self.density_scale),
            **geometry,
        )
        # optional ranges: drawn only when set, so that the default stream stays reproducible
        if self.anode_voltage_v is not None:
            overrides["anode_voltage_v"] = u(self.anode_voltage_v)
        if self.bandwidth_mhz is not None:
            off = rng.random() < self.no_filter_fraction if corner is None else corner == 1.0
            overrides["bandwidth_mhz"] = 0.0 if off else u(self.bandwidth_mhz)
        if self.coloured_noise_mv is not None:
            overrides["coloured_noise_mv"] = u(self.coloured_noise_mv)
        overrides.update(self.ionization[ionization])
        for name, lo_hi in self.ionization_ranges.get(ionization, {}).items():
            overrides[name] = u(lo_hi)
        pulse = self.pulse_models[int(rng.integers(len(self.pulse_models)))] if corner is None \
            else self.pulse_models[-1 if corner else 0]
        overrides["pulse_model"] = pulse
        try:
            return base.replace(**overrides)
        except (ConfigError, TypeError) as exc:
            raise ConfigError(f"randomized configuration (ionization {ionization!r}) is invalid: {exc}") from exc


def parse_ionization(specs: list[str] | tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Named ionization models from ``NAME=FIELD:VALUE,...`` strings (``--ionization``).

    Parameters
    ----------
    specs : sequence of str
        E.g. ``["table=", "heed=cluster_size_model:heed,delta_electron_spread:true"]``; an empty
        right-hand side keeps the base preset's ionization.

    Returns
    -------
    dict
        Name to converted :class:`~ccreco.sim.config.SimConfig` overrides.

    Raises
    ------
    ConfigError
        A spec without ``=``, a repeated name, or a field or value that SimConfig does not take.
    """
    from ccreco.config import convert_fields

    models: dict[str, dict[str, Any]] = {}
    for spec in specs:
        name, sep, rest = spec.partition("=")
        name = name.strip()
        if not sep or not name or name in models:
            raise ConfigError(f"--ionization {spec!r}: expected NAME=FIELD:VALUE,... with a new NAME")
        raw = {}
        for item in (x for x in rest.split(",") if x.strip()):
            key, colon, value = item.partition(":")
            if not colon:
                raise ConfigError(f"--ionization {spec!r}: {item!r} is not FIELD:VALUE")
            raw[key.strip()] = value.strip()
        models[name] = convert_fields(SimConfig, raw, what="SimConfig")
    return models


def build_randomize_config(
    base: str | None = None,
    config_file: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, str] | None = None,
    ionization: list[str] | tuple[str, ...] = (),
) -> RandomizeConfig:
    """A RandomizeConfig from a base preset, a TOML file, ``--set`` strings and ``--ionization``.

    The one way the command line builds it (``ccreco simulate --randomize``); later sources win.

    Parameters
    ----------
    base : str, optional
        Simulator preset the blocks start from (:attr:`RandomizeConfig.base`).
    config_file : path-like, optional
        TOML with RandomizeConfig fields (:meth:`RandomizeConfig.to_toml` writes one); the
        ionization models as ``[ionization.NAME]`` tables.
    overrides : mapping of str to str, optional
        ``--set key=value`` strings (ranges as ``low,high``).
    ionization : sequence of str
        :func:`parse_ionization` specs; they replace the ionization models, and the parameter
        ranges stay only for the models still named.

    Returns
    -------
    RandomizeConfig
        The validated configuration.

    Raises
    ------
    ConfigError
        An unknown field (closest names listed), a value that does not convert or validate.
    """
    import tomllib

    from ccreco.config import convert_fields

    values: dict[str, Any] = {}
    if base is not None:
        values["base"] = base
    if config_file is not None:
        try:
            with open(config_file, "rb") as fh:
                values.update(tomllib.load(fh))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{config_file}: {exc}") from exc
    mappings = {"ionization", "ionization_ranges"}
    for key in (overrides or {}):
        if key in mappings:
            raise ConfigError(f"--set {key}=...: give ionization models with --ionization NAME=FIELD:VALUE,... "
                              "or as [ionization.NAME] tables in --config")
    values.update(overrides or {})
    if ionization:
        models = parse_ionization(ionization)
        values["ionization"] = models
        ranges = values.get("ionization_ranges", RandomizeConfig().ionization_ranges)
        values["ionization_ranges"] = {k: v for k, v in ranges.items() if k in models}
    converted = convert_fields(RandomizeConfig, values, what="RandomizeConfig")
    try:
        return RandomizeConfig(**converted)
    except TypeError as exc:
        raise ConfigError(f"RandomizeConfig: {exc}") from exc


def randomized_configs(config: RandomizeConfig, n_blocks: int, seed: int) -> Iterator[tuple[SimConfig, int]]:
    """The per-block simulator configurations and seeds.

    Parameters
    ----------
    config : RandomizeConfig
        The ranges.
    n_blocks : int
        Number of blocks.
    seed : int
        Master seed.

    Yields
    ------
    (SimConfig, int)
        Block configuration and the simulator seed of the block.
    """
    if seed < 0:
        raise ConfigError(f"seed must be >= 0, got {seed}")
    names = sorted(config.ionization)
    for b in range(n_blocks):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,)))
        name = names[int(rng.integers(len(names)))]
        cfg = config._config(rng, name)
        yield cfg, int(rng.integers(2**31 - 1))


def simulate_randomized(config: RandomizeConfig, n: int, seed: int) -> Iterator[WaveformChunk]:
    """Generate ``n`` domain-randomized waveforms, one chunk per block.

    Parameters
    ----------
    config : RandomizeConfig
        The ranges.
    n : int
        Number of waveforms.
    seed : int
        Master seed.

    Yields
    ------
    WaveformChunk
        Up to ``config.block`` waveforms with the usual truth fields.
    """
    if n < 0:
        raise ConfigError(f"n must be >= 0, got {n}")
    n_blocks = -(-n // config.block)
    for b, (cfg, block_seed) in enumerate(randomized_configs(config, n_blocks, seed)):
        size = min(config.block, n - b * config.block)
        yield from simulate(cfg, size, block_seed, chunk_size=size)


def write_randomized(
    path: str | os.PathLike[str], config: RandomizeConfig, n: int, seed: int, progress: bool = True
) -> int:
    """Write a domain-randomized sample to a ROOT file (atomically, via NtupleWriter).

    Parameters
    ----------
    path : path-like
        Output ROOT file.
    config : RandomizeConfig
        The ranges (stored in the file's metadata with the seed).
    n : int
        Number of waveforms.
    seed : int
        Master seed.
    progress : bool
        Show a progress bar on a terminal.

    Returns
    -------
    int
        Entries written.
    """
    from ccreco._progress import progress as make_bar

    metadata = {"generator": "ccreco.sim.randomize", "seed": seed, "n_events": n, "randomize": config.to_dict()}
    written = 0
    with NtupleWriter(path, metadata=metadata) as writer, make_bar(
        total=n, desc="simulate (randomized)", unit="wf", disable=None if progress else True
    ) as bar:
        for chunk in simulate_randomized(config, n, seed):
            writer.write(chunk)
            written += len(chunk)
            bar.update(len(chunk))
    return written


__all__ = ["RandomizeConfig", "build_randomize_config", "parse_ionization", "randomized_configs",
           "simulate_randomized", "write_randomized"]
