"""Particle identification with dN/dx (cluster counting) and dE/dx (truncated mean of charge).

A *track* is ``n_cells`` consecutive simulated waveforms of one species at one momentum
(``SimConfig`` with a single species and momentum; the impact parameter is drawn per cell).
Per track and estimator:

- dN/dx = sum over cells of N_cl / sum of the path lengths, with N_cl from
  ``truth`` (MC-truth primary clusters, the upper limit), ``deriv`` (DERIV peaks + time-proximity
  clusterization, :mod:`ccreco.kernels`) or any cluster-counting method registered in
  :mod:`ccreco.analysis.evaluate` (``lstm``: step-1 LSTM + clusterization; ``cnn``: step-1 LSTM +
  step-2 CNN, the shipped ONNX models through :mod:`ccreco.models`);
- ``dedx``: the truncated mean (lowest ``truncation`` fraction, default 70%) of the per-cell
  charge per unit length, the charge being the waveform integral above the baseline in
  ``[trigger_offset_ns - charge_before_ns, trigger_offset_ns + charge_after_ns]``.

For each (species, momentum, estimator) the mean and sigma (standard deviation over tracks) give
the resolution sigma/mean; the separation power of species 1 and 2 is
``|mu1 - mu2| / ((sigma1 + sigma2) / 2)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ccreco._progress import progress
from ccreco.errors import ConfigError

#: Estimators computed without models.
BASE_METHODS: tuple[str, ...] = ("truth", "deriv", "dedx")
#: Pairs whose separation is reported.
DEFAULT_PAIRS: tuple[tuple[str, str], ...] = (("pi", "K"), ("K", "p"))


@dataclass(frozen=True)
class PidConfig:
    """What to simulate and how to estimate.

    Attributes
    ----------
    species : tuple of str
        Particle species (keys of ``ccreco.sim.PARTICLES``).
    momenta_gev : tuple of float
        Momenta in GeV/c.
    n_tracks : int
        Tracks per (species, momentum).
    n_cells : int
        Cells (waveforms) per track.
    cell_size_cm : float
        Cell size; the impact range is scaled with it (0 to 0.4375 x size, as in the presets).
    preset : str
        Simulator preset to start from.
    methods : tuple of str
        Estimators: ``truth``, ``deriv``, ``dedx`` and registered cluster methods (``lstm``, ``cnn``).
    method_options : dict
        Options per registered method (strings, as for ``ccreco evaluate``).
    truncation : float
        Fraction of the lowest per-cell charges kept for dE/dx.
    charge_before_ns, charge_after_ns : float
        Charge window around the trigger time.
    seed : int
        Base seed; each (species, momentum) gets its own stream.
    sim_overrides : dict
        Extra SimConfig fields.
    """

    species: tuple[str, ...] = ("pi", "K", "p", "mu")
    momenta_gev: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0)
    n_tracks: int = 50
    n_cells: int = 100
    cell_size_cm: float = 0.8
    preset: str = "pid"
    methods: tuple[str, ...] = BASE_METHODS
    method_options: dict[str, dict[str, str]] = field(default_factory=dict)
    truncation: float = 0.7
    charge_before_ns: float = 20.0
    charge_after_ns: float = 350.0
    seed: int = 1
    sim_overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.species or not self.momenta_gev:
            raise ConfigError("species and momenta_gev must not be empty")
        if self.n_tracks < 2 or self.n_cells < 1:
            raise ConfigError(f"need n_tracks >= 2 and n_cells >= 1, got {self.n_tracks}, {self.n_cells}")
        if not 0 < self.truncation <= 1:
            raise ConfigError(f"truncation must be in (0, 1], got {self.truncation}")
        if not self.methods:
            raise ConfigError("no estimator requested")

    def sim_config(self, species: str, momentum: float) -> Any:
        """The simulator configuration of one (species, momentum).

        Parameters
        ----------
        species : str
            Particle species.
        momentum : float
            Momentum in GeV/c.

        Returns
        -------
        SimConfig
            Preset with this species/momentum, cell size, impact range and overrides.
        """
        from ccreco.sim import SimConfig

        return SimConfig.from_preset(
            self.preset, species=(species,), momenta_gev=(float(momentum),), cell_size_cm=self.cell_size_cm,
            impact_min_cm=0.0, impact_max_cm=0.4375 * self.cell_size_cm, **self.sim_overrides,
        )


def truncated_mean(values: np.ndarray, fraction: float) -> np.ndarray:
    """Mean of the lowest ``fraction`` of each row.

    Parameters
    ----------
    values : numpy.ndarray
        ``(n_tracks, n_cells)``.
    fraction : float
        Kept fraction (at least one value per row).

    Returns
    -------
    numpy.ndarray
        ``(n_tracks,)``.
    """
    v = np.sort(values, axis=1)
    k = max(1, int(round(fraction * v.shape[1])))
    mean: np.ndarray = v[:, :k].mean(axis=1)
    return mean


def cell_charge(waveforms: np.ndarray, sampling_ns: float, start_ns: float, stop_ns: float,
                baseline_stop_ns: float | None = None) -> np.ndarray:
    """Integral above the baseline (mV ns) of each waveform in ``[start_ns, stop_ns)``.

    Parameters
    ----------
    waveforms : numpy.ndarray
        ``(n, n_samples)`` in mV.
    sampling_ns : float
        Sampling period.
    start_ns, stop_ns : float
        Integration window (clipped to the waveform).
    baseline_stop_ns : float, optional
        End of the baseline region (default ``constants.BASELINE_NS``).

    Returns
    -------
    numpy.ndarray
        float64 ``(n,)``.
    """
    from ccreco.constants import BASELINE_NS
    from ccreco.kernels import baseline_rms

    base, _ = baseline_rms(waveforms, sampling_ns=sampling_ns, stop_ns=baseline_stop_ns or BASELINE_NS)
    ns = waveforms.shape[1]
    a = int(np.clip(round(start_ns / sampling_ns), 0, ns))
    b = int(np.clip(round(stop_ns / sampling_ns), a, ns))
    charge: np.ndarray = (waveforms[:, a:b].sum(axis=1, dtype=np.float64) - base * (b - a)) * sampling_ns
    return charge


def _counters(cfg: PidConfig) -> dict[str, Callable[[Any], np.ndarray]]:
    """Per-cell cluster counters of the requested methods (``dedx`` handled separately)."""
    from ccreco.analysis.evaluate import get_method

    out: dict[str, Callable[[Any], np.ndarray]] = {}
    for m in cfg.methods:
        opts = dict(cfg.method_options.get(m, {}))
        if m == "dedx":
            continue
        if m == "truth":
            out[m] = lambda chunk: np.asarray(chunk.truth["n_clusters"], dtype=np.float64)
        else:  # ``deriv`` included: the registered counter runs the chain's DERIV stage
            method = get_method(m)
            if method.clusters is None:
                raise ConfigError(f"method {m!r} cannot count clusters")
            out[m] = _as_float64(method.clusters(opts))
    return out


def _as_float64(counter: Callable[[Any], np.ndarray]) -> Callable[[Any], np.ndarray]:
    """``counter`` with its counts as float64."""
    return lambda chunk: np.asarray(counter(chunk), dtype=np.float64)


@dataclass
class PidResult:
    """Per-track estimates and their summary.

    Attributes
    ----------
    config : PidConfig
        What was run.
    tracks : dict
        ``tracks[method][(species, momentum)]`` -> ``(n_tracks,)`` estimates (clusters/cm for
        dN/dx methods, mV ns/cm for ``dedx``).
    mean_clusters_per_cell : dict
        ``[(species, momentum)]`` -> mean true clusters per cell.
    seconds : dict of str to float
        Time spent per method (simulation under ``"simulate"``).
    """

    config: PidConfig
    tracks: dict[str, dict[tuple[str, float], np.ndarray]]
    mean_clusters_per_cell: dict[tuple[str, float], float]
    seconds: dict[str, float]

    def stats(self, method: str, species: str, momentum: float) -> tuple[float, float, float]:
        """Mean, sigma and resolution sigma/mean of one estimator."""
        x = self.tracks[method][(species, float(momentum))]
        mu, sd = float(x.mean()), float(x.std(ddof=1))
        return mu, sd, sd / mu if mu else float("nan")

    def separation(self, method: str, a: str, b: str, momentum: float) -> float:
        """``|mu_a - mu_b| / ((sigma_a + sigma_b) / 2)``."""
        ma, sa, _ = self.stats(method, a, momentum)
        mb, sb, _ = self.stats(method, b, momentum)
        return abs(ma - mb) / ((sa + sb) / 2) if sa + sb > 0 else float("inf")

    def separation_error(self, method: str, a: str, b: str, momentum: float) -> float:
        """Statistical error of :meth:`separation` from the finite number of tracks.

        Propagates the errors of the means (``sigma / sqrt(n)``) and of the standard deviations
        (``sigma / sqrt(2 (n - 1))``) of both species, treated as independent.
        """
        xa = self.tracks[method][(a, float(momentum))]
        xb = self.tracks[method][(b, float(momentum))]
        ma, sa, _ = self.stats(method, a, momentum)
        mb, sb, _ = self.stats(method, b, momentum)
        na, nb = max(xa.size, 2), max(xb.size, 2)
        sbar = (sa + sb) / 2
        if not sbar > 0:
            return float("nan")
        sep = abs(ma - mb) / sbar
        var_mean = sa**2 / na + sb**2 / nb
        var_sbar = (sa**2 / (2 * (na - 1)) + sb**2 / (2 * (nb - 1))) / 4
        return float(np.sqrt(var_mean / sbar**2 + sep**2 * var_sbar / sbar**2))

    def pairs(self) -> list[tuple[str, str]]:
        """Reported species pairs present in the config."""
        return [(a, b) for a, b in DEFAULT_PAIRS if a in self.config.species and b in self.config.species]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable summary (config, per-point mean/sigma/resolution, separations)."""
        cfg = asdict(self.config)
        rows = []
        for m in self.tracks:
            for s in self.config.species:
                for p in self.config.momenta_gev:
                    mu, sd, res = self.stats(m, s, p)
                    n = self.config.n_tracks
                    rows.append({"method": m, "species": s, "momentum_gev": float(p), "mean": mu, "sigma": sd,
                                 "resolution": res, "resolution_error": res / np.sqrt(2 * (n - 1))})
        seps = []
        for m in self.tracks:
            for a, b in self.pairs():
                for p in self.config.momenta_gev:
                    seps.append({"method": m, "pair": f"{a}/{b}", "momentum_gev": float(p),
                                 "separation": self.separation(m, a, b, p),
                                 "separation_error": self.separation_error(m, a, b, p)})
        return {
            "config": cfg,
            "resolution": rows,
            "separation": seps,
            "mean_resolution": {m: float(np.mean([r["resolution"] for r in rows if r["method"] == m]))
                                for m in self.tracks},
            "mean_clusters_per_cell": {f"{s}@{p}": v for (s, p), v in self.mean_clusters_per_cell.items()},
            "seconds": self.seconds,
        }

    def table(self) -> str:
        """Markdown tables: resolution per estimator and separation vs momentum."""
        methods = list(self.tracks)
        cfg = self.config
        lines = [f"{cfg.n_tracks} tracks x {cfg.n_cells} cells of {cfg.cell_size_cm} cm per point, seed {cfg.seed}",
                 "", "Resolution sigma/mean (%):", "",
                 "| species | p [GeV/c] | " + " | ".join(methods) + " |",
                 "|---|---:|" + "---:|" * len(methods)]
        for s in cfg.species:
            for p in cfg.momenta_gev:
                lines.append(f"| {s} | {p:g} | " + " | ".join(f"{100 * self.stats(m, s, p)[2]:.2f}" for m in methods)
                             + " |")
        mean = self.to_dict()["mean_resolution"]
        lines.append("| **mean** | | " + " | ".join(f"**{100 * mean[m]:.2f}**" for m in methods) + " |")
        if self.pairs():
            lines += ["", "Separation power |mu1 - mu2| / ((sigma1 + sigma2)/2):", "",
                      "| pair | p [GeV/c] | " + " | ".join(methods) + " |", "|---|---:|" + "---:|" * len(methods)]
            for a, b in self.pairs():
                for p in cfg.momenta_gev:
                    lines.append(f"| {a}/{b} | {p:g} | "
                                 + " | ".join(f"{self.separation(m, a, b, p):.2f}" for m in methods) + " |")
        return "\n".join(lines) + "\n"


