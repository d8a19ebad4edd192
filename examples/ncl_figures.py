"""Published-style figures from a ``ccreco reco`` output with truth (docs/RECO.md).

Left: N_cl distributions of MC truth, of the detected peaks (step 1) and of the step-2 ML model
(named from reco.root's provenance), with DERIV + clusterization for reference. Right: N_pred vs
N_true.

Usage: python examples/ncl_figures.py OUTDIR PNG
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mplhep as hep
import numpy as np
import uproot


def main(outdir: str, png: str) -> None:
    """Draw the two panels from OUTDIR/reco.root into PNG."""
    with uproot.open(f"{outdir}/reco.root") as f:
        t = f["reco"].arrays(["n_clusters_true", "n_peaks", "n_clusters", "deriv_n_clusters"], library="np")
        prov = json.loads(str(f["provenance"])) if "provenance" in f else {}
    model = prov.get("models", {}).get("clusters", {}).get("file")
    ml = f"ML ({Path(model).stem})" if model else "ML"
    hep.style.use("ROOT")
    fig, (a, b) = plt.subplots(1, 2, figsize=(15, 6))
    edges = np.arange(-0.5, max(t["n_peaks"].max(), t["n_clusters_true"].max()) + 1.5)
    for key, label in (("n_clusters_true", "MC truth (primary clusters)"), ("n_peaks", "detected peaks (LSTM)"),
                       ("n_clusters", f"{ml} output"), ("deriv_n_clusters", "DERIV + clusterization")):
        counts, _ = np.histogram(t[key], edges)
        mean, std = t[key].mean(), t[key].std()
        hep.histplot(counts, edges, ax=a, label=f"{label}: {mean:.1f} $\\pm$ {std:.1f}")
    a.set_xlabel(r"$N$ per waveform")
    a.set_ylabel("waveforms")
    a.set_ylim(0, a.get_ylim()[1] * 1.45)
    a.legend(fontsize=12, loc="upper right")
    lim = edges[-1]
    h, xe, ye = np.histogram2d(t["n_clusters_true"], t["n_clusters"], bins=[np.arange(-0.5, lim), np.arange(-0.5, lim)])
    hep.hist2dplot(np.where(h > 0, h, np.nan), xe, ye, ax=b)
    b.plot([0, lim], [0, lim], "r--", lw=1)
    from ccreco.analysis.metrics import cluster_metrics

    m = cluster_metrics(t["n_clusters_true"], t["n_clusters"])
    prof = [(n_true, mean) for n_true, count, mean, _ in m["profile"] if count >= 5]
    if prof:  # the mean count per true count: its slope is what separates particles
        b.plot(*zip(*prof, strict=True), "o", color="white", mec="black", ms=5, label="mean per true count")
        b.legend(fontsize=12, loc="upper left")
    b.set_title(f"bias {100 * m['bias'] / m['mean_true']:+.1f} %, slope {m['slope']:.2f}, "
                f"calibrated RMS {m['calibrated_rms_over_sqrt_n']:.2f} sqrt(N)", fontsize=15)
    b.set_xlabel(r"$N_{cl}$ (MC truth)")
    b.set_ylabel(rf"$N_{{cl}}$ ({ml})")
    fig.tight_layout()
    fig.savefig(png, dpi=90)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
