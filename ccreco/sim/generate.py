"""Chunked, seeded generation of waveforms with MC truth, and writing them to ROOT files.

Events are generated in fixed blocks of :data:`BLOCK` events; block ``b`` draws from random
streams derived from ``SeedSequence(seed, spawn_key=(b,))``, one stream per random quantity.
The output therefore depends only on ``(config, seed, event index)``: the same for every
chunk size, and (because each stream is consumed event by event) the first events of a run are
the same whatever ``n`` is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from ccreco.constants import STEP_SIZE
from ccreco.errors import ConfigError
from ccreco.io import NtupleWriter, WaveformChunk
from ccreco.sim.clusters import cluster_range_cm
from ccreco.sim.config import SimConfig
from ccreco.sim.electronics import PulseTemplate, digitize, polya_gain
from ccreco.sim.gas import cluster_density
from ccreco.sim.particles import PARTICLES, chord_cm, path_length_cm

#: Events per generation block (fixed: changing it changes the random streams).
BLOCK: int = 256

_STREAMS = ("species", "momentum", "impact", "jitter", "n_clusters", "position", "size",
            "diffusion", "gain", "white", "coloured", "delta")

#: Truth fields per event, per cluster and per electron, in output order.
EVENT_FIELDS = ("n_clusters", "impact_cm", "track_length_cm", "momentum_gev", "pdg", "angle_deg",
                "saturated")
CLUSTER_FIELDS = ("cluster_time_ns", "cluster_size", "cluster_distance_cm")
ELECTRON_FIELDS = ("electron_time_ns", "electron_cluster", "electron_peak_ns", "electron_gain",
                   "electron_in_window")


@dataclass
class _Block:
    """Flat arrays of a run of consecutive events."""

    first: int
    waveforms: np.ndarray
    event: dict[str, np.ndarray]
    cluster: dict[str, np.ndarray]
    n_cl: np.ndarray
    electron: dict[str, np.ndarray]
    n_el: np.ndarray

    def __len__(self) -> int:
        return int(self.waveforms.shape[0])

    def slice(self, a: int, b: int) -> _Block:
        """Events ``[a, b)`` of the block (local indices)."""
        oc = np.concatenate([[0], np.cumsum(self.n_cl)])
        oe = np.concatenate([[0], np.cumsum(self.n_el)])
        return _Block(
            self.first + a,
            self.waveforms[a:b],
            {k: v[a:b] for k, v in self.event.items()},
            {k: v[oc[a] : oc[b]] for k, v in self.cluster.items()},
            self.n_cl[a:b],
            {k: v[oe[a] : oe[b]] for k, v in self.electron.items()},
            self.n_el[a:b],
        )


class _Generator:
    """Precomputed tables of one configuration and the per-block generation."""

    def __init__(self, config: SimConfig) -> None:
        c = config
        self.config = c
        self.template: PulseTemplate = c.pulse_template
        self.drift = c.drift_table
        pmf = c.size_pmf
        self.size_cdf = np.cumsum(pmf)
        self.size_max = int(pmf.size)
        self.masses = np.array([PARTICLES[s][0] for s in c.species])
        self.pdgs = np.array([PARTICLES[s][1] for s in c.species], dtype=np.int32)
        self.momenta = np.array(c.momenta_gev, dtype=np.float64)

    def _spread(self, rng: np.random.Generator, x: np.ndarray, y: np.ndarray, size: np.ndarray,
                el_cl: np.ndarray) -> np.ndarray:
        """Start radius of every electron, spread along its cluster's delta-electron range.

        A cluster of k electrons at (x, y) in the plane transverse to the wire was made by a
        delta electron of energy (k - 1) W; its electrons lie at uniform fractions of the range
        R(E) (:func:`ccreco.sim.clusters.cluster_range_cm`) along an isotropic direction (the
        first electron, the primary's, at the start). The direction's projection on the
        transverse plane is ``sin(theta)`` times a uniform azimuth; the component along the wire
        does not change the drift. Radii are clamped to the wire and to the cell's outer radius.
        """
        c = self.config
        rng_cm = cluster_range_cm(size)
        cos_t = rng.uniform(-1.0, 1.0, size.size)
        phi = rng.uniform(0.0, 2 * np.pi, size.size)
        sin_t = np.sqrt(1.0 - cos_t * cos_t)
        first = np.concatenate([[0], np.cumsum(size)[:-1]])
        is_first = np.zeros(el_cl.size, dtype=bool)
        is_first[first[size > 0]] = True
        frac = np.where(is_first, 0.0, rng.random(el_cl.size))
        step = frac * rng_cm[el_cl] * sin_t[el_cl]
        xe = x[el_cl] + step * np.cos(phi[el_cl])
        ye = y[el_cl] + step * np.sin(phi[el_cl])
        r: np.ndarray = np.clip(np.hypot(xe, ye), c.wire_radius_cm, c.r_max_cm)
        return r

    def block(self, seed: int, index: int, m: int) -> _Block:
        """Generate the first ``m`` events of block ``index``."""
        c = self.config
        ss = np.random.SeedSequence(seed, spawn_key=(index,))
        rng = dict(zip(_STREAMS, (np.random.default_rng(s) for s in ss.spawn(len(_STREAMS))), strict=True))

        sp = rng["species"].integers(0, self.masses.size, m)
        mom = self.momenta[rng["momentum"].integers(0, self.momenta.size, m)]
        impact = rng["impact"].uniform(c.impact_min_cm, c.impact_max_cm, m)
        t0 = c.trigger_offset_ns + c.trigger_jitter_ns * rng["jitter"].standard_normal(m)
        chord = chord_cm(c.cell_shape, c.cell_size_cm, impact)
        length = path_length_cm(chord, c.angle_deg)
        mean_ncl = cluster_density(mom / self.masses[sp]) * c.density_scale * length
        n_cl = rng["n_clusters"].poisson(mean_ncl).astype(np.int64)

        # clusters: uniform along the track, all electrons of a cluster start at one point
        cl_ev = np.repeat(np.arange(m), n_cl)
        x = (rng["position"].random(cl_ev.size) - 0.5) * chord[cl_ev]
        r = np.maximum(np.hypot(x, impact[cl_ev]), c.wire_radius_cm)
        size = np.searchsorted(self.size_cdf, rng["size"].random(cl_ev.size), side="right") + 1
        size = np.minimum(size, self.size_max)

        # electrons: drift + longitudinal diffusion, arrival in the window frame
        el_cl = np.repeat(np.arange(cl_ev.size), size)
        r_el = r[el_cl]
        if c.delta_electron_spread:
            r_el = self._spread(rng["delta"], x, impact[cl_ev], size, el_cl)
        t_drift = self.drift.time_ns(r_el) + self.drift.spread_ns(r_el) * rng["diffusion"].standard_normal(el_cl.size)
        t_el = np.maximum(t_drift, 0.0) + t0[cl_ev[el_cl]]
        gain = polya_gain(rng["gain"], el_cl.size, c.gain_mean, c.gain_theta)

        # order clusters by arrival of their first electron, electrons by cluster then time
        cl_time = np.full(cl_ev.size, np.inf)
        np.minimum.at(cl_time, el_cl, t_el)
        cl_order = np.lexsort((cl_time, cl_ev))
        cl_rank = np.empty_like(cl_order)
        cl_rank[cl_order] = np.arange(cl_order.size)
        cl_first = np.concatenate([[0], np.cumsum(n_cl)])[:-1]
        el_order = np.lexsort((t_el, cl_rank[el_cl]))
        el_cl_sorted = el_cl[el_order]
        el_local = cl_rank[el_cl_sorted] - cl_first[cl_ev[el_cl_sorted]]
        t_el = t_el[el_order]
        gain = gain[el_order]
        n_el = np.bincount(cl_ev, weights=size, minlength=m).astype(np.int64)

        n = c.n_samples
        white = rng["white"].standard_normal((m, n), dtype=np.float32)
        coloured = rng["coloured"].standard_normal((m, n), dtype=np.float32) if c.coloured_noise_mv > 0 else white
        amp = c.single_electron_mv * gain / c.gain_mean
        wf, saturated = digitize(
            np.concatenate([[0], np.cumsum(n_el)]), t_el, amp, self.template,
            n_samples=n, sampling_ns=c.sampling_ns, white=white, white_mv=c.noise_mv,
            coloured=coloured, coloured_mv=c.coloured_noise_mv,
            coloured_time_ns=c.coloured_noise_time_ns, baseline_mv=c.baseline_mv,
            adc_bits=c.adc_bits, adc_min_mv=c.adc_min_mv, adc_max_mv=c.adc_max_mv,
        )
        peak = t_el + self.template.peak_delay_ns
        idx = np.rint(peak / c.sampling_ns)
        return _Block(
            first=index * BLOCK,
            waveforms=wf,
            event={
                "n_clusters": n_cl.astype(np.int32),
                "impact_cm": impact,
                "track_length_cm": length,
                "momentum_gev": mom,
                "pdg": self.pdgs[sp],
                "angle_deg": np.full(m, c.angle_deg),
                "saturated": saturated,
            },
            cluster={
                "cluster_time_ns": cl_time[cl_order],
                "cluster_size": size[cl_order].astype(np.int32),
                "cluster_distance_cm": r[cl_order],
            },
            n_cl=n_cl,
            electron={
                "electron_time_ns": t_el,
                "electron_cluster": el_local.astype(np.int32),
                "electron_peak_ns": peak,
                "electron_gain": gain.astype(np.float32),
                "electron_in_window": (idx >= 0) & (idx < n),
            },
            n_el=n_el,
        )


def _to_chunk(parts: list[_Block], config: SimConfig) -> WaveformChunk:
    def cat(get: Any) -> np.ndarray:
        return np.concatenate([get(p) for p in parts])

    waveforms = np.ascontiguousarray(cat(lambda p: p.waveforms))
    n = waveforms.shape[0]
    first = parts[0].first
    n_cl = cat(lambda p: p.n_cl)
    n_el = cat(lambda p: p.n_el)
    fields: dict[str, Any] = {k: cat(lambda p, k=k: p.event[k]) for k in EVENT_FIELDS}
    for k in CLUSTER_FIELDS:
        fields[k] = ak.unflatten(cat(lambda p, k=k: p.cluster[k]), n_cl)
    for k in ELECTRON_FIELDS:
        fields[k] = ak.unflatten(cat(lambda p, k=k: p.electron[k]), n_el)
    meta = ak.zip(
        {
            "run": np.full(n, config.run, dtype=np.int64),
            "event": np.arange(first, first + n, dtype=np.int64),
            "channel": np.zeros(n, dtype=np.int32),
        }
    )
    return WaveformChunk(
        waveforms=waveforms,
        sampling_ns=float(config.sampling_ns),
        meta=meta,
        truth=ak.zip(fields, depth_limit=1),
    )


def simulate(
    config: SimConfig, n: int, seed: int, chunk_size: int = STEP_SIZE, start: int = 0
) -> Iterator[WaveformChunk]:
    """Generate ``n`` waveforms with MC truth, chunk by chunk.

    Parameters
    ----------
    config : SimConfig
        The simulation parameters (validated on creation).
    n : int
        Number of waveforms.
    seed : int
        Random seed; output depends only on (config, seed, event index).
    chunk_size : int
        Waveforms per yielded chunk (does not change the content).
    start : int
        Index of the first event (to continue a run in several jobs).

    Yields
    ------
    WaveformChunk
        Waveforms in mV (positive pulses), ``meta`` with run/event/channel and ``truth`` with
        the fields of docs/SIMULATION.md. All truth times are ns from the window start.

    Examples
    --------
    >>> cfg = SimConfig.from_preset("tb2023-untuned")
    >>> chunk = next(simulate(cfg, 10, seed=1))
    >>> chunk.waveforms.shape
    (10, 2000)
    """
    if n < 0 or chunk_size < 1 or start < 0 or seed < 0:
        raise ConfigError(f"need n >= 0, chunk_size >= 1, start >= 0, seed >= 0 "
                          f"(got {n}, {chunk_size}, {start}, {seed})")
    gen = _Generator(config)
    stop = start + n
    cache: dict[int, _Block] = {}
    pos = start
    while pos < stop:
        end = min(pos + chunk_size, stop)
        parts = []
        for b in range(pos // BLOCK, (end - 1) // BLOCK + 1):
            if b not in cache:
                cache.clear()  # blocks are visited in order: keep only the current one
                cache[b] = gen.block(seed, b, min(BLOCK, stop - b * BLOCK))
            blk = cache[b]
            parts.append(blk.slice(max(pos, blk.first) - blk.first, min(end, blk.first + len(blk)) - blk.first))
        yield _to_chunk(parts, config)
        pos = end


def simulate_to_file(
    path: str | os.PathLike[str],
    config: SimConfig,
    n: int,
    seed: int,
    chunk_size: int = STEP_SIZE,
    progress: bool = True,
) -> int:
    """Simulate ``n`` waveforms and write them (with truth and the config) to a ROOT file.

    The file is written atomically through :class:`ccreco.io.NtupleWriter`; its metadata holds
    the generator name, the seed and ``config.to_dict()``.

    Parameters
    ----------
    path : str or os.PathLike
        Output ROOT file.
    config : SimConfig
        Simulation parameters.
    n : int
        Number of waveforms.
    seed : int
        Random seed.
    chunk_size : int
        Waveforms per written basket.
    progress : bool
        Show a progress bar (only on a terminal).

    Returns
    -------
    int
        Number of entries written.
    """
    from ccreco._progress import progress as make_bar

    metadata = {
        "generator": "ccreco.sim",
        "preset": config.name,
        "seed": seed,
        "n_events": n,
        "sim_config": config.to_dict(),
    }
    with NtupleWriter(path, metadata=metadata) as writer, make_bar(
        total=n, desc="simulate", unit="wf", disable=None if progress else True
    ) as bar:
        for chunk in simulate(config, n, seed, chunk_size=chunk_size):
            writer.write(chunk)
            bar.update(len(chunk))
        return writer.n_entries
