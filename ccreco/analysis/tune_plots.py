"""Before/after plots of a simulator tuning (:func:`ccreco.analysis.tune.tune`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ccreco.analysis.features import FeatureConfig, Features
from ccreco.analysis.tune import TUNE_FEATURES, simulate_features
from ccreco.plotting import styled


@styled
def plot_tuning(result: Any, data: Features, outdir: str | os.PathLike[str], n_sim: int | None = None,
                seed: int = 1, features: FeatureConfig = TUNE_FEATURES) -> list[Path]:
    """Before/after plots: data vs the start and the tuned simulation.

    Draws normalized distributions with ratio panels (baseline RMS, peak amplitude, candidate and
    peak counts, peak times, first-peak time, charge) and the mean isolated-peak shape and
    signal autocorrelation.

    Parameters
    ----------
    result : TuneResult
        From :func:`tune`.
    data : Features
        The data features that were tuned to.
    outdir : str or os.PathLike
        Directory (created).
    n_sim : int, optional
        Simulated waveforms for the plots (default: as many as the data, at most 5000).
    seed : int
        Simulation seed.
    features : FeatureConfig
        Feature options.

    Returns
    -------
    list of pathlib.Path
        PNG files written.
    """
    from ccreco import plotting
    from ccreco.analysis.compare import LABELS, common_edges, overlay_figure

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    n = n_sim or min(len(data), 5000)
    start_cfg = result.config.replace(**result.start)
    before = simulate_features(start_cfg, n, seed, features)
    after = simulate_features(result.config, n, seed, features)
    samples = {"data": data.columns(), "sim start": before.columns(), "sim tuned": after.columns()}
    written: list[Path] = []
    for name in ("baseline_rms_mv", "peak_amplitude_mv", "n_candidates", "n_peaks", "peak_time_ns",
                 "first_peak_ns", "charge_mv_ns"):
        vals = {k: v[name] for k, v in samples.items()}
        edges = common_edges(vals["data"][np.isfinite(vals["data"])], vals["sim tuned"][np.isfinite(vals["sim tuned"])])
        fig = overlay_figure(vals, edges, LABELS.get(name, name), title="tuning", reference="data")
        path = out / f"tune_{name}.png"
        fig.savefig(path, dpi=90, bbox_inches="tight")
        written.append(path)
    # the tails (large clusters, delta electrons) on a log scale, up to the data's maximum
    for name in ("peak_amplitude_mv", "charge_mv_ns"):
        vals = {k: v[name][np.isfinite(v[name])] for k, v in samples.items()}
        top = float(np.max(vals["data"])) if vals["data"].size else 1.0
        edges = np.linspace(0.0, max(top, 1e-9) * 1.02, 61)
        # log scale chosen inside, before the legend's headroom is set (a log scale set afterwards
        # would leave linear headroom: the legend would sit on the spectrum)
        fig = overlay_figure(vals, edges, LABELS.get(name, name), title="tuning: tail", reference="data", logy=True)
        path = out / f"tune_{name}_tail.png"
        fig.savefig(path, dpi=90, bbox_inches="tight")
        written.append(path)
    fig, (ax1, ax2) = plotting.figure((14, 6), 1, 2, gridspec_kw={"wspace": 0.35})
    k = np.arange(-features.shape_left, features.shape_right + 1)
    for i, (label, f) in enumerate((("data", data), ("sim start", before), ("sim tuned", after))):
        style = {"color": "k", "marker": "o", "ls": "none"} if label == "data" else {"color": f"C{i}"}
        if f.shapes.shape[0]:
            ax1.plot(k, f.shapes.mean(axis=0), label=f"{label} ({f.shapes.shape[0]} peaks)", **style)
        if f.autocorr is not None:
            lags = np.arange(1, f.autocorr.shape[1] + 1)
            ax2.plot(lags, np.nanmean(f.autocorr, axis=0), label=label, **style)
    ax1.set_xlabel("Samples from the peak")
    ax1.set_ylabel("Mean isolated pulse / maximum")
    plotting.legend(ax1)  # above the curves: the y range is raised for it
    ax2.set_xlabel("Lag [samples]")
    ax2.set_ylabel("Signal autocorrelation")
    plotting.legend(ax2)
    path = out / "tune_shape.png"
    fig.savefig(path, dpi=90, bbox_inches="tight")
    written.append(path)
    return written



__all__ = ["plot_tuning"]
