"""Figures and numbers of docs/SIMULATION.md, "Ionization and pulse models": cluster-size
distributions and e-/cluster of the table and HEED-like models (sampled by the simulator),
clusters/cm vs beta*gamma (measured in simulated tracks), and the single-electron pulses.

Usage::

    python examples/ionization_models.py [OUTDIR] [--n 4000] [--seed 1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import awkward as ak
import numpy as np

from ccreco.sim import SimConfig, simulate
from ccreco.sim.gas import cluster_density


def main() -> None:
    import mplhep as hep
    from matplotlib.figure import Figure

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", nargs="?", default="docs/img")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    hep.style.use("ROOT")
    models = {"table (tb2023-untuned)": SimConfig.from_preset("tb2023-untuned", window_ns=600.0),
              "HEED-like (heed-tube)": SimConfig.from_preset("heed-tube", window_ns=600.0)}

    fig = Figure(figsize=(8, 6))
    ax = fig.add_subplot()
    print("| model | P(1) | P(2) | P(3) | P(4) | P(5) | P(>5) | e-/cluster | largest |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for i, (label, cfg) in enumerate(models.items()):
        truth = ak.concatenate([c.truth for c in simulate(cfg, args.n, args.seed, chunk_size=2000)])
        k = ak.to_numpy(ak.flatten(truth.cluster_size))
        counts = np.bincount(k)[1:] / k.size
        x = np.arange(1, counts.size + 1)
        ax.step(x, np.where(counts > 0, counts, np.nan), where="mid", color=f"C{i}",
                label=f"{label}: mean {k.mean():.3f}, sampled")
        pmf = cfg.size_pmf
        ax.plot(np.arange(1, pmf.size + 1), pmf, ls=":", color=f"C{i}", label="model P(k)")
        p = [float((k == j).mean()) for j in range(1, 6)]
        print(f"| {label} | " + " | ".join(f"{v:.3f}" for v in p) + f" | {float((k > 5).mean()):.3f} | "
              f"{k.mean():.3f} +- {k.std() / np.sqrt(k.size):.3f} | {k.max()} |")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-6, 1.5)
    ax.set_xlabel("Electrons per cluster k")
    ax.set_ylabel("P(k)")
    ax.legend(fontsize=11)
    fig.savefig(out / "sim_cluster_sizes.png", dpi=90, bbox_inches="tight")

    # clusters/cm vs beta*gamma: simulated tracks (mu, pi, p at several momenta), 0.8 cm square cell
    fig = Figure(figsize=(8, 6))
    ax = fig.add_subplot()
    bgs = np.geomspace(0.5, 2000, 200)
    ax.plot(bgs, cluster_density(bgs), color="k", label="HEED table (Delphes / key4hep)")
    print("\n| species | p [GeV/c] | beta*gamma | clusters/cm table model | HEED-like model | table |")
    print("|---|---:|---:|---:|---:|---:|")
    for i, (label, cfg) in enumerate(models.items()):
        pts = []
        for sp, p in (("p", 0.6), ("p", 2.0), ("pi", 1.0), ("K", 5.0), ("pi", 8.0), ("mu", 180.0)):
            c = cfg.replace(species=(sp,), momenta_gev=(p,), cell_shape="square", impact_max_cm=0.35)
            t = ak.concatenate([ch.truth for ch in simulate(c, 1000, args.seed, chunk_size=1000)])
            rho = ak.to_numpy(t.n_clusters).sum() / ak.to_numpy(t.track_length_cm).sum()
            from ccreco.sim.particles import beta_gamma

            pts.append((float(beta_gamma(sp, p)), rho, sp, p))
        x, y = np.array([q[0] for q in pts]), np.array([q[1] for q in pts])
        ax.plot(x, y, "o" if i == 0 else "x", ms=9, color=f"C{i}", label=f"simulated, {label}")
        models[label] = (cfg, pts)  # type: ignore[assignment]
    (_, pa), (_, pb) = models.values()  # type: ignore[misc]
    for a, b in zip(pa, pb, strict=True):
        print(f"| {a[2]} | {a[3]:g} | {a[0]:.2f} | {a[1]:.2f} | {b[1]:.2f} | {float(cluster_density(a[0])):.2f} |")
    ax.set_xscale("log")
    ax.set_xlabel(r"$\beta\gamma$")
    ax.set_ylabel("Clusters / cm")
    ax.legend(fontsize=11)
    fig.savefig(out / "sim_clusters_per_cm.png", dpi=90, bbox_inches="tight")

    # pulses
    fig = Figure(figsize=(8, 6))
    ax = fig.add_subplot()
    ref_t = np.array([10.0, 20.0, 50.0])
    ref_v = np.array([0.31, 0.11, 0.02])
    print("\n| pulse | peak after arrival [ns] | FWHM [ns] | 10-90% rise [ns] | at 10 / 20 / 50 ns |")
    print("|---|---:|---:|---:|---|")
    for i, (label, cfg) in enumerate((("biexp (tb2023-*)", SimConfig()),
                                      ("iontail (heed-tube)", SimConfig.from_preset("heed-tube")))):
        tp = cfg.pulse_template
        t = np.arange(tp.values.size) * tp.dt_fine_ns
        v = tp.values
        r10 = t[np.flatnonzero(v >= 0.1)[0]]
        r90 = t[np.flatnonzero(v >= 0.9)[0]]
        at = np.interp(ref_t, t, v)
        print(f"| {label} | {tp.peak_delay_ns:.2f} | {tp.fwhm_ns:.2f} | {r90 - r10:.2f} | "
              + " / ".join(f"{a:.3f}" for a in at) + " |")
        ax.plot(t, v, color=f"C{i}", label=label)
    ax.plot(ref_t, ref_v, "ko", label="reference (Garfield++ sample): 0.31, 0.11, 0.02")
    ax.set_xlim(0, 60)
    ax.set_xlabel("Time after arrival [ns]")
    ax.set_ylabel("Single-electron pulse / peak")
    ax.legend(fontsize=11)
    fig.savefig(out / "sim_pulses.png", dpi=90, bbox_inches="tight")


if __name__ == "__main__":
    main()
