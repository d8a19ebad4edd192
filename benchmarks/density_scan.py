"""Step-2 response across cluster density: does the mean count follow the truth between samples?

A sample's slope (profile of N_reco against N_true inside one sample) is driven by the spread of
track lengths; dN/dx also has to follow the *density* of clusters, which changes between
particles (PID), with the track angle (the same clusters spread over a longer path arrive
closer in time) and with the gas. This benchmark simulates four families of held-out samples,
evaluates the step-2 counters given on each and fits the mean count of the samples against
their mean true count ("across-density slope", 1 for a count that follows the density):

- ``cell (table)``: the ``tb2023-untuned`` cell, ``density_scale`` 0.7, 1, 1.41, 2;
- ``tube (table)``: the same in a round tube with chords 0-0.8 cm;
- ``tube (HEED-like)``: the ``heed-tube`` preset, ``density_scale`` 0.7, 1, 1.41, 2;
- ``tube (HEED-like), angle``: the ``heed-tube`` preset at 0, 30, 45, 60 degrees (the path, and
  so the clusters per ns of drift, grows as 1 / cos).

Samples: 2,000 waveforms each, seeds in ``SAMPLES`` (the density-1 samples are those of
``benchmarks/step2_populations.py``). Files that exist are reused.

Usage::

    python benchmarks/density_scan.py --dir DIR perpeak deriv "cnn_nopresel=cnn:preselect=false"

``--config tuned.toml`` scans one simulator configuration instead (its density x 0.7-2 and its
angle 0-60 degrees), e.g. the one ``ccreco tune`` fitted to data: the response to correct an
absolute dN/dx, or a comparison across angles, with.

Each METHOD is ``[LABEL=]NAME[:key=value,...]`` of a ``ccreco evaluate clusters`` method. Prints a
markdown table (bias, sample slope, calibrated RMS/sqrt(N) per sample and the across-density
slope per family); ``-o FILE.json`` writes the numbers and ``--plot FILE.png`` draws the mean
count over the mean true count per family.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ccreco.analysis.evaluate import get_method
from ccreco.analysis.metrics import cluster_metrics
from ccreco.io import iterate
from ccreco.sim import SimConfig, simulate_to_file

_TUBE = {"cell_shape": "tube", "impact_min_cm": 0.0, "impact_max_cm": 0.398}
#: family -> [(label, file stem, preset or TOML path, seed, SimConfig overrides)]
Samples = dict[str, list[tuple[str, str, str, int, dict]]]
SAMPLES: Samples = {
    "cell (table)": [
        ("x0.7", "cd0.7", "tb2023-untuned", 4902, {"density_scale": 0.7}),
        ("x1", "untuned", "tb2023-untuned", 4242, {}),
        ("x1.41", "cd1.41", "tb2023-untuned", 4903, {"density_scale": 1.41}),
        ("x2", "cd2.0", "tb2023-untuned", 4904, {"density_scale": 2.0}),
    ],
    "tube (table)": [
        ("x0.7", "td0.7", "tb2023-untuned", 4802, {**_TUBE, "density_scale": 0.7}),
        ("x1", "tube", "tb2023-untuned", 4343, _TUBE),
        ("x1.41", "td1.41", "tb2023-untuned", 4803, {**_TUBE, "density_scale": 1.41}),
        ("x2", "td2.0", "tb2023-untuned", 4804, {**_TUBE, "density_scale": 2.0}),
    ],
    "tube (HEED-like)": [
        ("x0.7", "hd0.7", "heed-tube", 4702, {"density_scale": 0.7}),
        ("x1", "heed", "heed-tube", 4444, {}),
        ("x1.41", "hd1.41", "heed-tube", 4703, {"density_scale": 1.41}),
        ("x2", "hd2.0", "heed-tube", 4704, {"density_scale": 2.0}),
    ],
    "tube (HEED-like), angle": [
        ("0 deg", "heed", "heed-tube", 4444, {}),
        ("30 deg", "ha30", "heed-tube", 4705, {"angle_deg": 30.0}),
        ("45 deg", "ha45", "heed-tube", 4706, {"angle_deg": 45.0}),
        ("60 deg", "ha60", "heed-tube", 4707, {"angle_deg": 60.0}),
    ],
}
N_WAVEFORMS: int = 2000


def config_samples(path: str) -> Samples:
    """The two families of one simulator configuration (e.g. ``ccreco tune``'s tuned TOML):
    its density x 0.7 / 1 / 1.41 / 2 and its angle 0 / 30 / 45 / 60 degrees (seeds 4601-4608).
    The preset slot of each row holds the TOML path."""
    stem = Path(path).stem
    dens = [(f"x{d:g}", f"{stem}_d{d:g}", path, 4601 + i, {"density_scale": d})
            for i, d in enumerate((0.7, 1.0, 1.41, 2.0))]
    ang = [(f"{a:g} deg", f"{stem}_a{a:g}", path, 4605 + i, {"angle_deg": a})
           for i, a in enumerate((0.0, 30.0, 45.0, 60.0))]
    return {f"{stem}, density": dens, f"{stem}, angle": ang}


def _config(preset: str, overrides: dict) -> SimConfig:
    if preset.endswith(".toml"):
        return SimConfig.from_toml(preset).replace(**overrides)
    return SimConfig.from_preset(preset, **overrides)


def make_samples(directory: Path, n: int = N_WAVEFORMS, samples: Samples = SAMPLES) -> None:
    """Simulate every sample of ``samples`` that is not in ``directory`` yet (``n`` waveforms each)."""
    directory.mkdir(parents=True, exist_ok=True)
    for rows in samples.values():
        for _, stem, preset, seed, overrides in rows:
            path = directory / f"{stem}.root"
            if not path.exists():
                simulate_to_file(path, _config(preset, overrides), n, seed=seed, progress=False)


def _counts(name: str, options: dict[str, str], path: Path) -> tuple[np.ndarray, np.ndarray]:
    counter = get_method(name).clusters(dict(options))
    reco, true = [], []
    for chunk in iterate(path, step_size=1000):
        reco.append(np.asarray(counter(chunk), dtype=float))
        true.append(np.asarray(chunk.truth["n_clusters"], dtype=float))
    return np.concatenate(reco), np.concatenate(true)


def scan(directory: Path, name: str, options: dict[str, str], samples: Samples = SAMPLES) -> dict[str, dict]:
    """Per family of ``samples``: each sample's metrics and the across-density slope (with its error)."""
    out: dict[str, dict] = {}
    for family, rows in samples.items():
        per: dict[str, dict[str, float]] = {}
        for label, stem, *_ in rows:
            r, t = _counts(name, options, directory / f"{stem}.root")
            m = cluster_metrics(t, r)
            per[label] = {k: float(m[k]) for k in ("mean_true", "bias", "slope", "rms_over_sqrt_n",
                                                    "calibrated_rms_over_sqrt_n")}
            per[label]["mean_reco"] = float(r.mean())
            per[label]["err_reco"] = float(r.std(ddof=1) / np.sqrt(r.size))
        x = np.array([v["mean_true"] for v in per.values()])
        y = np.array([v["mean_reco"] for v in per.values()])
        w = 1 / np.array([v["err_reco"] for v in per.values()]) ** 2
        (slope, icpt), cov = np.polyfit(x, y, 1, w=np.sqrt(w), cov="unscaled")
        out[family] = {"samples": per, "across_slope": float(slope), "across_slope_err": float(np.sqrt(cov[0, 0])),
                       "across_intercept": float(icpt)}
    return out


def table(results: dict[str, dict[str, dict]]) -> str:
    """Markdown: one row per method and family (the families of :func:`scan`'s results)."""
    lines = ["| family | method | across-density slope | per sample: bias [%] / slope / calibrated RMS/sqrt(N) |",
             "|---|---|---|---|"]
    for family in next(iter(results.values()), {}):
        for method, res in results.items():
            f = res[family]
            cells = "; ".join(f"{lab} ({v['mean_true']:.1f}): {100 * v['bias'] / v['mean_true']:+.1f} "
                              f"/ {v['slope']:.2f} / {v['calibrated_rms_over_sqrt_n']:.2f}"
                              for lab, v in f["samples"].items())
            lines.append(f"| {family} | {method} | {f['across_slope']:.2f} +- {f['across_slope_err']:.2f} | {cells} |")
    return "\n".join(lines)


def plot(results: dict[str, dict[str, dict]], path: Path) -> None:
    """Mean count / mean true count against the mean true count, one panel per family."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = list(next(iter(results.values()), {}))
    rows = -(-len(families) // 2)
    fig, grid = plt.subplots(rows, 2, figsize=(10, 4 * rows), sharey=True, squeeze=False)
    for ax in grid.ravel()[len(families):]:
        ax.set_visible(False)
    for ax, family in zip(grid.ravel(), families, strict=False):  # an odd count leaves one panel empty
        for method, res in results.items():
            per = res[family]["samples"]
            x = np.array([v["mean_true"] for v in per.values()])
            y = np.array([v["mean_reco"] for v in per.values()]) / x
            e = np.array([v["err_reco"] for v in per.values()]) / x
            ax.errorbar(x, y, yerr=e, marker="o", capsize=2,
                        label=f"{method} (slope {res[family]['across_slope']:.2f})")
            for (lab, _), xi, yi in zip(per.items(), x, y, strict=True):
                ax.annotate(lab, (xi, yi), textcoords="offset points", xytext=(3, 4), fontsize=7, color="0.35")
        ax.axhline(1.0, color="k", lw=0.8, ls="--")
        ax.set_title(family, fontsize=10)
        ax.set_xlabel("mean true clusters per waveform")
        ax.legend(fontsize=7, loc="lower left")
        ax.grid(alpha=0.3)
    for ax in grid[:, 0]:
        ax.set_ylabel("mean count / mean true count")
    fig.suptitle(f"Step-2 response across cluster density ({N_WAVEFORMS:,} waveforms per point)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("methods", nargs="+", metavar="METHOD")
    ap.add_argument("--dir", required=True, help="folder for the samples (made when missing)")
    ap.add_argument("-o", "--output", help="JSON file")
    ap.add_argument("--plot", help="PNG file")
    ap.add_argument("--config", metavar="FILE.toml",
                    help="scan this simulator configuration (density and angle) instead of the four default families")
    args = ap.parse_args()
    # --config, e.g. a tuned configuration: the response to correct an absolute dN/dx with
    samples = config_samples(args.config) if args.config else SAMPLES
    directory = Path(args.dir)
    make_samples(directory, samples=samples)
    results: dict[str, dict[str, dict]] = {}
    for spec in args.methods:
        head, _, opts = spec.partition(":")
        label, _, name = head.rpartition("=")
        options = dict(kv.split("=", 1) for kv in opts.split(",") if kv)
        results[label or name] = scan(directory, name, options, samples)
    print(table(results))
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=1) + "\n")
    if args.plot:
        plot(results, Path(args.plot))


if __name__ == "__main__":
    main()