def run_pid(cfg: PidConfig, log: Callable[[str], None] | None = None) -> PidResult:
    """Simulate the tracks and compute every estimator.

    Parameters
    ----------
    cfg : PidConfig
        Species, momenta, sizes, estimators.
    log : callable, optional
        Receives one line per (species, momentum).

    Returns
    -------
    PidResult
        Per-track estimates and timing.
    """
    import time

    from ccreco.sim import simulate

    counters = _counters(cfg)
    want_dedx = "dedx" in cfg.methods
    tracks: dict[str, dict[tuple[str, float], np.ndarray]] = {m: {} for m in cfg.methods}
    seconds: dict[str, float] = {"simulate": 0.0, **{m: 0.0 for m in cfg.methods}}
    ncl_mean: dict[tuple[str, float], float] = {}
    n_wf = cfg.n_tracks * cfg.n_cells
    points = [(s, float(p)) for s in cfg.species for p in cfg.momenta_gev]
    with progress(total=len(points) * n_wf, desc="pid", unit="wf") as bar:
        for k, (s, p) in enumerate(points):
            sim = cfg.sim_config(s, p)
            seed = int(np.random.SeedSequence([cfg.seed, k]).generate_state(1)[0])
            per: dict[str, list[np.ndarray]] = {m: [] for m in cfg.methods}
            lengths: list[np.ndarray] = []
            ncl: list[np.ndarray] = []
            t = time.perf_counter()
            for chunk in simulate(sim, n_wf, seed=seed, chunk_size=max(cfg.n_cells, 5000 // cfg.n_cells * cfg.n_cells)):
                seconds["simulate"] += time.perf_counter() - t
                truth = chunk.truth
                assert truth is not None, "simulate() always fills the MC truth"
                lengths.append(np.asarray(truth["track_length_cm"], dtype=np.float64))
                ncl.append(np.asarray(truth["n_clusters"], dtype=np.float64))
                for m, counter in counters.items():
                    t = time.perf_counter()
                    per[m].append(counter(chunk))
                    seconds[m] += time.perf_counter() - t
                if want_dedx:
                    t = time.perf_counter()
                    per["dedx"].append(cell_charge(chunk.waveforms, chunk.sampling_ns,
                                                   sim.trigger_offset_ns - cfg.charge_before_ns,
                                                   sim.trigger_offset_ns + cfg.charge_after_ns))
                    seconds["dedx"] += time.perf_counter() - t
                bar.update(len(chunk))
                t = time.perf_counter()
            length = np.concatenate(lengths).reshape(cfg.n_tracks, cfg.n_cells)
            ncl_mean[(s, p)] = float(np.concatenate(ncl).mean())
            for m in cfg.methods:
                v = np.concatenate(per[m]).reshape(cfg.n_tracks, cfg.n_cells)
                if m == "dedx":
                    tracks[m][(s, p)] = truncated_mean(v / length, cfg.truncation)
                else:
                    tracks[m][(s, p)] = v.sum(axis=1) / length.sum(axis=1)
            if log:
                log(f"{s} {p:g} GeV/c: " + ", ".join(
                    f"{m} {tracks[m][(s, p)].mean():.4g} "
                    f"({100 * tracks[m][(s, p)].std(ddof=1) / tracks[m][(s, p)].mean():.2f}%)"
                    for m in cfg.methods))
    return PidResult(cfg, tracks, ncl_mean, seconds)


_NAMES = {"truth": "dN/dx (MC truth)", "deriv": "dN/dx (DERIV)", "lstm": "dN/dx (LSTM)",
          "cnn": "dN/dx (LSTM+CNN)", "dedx": "dE/dx (70% trunc.)"}


def _momentum_axis(ax: Any, p: np.ndarray) -> None:
    """Log momentum axis with one plain label per simulated momentum (no colliding minor labels)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(p.tolist()))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    if len(p) > 5:
        ax.tick_params(axis="x", labelrotation=45)
    if len(p):
        ax.set_xlim(p.min() / 1.3, p.max() * 1.3)
    ax.set_xlabel("Momentum [GeV/c]")


def plot_pid(result: PidResult, outdir: str | os.PathLike[str]) -> list[Path]:
    """Draw the estimator bands vs momentum, resolutions and separation powers (mplhep).

    Resolutions and separation powers carry their statistical errors (finite number of tracks);
    the momentum axes label only the simulated momenta.

    Parameters
    ----------
    result : PidResult
        From :func:`run_pid`.
    outdir : str or os.PathLike
        Directory (created).

    Returns
    -------
    list of pathlib.Path
        ``pid_<method>.png`` (mean +- sigma bands per species vs momentum),
        ``pid_resolution.png``, ``pid_separation.png``.
    """
    from ccreco import plotting

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = result.config
    p = np.array(cfg.momenta_gev, dtype=float)
    n = cfg.n_tracks
    written: list[Path] = []
    with plotting.style():
        for m in result.tracks:
            fig, ax = plotting.figure((8, 6))
            for i, s in enumerate(cfg.species):
                st = np.array([result.stats(m, s, x)[:2] for x in p])
                ax.fill_between(p, st[:, 0] - st[:, 1], st[:, 0] + st[:, 1], alpha=0.3, color=f"C{i}")
                ax.errorbar(p, st[:, 0], yerr=st[:, 1] / np.sqrt(n), fmt="o-", color=f"C{i}", label=s)
            _momentum_axis(ax, p)
            ax.set_ylabel(_NAMES.get(m, m) + (" [mV ns/cm]" if m == "dedx" else " [clusters/cm]"))
            plotting.legend(ax, title=f"{cfg.n_cells} cells x {cfg.cell_size_cm} cm, mean $\\pm 1\\sigma$",
                            ncols=min(len(cfg.species), 3))
            plotting.label(ax, data=False)
            path = out / f"pid_{m}.png"
            fig.savefig(path, dpi=90, bbox_inches="tight")
            written.append(path)
        fig, ax = plotting.figure((8, 6))
        for j, m in enumerate(result.tracks):
            res = np.array([np.mean([result.stats(m, s, x)[2] for s in cfg.species]) for x in p])
            # error of sigma/mu for n tracks, averaged over the species (independent samples)
            err = res / np.sqrt(2 * (n - 1)) / np.sqrt(len(cfg.species))
            ax.errorbar(p, 100 * res, yerr=100 * err, fmt="o-", color=f"C{j}", label=_NAMES.get(m, m))
        _momentum_axis(ax, p)
        ax.set_ylabel("Resolution $\\sigma/\\mu$ [%], species mean")
        ax.set_ylim(0, None)
        plotting.legend(ax, ncols=2)
        plotting.label(ax, data=False)
        path = out / "pid_resolution.png"
        fig.savefig(path, dpi=90, bbox_inches="tight")
        written.append(path)
        pairs = result.pairs()
        if pairs:
            fig, axes = plotting.figure((7 * len(pairs), 6), 1, len(pairs), squeeze=False)
            for ax, (a, b) in zip(axes[0], pairs, strict=True):
                for j, m in enumerate(result.tracks):
                    sep = [result.separation(m, a, b, x) for x in p]
                    err = [result.separation_error(m, a, b, x) for x in p]
                    ax.errorbar(p, sep, yerr=err, fmt="o-", color=f"C{j}", label=_NAMES.get(m, m))
                _momentum_axis(ax, p)
                ax.set_ylabel(f"{a}/{b} separation power [$\\sigma$]")
                ax.set_ylim(0, None)
                plotting.legend(ax, ncols=2)
                plotting.label(ax, data=False)
            fig.tight_layout()
            path = out / "pid_separation.png"
            fig.savefig(path, dpi=90, bbox_inches="tight")
            written.append(path)
    return written


def write_pid(result: PidResult, outdir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``pid.md`` and ``pid.json``.

    Parameters
    ----------
    result : PidResult
        From :func:`run_pid`.
    outdir : str or os.PathLike
        Directory (created).

    Returns
    -------
    dict of str to Path
        ``md`` and ``json``.
    """
    from ccreco.analysis.report import write_report

    return write_report(outdir, "pid", title="dN/dx and dE/dx particle identification", table=result.table(),
                        data=result.to_dict())


def methods_available(names: Sequence[str]) -> list[str]:
    """The subset of ``names`` that can run here (registered cluster methods whose models exist).

    Parameters
    ----------
    names : sequence of str
        Requested estimators.

    Returns
    -------
    list of str
        Those available; base methods always are.
    """
    from ccreco.analysis.evaluate import get_method

    ok = []
    for m in names:
        if m in BASE_METHODS:
            ok.append(m)
            continue
        try:
            meth = get_method(m)
            if meth.clusters is not None:
                meth.clusters({})
                ok.append(m)
        except (ConfigError, ImportError, OSError):
            pass
    return ok


__all__ = [
    "BASE_METHODS",
    "DEFAULT_PAIRS",
    "PidConfig",
    "PidResult",
    "cell_charge",
    "methods_available",
    "plot_pid",
    "run_pid",
    "truncated_mean",
    "write_pid",
]
