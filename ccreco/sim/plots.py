"""Summary plots of simulated waveforms and their truth (mplhep, ROOT style)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from ccreco.io import WaveformChunk
from ccreco.plotting import styled


def _figure() -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 6))  # the style: plot_chunk runs under ccreco.plotting.styled
    return fig, fig.add_subplot()


@styled
def plot_chunk(chunk: WaveformChunk, outdir: str | os.PathLike[str], n_examples: int = 3) -> list[Path]:
    """Draw clusters per track, electrons per cluster, arrival times and example waveforms.

    Parameters
    ----------
    chunk : WaveformChunk
        Simulated waveforms with truth.
    outdir : str or os.PathLike
        Directory for the PNG files (created).
    n_examples : int
        Number of example waveforms, each with its true electron peaks marked.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    import hist
    import mplhep as hep

    if chunk.truth is None:
        raise ValueError("plot_chunk needs a chunk with MC truth")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    truth = chunk.truth
    written: list[Path] = []

    def save(fig: Any, name: str) -> None:
        path = out / name
        fig.savefig(path, dpi=100, bbox_inches="tight")
        written.append(path)

    ncl = ak.to_numpy(truth.n_clusters)
    fig, ax = _figure()
    h = hist.Hist.new.Reg(int(ncl.max()) + 2, -0.5, ncl.max() + 1.5, name="n",
                          label="Primary clusters per track").Int64()
    h.fill(ncl)
    hep.histplot(h, ax=ax, histtype="fill", alpha=0.6, label=f"mean {ncl.mean():.2f}")
    ax.set_ylabel("Tracks")
    ax.legend()
    save(fig, "clusters_per_track.png")

    size = ak.to_numpy(ak.flatten(truth.cluster_size))
    fig, ax = _figure()
    h = hist.Hist.new.Reg(int(size.max()), 0.5, size.max() + 0.5, name="k", label="Electrons per cluster").Int64()
    h.fill(size)
    hep.histplot(h, ax=ax, label=f"mean {size.mean():.3f}")
    ax.set_yscale("log")
    ax.set_ylabel("Clusters")
    ax.legend()
    save(fig, "electrons_per_cluster.png")

    fig, ax = _figure()
    t_el = ak.to_numpy(ak.flatten(truth.electron_time_ns))
    t_cl = ak.to_numpy(ak.flatten(truth.cluster_time_ns))
    for values, label in ((t_el, "electrons"), (t_cl, "clusters (first electron)")):
        h_t = hist.Hist.new.Reg(150, 0, max(float(t_el.max()), 1.0) * 1.02, name="t",
                                label="Arrival time at the wire [ns from window start]").Double()
        h_t.fill(values)
        hep.histplot(h_t, ax=ax, label=label)
    ax.set_ylabel("Entries")
    ax.legend()
    save(fig, "drift_time_spectrum.png")

    dt = chunk.sampling_ns
    for i in range(min(n_examples, len(chunk))):
        fig, ax = _figure()
        wf = chunk.waveforms[i]
        t = np.arange(wf.size) * dt
        peaks = ak.to_numpy(truth.electron_peak_ns[i])
        lo = max(float(peaks.min()) - 40, 0.0) if peaks.size else 0.0
        hi = min(float(peaks.max()) + 80, t[-1]) if peaks.size else t[-1]
        sel = (t >= lo) & (t <= hi)
        ax.plot(t[sel], wf[sel], lw=1, color="k", label="waveform")
        idx = np.clip(np.rint(peaks / dt).astype(int), 0, wf.size - 1)
        ax.plot(peaks, wf[idx], "v", color="tab:red", ms=6, label=f"true electron peaks ({peaks.size})")
        ax.set_xlabel("Time [ns from window start]")
        ax.set_ylabel("Amplitude [mV]")
        ax.set_title(f"event {int(chunk.meta.event[i])}: {int(truth.n_clusters[i])} clusters", fontsize=14)
        ax.legend(fontsize=12)
        save(fig, f"waveform_{i}.png")
    return written


def plot_file(path: str | os.PathLike[str], outdir: str | os.PathLike[str], max_events: int = 20_000,
              n_examples: int = 3) -> list[Path]:
    """Draw the :func:`plot_chunk` summary for the first ``max_events`` entries of a file.

    Parameters
    ----------
    path : str or os.PathLike
        A ROOT file in ccreco's native schema with truth (e.g. from ``ccreco simulate``).
    outdir : str or os.PathLike
        Directory for the PNG files.
    max_events : int
        Entries read (memory stays bounded for large files).
    n_examples : int
        Example waveforms drawn.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    import uproot

    from ccreco.constants import TREE

    fields = ["n_clusters", "cluster_size", "cluster_time_ns", "electron_time_ns", "electron_peak_ns"]
    with uproot.open(path) as f:
        tree = f[TREE]
        arr = tree.arrays(fields + ["waveform", "sampling_ns", "event"], entry_stop=max_events)
    chunk = WaveformChunk(
        waveforms=np.ascontiguousarray(ak.to_numpy(arr.waveform), dtype=np.float32),
        sampling_ns=float(arr.sampling_ns[0]),
        meta=ak.zip({"event": arr.event}),
        truth=ak.zip({k: arr[k] for k in fields}, depth_limit=1),
    )
    return plot_chunk(chunk, outdir, n_examples=n_examples)
