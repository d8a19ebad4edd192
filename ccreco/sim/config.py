"""Configuration of the fast waveform simulator: one frozen dataclass and the presets."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ccreco.config import coerce_fields
from ccreco.constants import SAMPLING_NS, WINDOW_NS
from ccreco.errors import ConfigError
from ccreco.sim.clusters import HEED_DEFAULT_EXPONENT, HEED_DEFAULT_KMAX, HEED_DEFAULT_P1, size_pmf
from ccreco.sim.drift import DriftTable
from ccreco.sim.electronics import PulseTemplate
from ccreco.sim.particles import PARTICLES

#: How many drift-time / jitter sigmas the window must hold beyond the largest mean drift time.
_WINDOW_MARGIN_SIGMA: float = 5.0


@dataclass(frozen=True)
class SimConfig:
    """Every parameter of the simulation chain (defaults: docs/SIMULATION.md, PHYSICS.md).

    Attributes
    ----------
    name : str
        Label stored in the output metadata (the preset name, or ``custom``).
    species : tuple of str
        Beam particles (keys of :data:`ccreco.sim.particles.PARTICLES`); each event picks one
        uniformly.
    momenta_gev : tuple of float
        Momenta in GeV/c; each event picks one uniformly, independently of the species.
    angle_deg : float
        Angle between the track and the plane perpendicular to the wire (0 = perpendicular).
    impact_min_cm, impact_max_cm : float
        Impact parameter to the wire, drawn uniformly in this range (cm); ``impact_max_cm`` may
        equal the half cell size (the tube radius).
    cell_shape : {"square", "tube"}
        Cell geometry.
    cell_size_cm : float
        Side of the square cell or inner diameter of the tube.
    wire_radius_cm : float
        Anode wire radius.
    anode_voltage_v : float
        Anode voltage (sets E(r) = V / (r ln(b/a)), b = half the cell size).
    density_scale : float
        Multiplies the cluster-density table.
    cluster_size_model : {"table", "heed", "file"}
        Cluster-size distribution (:mod:`ccreco.sim.clusters`): ``table`` (Fischle/key4hep table
        truncated at ``cluster_size_kmax``; the ``tb2023-*`` presets), ``heed`` (HEED-like: P(1)
        = ``cluster_p1``, tail ``k^-cluster_tail_exponent`` up to ``cluster_tail_kmax``) or
        ``file`` (``k, P(k)`` table in ``cluster_size_file``).
    cluster_size_kmax : int
        Truncation of the ``table`` model (sets its mean electrons per cluster).
    cluster_p1 : float
        ``heed`` model: probability of a one-electron cluster, in (0, 1]. Continuous (tunable,
        randomizable).
    cluster_tail_exponent : float
        ``heed`` model: P(k) ~ k^-a for k >= 2 (2 = Rutherford 1/E^2 delta spectrum), in [0.5, 8].
        Continuous (tunable, randomizable).
    cluster_low_exponent : float
        ``heed`` model: P(k) ~ k^-a_low for 2 <= k <= 5 (continuous with the tail beyond), in
        [0.5, 8]; equal to ``cluster_tail_exponent`` (2) by default: one power law. Real gases
        are steeper there (atomic shells). Continuous (tunable, randomizable).
    cluster_tail_kmax : int
        ``heed`` model: largest cluster size (>= 2).
    cluster_size_file : str
        ``file`` model: path of a CSV (``k, P``) or TOML (``k = [...]``, ``p = [...]``) table.
    delta_electron_spread : bool
        Spread the electrons of each cluster along the range of its delta electron
        (Kanaya-Okayama range of ``(k - 1) W``), in an isotropic direction, each electron
        drifting from its own radius. False (the ``tb2023-*`` presets): all start at one point.
    diffusion_l_um_sqrt_cm : float
        Longitudinal diffusion coefficient.
    gain_mean, gain_theta : float
        Polya gain: mean avalanche size and theta.
    single_electron_mv : float
        Peak of the shaped pulse of one electron at mean gain, in mV.
    pulse_model : {"biexp", "iontail", "template"}
        Single-electron pulse (:class:`ccreco.sim.electronics.PulseTemplate`): ``biexp``
        (rise/fall exponentials plus ion tail; the ``tb2023-*`` presets), ``iontail`` (ion
        current ``exp(-t/pulse_ion_tau_ns) / (1 + t/pulse_ion_t0_ns)`` through a CR-RC of
        ``pulse_shaper_tau_ns`` and AC coupling ``pulse_ac_coupling_ns``) or ``template``
        (measured pulse, ``time_ns, amplitude`` rows in ``pulse_template_file``).
    pulse_rise_ns, pulse_fall_ns : float
        ``biexp``: time constants of the induced electron pulse.
    ion_tail_fraction, ion_tail_t0_ns : float
        ``biexp``: ion tail ``f / (1 + t/t0)`` relative to the electron peak.
    pulse_ion_tau_ns, pulse_ion_t0_ns : float
        ``iontail``: cut-off and 1/(1 + t/t0) time constants of the ion current (continuous).
    pulse_shaper_tau_ns : float
        ``iontail``: CR-RC shaping time constant (continuous).
    pulse_ac_coupling_ns : float
        ``iontail``: AC-coupling (high-pass) time constant; 0 = DC coupled (continuous).
    pulse_template_file : str
        ``template``: path of the measured pulse (CSV or whitespace: time in ns, amplitude).
    pulse_length_ns : float
        Length of the single-electron template (tail cut there).
    bandwidth_mhz : float
        Front-end -3 dB bandwidth (two-pole low pass after ``biexp`` or ``iontail``; 0 disables
        it; not applied to a measured template).
    noise_mv : float
        RMS of the white noise.
    coloured_noise_mv, coloured_noise_time_ns : float
        RMS and correlation time of the coloured (AR(1)) noise.
    baseline_mv : float
        Baseline offset added to every sample.
    sampling_ns, window_ns : float
        Sampling period and acquisition window; the window must be a multiple of the period.
    trigger_offset_ns, trigger_jitter_ns : float
        Time of the track passage after the window start, and its Gaussian jitter.
    adc_bits : int
        ADC resolution.
    adc_min_mv, adc_max_mv : float
        ADC input range (clipped samples flag the waveform ``saturated``).
    run : int
        Run number written to every entry.
    """

    name: str = "custom"
    species: tuple[str, ...] = ("mu",)
    momenta_gev: tuple[float, ...] = (180.0,)
    angle_deg: float = 0.0
    impact_min_cm: float = 0.0
    impact_max_cm: float = 0.35
    cell_shape: str = "square"
    cell_size_cm: float = 0.8
    wire_radius_cm: float = 0.001
    anode_voltage_v: float = 1350.0
    density_scale: float = 1.0
    cluster_size_model: str = "table"
    cluster_size_kmax: int = 17
    cluster_p1: float = HEED_DEFAULT_P1
    cluster_tail_exponent: float = HEED_DEFAULT_EXPONENT
    cluster_low_exponent: float = HEED_DEFAULT_EXPONENT
    cluster_tail_kmax: int = HEED_DEFAULT_KMAX
    cluster_size_file: str = ""
    delta_electron_spread: bool = False
    diffusion_l_um_sqrt_cm: float = 180.0
    gain_mean: float = 1.5e5
    gain_theta: float = 0.5
    single_electron_mv: float = 10.0
    pulse_rise_ns: float = 1.0
    pulse_fall_ns: float = 5.0
    ion_tail_fraction: float = 0.1
    ion_tail_t0_ns: float = 20.0
    pulse_model: str = "biexp"
    pulse_ion_tau_ns: float = 40.0
    pulse_ion_t0_ns: float = 1.3
    pulse_shaper_tau_ns: float = 1.0
    pulse_ac_coupling_ns: float = 0.0
    pulse_template_file: str = ""
    pulse_length_ns: float = 300.0
    bandwidth_mhz: float = 460.0
    noise_mv: float = 1.5
    coloured_noise_mv: float = 0.5
    coloured_noise_time_ns: float = 10.0
    baseline_mv: float = 0.0
    sampling_ns: float = SAMPLING_NS
    window_ns: float = WINDOW_NS
    trigger_offset_ns: float = 100.0
    trigger_jitter_ns: float = 1.0
    adc_bits: int = 12
    adc_min_mv: float = -50.0
    adc_max_mv: float = 350.0
    run: int = 1

    def __post_init__(self) -> None:
        # one converter for --set strings, TOML values and keyword arguments (ccreco.config):
        # lists -> tuples, ints -> floats, "1,2" -> (1.0, 2.0); 12.5 for an int, "loud" for a
        # float, inf/nan are refused naming the field
        coerce_fields(self)
        self._validate()

    # -- validation -------------------------------------------------------------------------
    def _validate(self) -> None:
        def bad(name: str, why: str) -> ConfigError:
            return ConfigError(f"SimConfig.{name} = {getattr(self, name)!r}: {why}")

        if not self.species:
            raise bad("species", "needs at least one particle")
        for s in self.species:
            if s not in PARTICLES:
                raise bad("species", f"unknown particle {s!r}; known: {sorted(PARTICLES)}")
        if not self.momenta_gev or any(not (p > 0) for p in self.momenta_gev):
            raise bad("momenta_gev", "needs at least one momentum, all > 0")
        if not 0 <= self.angle_deg < 89:
            raise bad("angle_deg", "must be in [0, 89) degrees")
        if self.cell_shape not in ("square", "tube"):
            raise bad("cell_shape", "must be 'square' or 'tube'")
        for name in ("cell_size_cm", "wire_radius_cm", "anode_voltage_v", "gain_mean", "sampling_ns",
                     "window_ns", "pulse_rise_ns", "pulse_fall_ns", "ion_tail_t0_ns",
                     "single_electron_mv", "diffusion_l_um_sqrt_cm"):
            if not getattr(self, name) > 0:
                raise bad(name, "must be > 0")
        for name in ("noise_mv", "coloured_noise_mv", "coloured_noise_time_ns", "density_scale",
                     "gain_theta", "ion_tail_fraction", "bandwidth_mhz", "trigger_offset_ns",
                     "trigger_jitter_ns", "impact_min_cm"):
            if not getattr(self, name) >= 0:
                raise bad(name, "must be >= 0")
        if not self.wire_radius_cm < self.cell_size_cm / 4:
            raise bad("wire_radius_cm", f"must be < a quarter of cell_size_cm = {self.cell_size_cm}")
        if not self.impact_min_cm <= self.impact_max_cm <= self.cell_size_cm / 2:
            raise bad("impact_max_cm",
                      f"need impact_min_cm <= impact_max_cm <= cell_size_cm/2 = {self.cell_size_cm / 2}")
        if self.cluster_size_kmax < 1:
            raise bad("cluster_size_kmax", "must be >= 1")
        if self.cluster_size_model not in ("table", "heed", "file"):
            raise bad("cluster_size_model", "must be 'table', 'heed' or 'file'")
        if not 0 < self.cluster_p1 <= 1:
            raise bad("cluster_p1", "must be in (0, 1]")
        if not 0.5 <= self.cluster_tail_exponent <= 8:
            raise bad("cluster_tail_exponent", "must be in [0.5, 8]")
        if not 0.5 <= self.cluster_low_exponent <= 8:
            raise bad("cluster_low_exponent", "must be in [0.5, 8]")
        if not 2 <= self.cluster_tail_kmax <= 100_000:
            raise bad("cluster_tail_kmax", "must be in 2..100000")
        if self.cluster_size_model == "file" and not self.cluster_size_file:
            raise bad("cluster_size_file", "cluster_size_model = 'file' needs a table file")
        if self.pulse_model not in ("biexp", "iontail", "template"):
            raise bad("pulse_model", "must be 'biexp', 'iontail' or 'template'")
        for name in ("pulse_ion_tau_ns", "pulse_ion_t0_ns", "pulse_shaper_tau_ns"):
            if not getattr(self, name) > 0:
                raise bad(name, "must be > 0")
        if not self.pulse_ac_coupling_ns >= 0:
            raise bad("pulse_ac_coupling_ns", "must be >= 0 (0 = DC coupled)")
        if self.pulse_model == "template" and not self.pulse_template_file:
            raise bad("pulse_template_file", "pulse_model = 'template' needs a template file")
        if self.cluster_size_model == "file":
            try:
                self.size_pmf  # noqa: B018  (reads and checks the file now)
            except ConfigError as exc:
                raise ConfigError(f"SimConfig.cluster_size_file: {exc.message}", file=self.cluster_size_file) from exc
        if self.pulse_model == "template":
            try:
                self.pulse_template  # noqa: B018
            except ConfigError as exc:
                raise ConfigError(f"SimConfig.pulse_template_file: {exc.message}",
                                  file=self.pulse_template_file) from exc
        if not 1 <= self.adc_bits <= 24:
            raise bad("adc_bits", "must be in 1..24")
        if not self.adc_max_mv > self.adc_min_mv:
            raise bad("adc_max_mv", f"must exceed adc_min_mv = {self.adc_min_mv}")
        if self.pulse_fall_ns <= self.pulse_rise_ns:
            raise bad("pulse_fall_ns", f"must exceed pulse_rise_ns = {self.pulse_rise_ns}")
        if self.pulse_model == "biexp" and self.pulse_length_ns < 5 * self.pulse_fall_ns:
            raise bad("pulse_length_ns", f"must be >= 5 * pulse_fall_ns = {5 * self.pulse_fall_ns}")
        if self.pulse_length_ns < 20 * self.sampling_ns:
            raise bad("pulse_length_ns", f"must be >= 20 samples = {20 * self.sampling_ns} ns")
        ratio = self.window_ns / self.sampling_ns
        if abs(ratio - round(ratio)) > 1e-9 * max(ratio, 1.0):
            raise bad("window_ns", f"must be a multiple of sampling_ns = {self.sampling_ns}")
        need = (
            self.trigger_offset_ns
            + _WINDOW_MARGIN_SIGMA * self.trigger_jitter_ns
            + self.drift_table.max_time_ns
            + _WINDOW_MARGIN_SIGMA * float(self.drift_table.sigma_ns[-1])
            + 3 * self.pulse_tail_ns
        )
        if self.window_ns < need:
            raise bad(
                "window_ns",
                f"shorter than trigger offset + maximum drift time + pulse ({need:.0f} ns; "
                f"maximum drift time {self.drift_table.max_time_ns:.0f} ns)",
            )

    # -- derived quantities -----------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        """Samples per waveform (window / sampling period)."""
        return int(round(self.window_ns / self.sampling_ns))

    @property
    def r_max_cm(self) -> float:
        """Largest distance from the wire that a track in the impact range can reach."""
        if self.cell_shape == "tube":
            return self.cell_size_cm / 2
        return math.hypot(self.cell_size_cm / 2, self.impact_max_cm)

    @property
    def pulse_tail_ns(self) -> float:
        """A time after which the pulse has mostly decayed (window margin)."""
        if self.pulse_model == "biexp":
            return self.pulse_fall_ns
        if self.pulse_model == "iontail":
            return min(self.pulse_ion_tau_ns, 20.0) + 3 * self.pulse_shaper_tau_ns
        return 5.0

    @cached_property
    def size_pmf(self) -> np.ndarray:
        """Cluster-size probabilities of the selected model, ``size_pmf[k - 1] = P(k)``."""
        return size_pmf(self.cluster_size_model, kmax=self.cluster_size_kmax, p1=self.cluster_p1,
                        exponent=self.cluster_tail_exponent, heed_kmax=self.cluster_tail_kmax,
                        file=self.cluster_size_file, low_exponent=self.cluster_low_exponent)

    @property
    def mean_cluster_size(self) -> float:
        """Mean electrons per cluster of :attr:`size_pmf`."""
        p = self.size_pmf
        return float(np.dot(p, np.arange(1, p.size + 1)))

    @cached_property
    def pulse_template(self) -> PulseTemplate:
        """The shaped single-electron response of the selected pulse model (peak 1)."""
        if self.pulse_model == "template":
            return PulseTemplate.from_file(self.pulse_template_file, sampling_ns=self.sampling_ns,
                                           length_ns=self.pulse_length_ns)
        if self.pulse_model == "iontail":
            return PulseTemplate.build_ion_tail(
                sampling_ns=self.sampling_ns, ion_tau_ns=self.pulse_ion_tau_ns, ion_t0_ns=self.pulse_ion_t0_ns,
                shaper_tau_ns=self.pulse_shaper_tau_ns, ac_coupling_ns=self.pulse_ac_coupling_ns,
                bandwidth_mhz=self.bandwidth_mhz, length_ns=self.pulse_length_ns)
        return PulseTemplate.build(
            sampling_ns=self.sampling_ns, rise_ns=self.pulse_rise_ns, fall_ns=self.pulse_fall_ns,
            ion_tail_fraction=self.ion_tail_fraction, ion_tail_t0_ns=self.ion_tail_t0_ns,
            bandwidth_mhz=self.bandwidth_mhz, length_ns=self.pulse_length_ns)

    @cached_property
    def drift_table(self) -> DriftTable:
        """The x(t) relation and diffusion spread for this cell and voltage."""
        return DriftTable.build(
            voltage_v=self.anode_voltage_v,
            wire_radius_cm=self.wire_radius_cm,
            outer_cm=self.cell_size_cm / 2,
            r_max_cm=max(self.r_max_cm, 2 * self.wire_radius_cm),
            diffusion_l_um_sqrt_cm=self.diffusion_l_um_sqrt_cm,
        )

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> SimConfig:
        """Build a preset, optionally with fields overridden.

        Parameters
        ----------
        name : str
            A key of :data:`PRESETS`.
        **overrides
            Field values replacing the preset's.

        Returns
        -------
        SimConfig
            The validated configuration.
        """
        if name not in PRESETS:
            raise ConfigError(f"unknown preset {name!r}; known: {sorted(PRESETS)}")
        return dataclasses.replace(PRESETS[name], **_check_keys(overrides))

    def replace(self, **overrides: Any) -> SimConfig:
        """Return a copy with fields replaced (validated again)."""
        return dataclasses.replace(self, **_check_keys(overrides))

    def with_strings(self, values: dict[str, str]) -> SimConfig:
        """Return a copy with fields set from strings (``--set key=value``).

        Each value is converted by the field's type (:mod:`ccreco.config`, the same rules as
        TOML values and keyword arguments): numbers, ``true``/``false``, and comma-separated
        lists for tuple fields (``species=pi,K,p``).

        Parameters
        ----------
        values : dict of str to str
            Field names to raw strings.

        Returns
        -------
        SimConfig
            The validated configuration.
        """
        return self.replace(**values)

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON-serializable values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def to_toml(self, path: str | os.PathLike[str] | None = None) -> str:
        """Serialize every field as flat TOML (and write it to ``path`` if given).

        Parameters
        ----------
        path : str or os.PathLike, optional
            File to write.

        Returns
        -------
        str
            The TOML text, readable by :meth:`from_toml`.
        """
        lines = ["# ccreco simulate configuration (SimConfig)"]
        for key, value in self.to_dict().items():
            lines.append(f"{key} = {json.dumps(value)}")  # JSON scalars/arrays are valid TOML here
        text = "\n".join(lines) + "\n"
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text)
        return text

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str], base: SimConfig | None = None) -> SimConfig:
        """Read fields from a TOML file (flat, or under a ``[sim]`` table).

        A ``preset = "NAME"`` key starts from that preset; otherwise from ``base`` (defaults
        when None). Fields in the file override it.

        Parameters
        ----------
        path : str or os.PathLike
            TOML file.
        base : SimConfig, optional
            Configuration to start from.

        Returns
        -------
        SimConfig
            The validated configuration.
        """
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read simulation config: {exc}", file=str(path)) from exc
        data = dict(data.get("sim", data))
        preset = data.pop("preset", None)
        start = cls.from_preset(preset) if preset else (base or cls())
        try:
            return start.replace(**data)
        except ConfigError as exc:
            raise ConfigError(exc.message, file=str(path)) from exc


def _check_keys(values: dict[str, Any]) -> dict[str, Any]:
    known = {f.name for f in dataclasses.fields(SimConfig)}
    for key in values:
        if key not in known:
            from ccreco.errors import closest_first

            raise ConfigError(f"unknown simulation parameter {key!r}; closest: {closest_first(key, sorted(known))[:3]}")
    return dict(values)


#: Named configurations (docs/SIMULATION.md explains each choice).
PRESETS: dict[str, SimConfig] = {
    # Garfield++ "untuned" sample (PHYSICS.md): 180 GeV/c muons, perpendicular, 0.8 cm cell.
    "tb2023-untuned": SimConfig(name="tb2023-untuned"),
    # "tuned" sample: 10 GeV/c muons at 45 degrees; k_max 12 reproduces its 1.488 e-/cluster.
    "tb2023-tuned": SimConfig(
        name="tb2023-tuned", momenta_gev=(10.0,), angle_deg=45.0, cluster_size_kmax=12
    ),
    # HEED-like round tube (docs/SIMULATION.md "heed-tube"): a 0.4 cm radius tube, impact
    # parameter over the whole radius, 1250 V, HEED-like cluster sizes with delta-electron
    # ranges, ion-tail current through a CR-RC front end, ADC range up to 950 mV.
    "heed-tube": SimConfig(
        name="heed-tube", cell_shape="tube", impact_max_cm=0.4, anode_voltage_v=1250.0,
        cluster_size_model="heed", delta_electron_spread=True, pulse_model="iontail",
        bandwidth_mhz=0.0, coloured_noise_mv=0.0, adc_min_mv=-50.0, adc_max_mv=950.0,
    ),
    # dN/dx / PID studies: each event picks a species and a momentum uniformly.
    "pid": SimConfig(
        name="pid", species=("pi", "K", "p", "mu"), momenta_gev=(2.0, 5.0, 10.0, 20.0)
    ),
}


def build_sim_config(preset: str = "tb2023-untuned", config_file: str | os.PathLike[str] | None = None,
                     overrides: dict[str, str] | None = None) -> SimConfig:
    """A SimConfig from a preset, then a TOML file, then ``--set`` strings (later wins).

    The one way the command line builds a simulator configuration (``ccreco simulate``,
    ``ccreco tune``, ``ccreco pid``); every source goes through the same converter
    (:mod:`ccreco.config`).

    Parameters
    ----------
    preset : str
        A :data:`PRESETS` name.
    config_file : path-like, optional
        TOML file (:meth:`SimConfig.from_toml`; its own ``preset = ...`` key wins over ``preset``).
    overrides : dict of str to str, optional
        ``--set key=value`` strings.

    Returns
    -------
    SimConfig
        The validated configuration.
    """
    config = SimConfig.from_preset(preset)
    if config_file:
        config = SimConfig.from_toml(config_file, base=config)
    if overrides:
        config = config.with_strings(dict(overrides))
    return config
