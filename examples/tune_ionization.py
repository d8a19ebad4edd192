"""End-to-end: simulate "data" with one ionization model, tune the simulator starting from the
other, and compare before/after (docs/DATA_VS_SIM.md, "Tuning the cluster sizes").

    A   "data": the heed-tube preset with HEED-like cluster sizes (P(1) 0.90, k^-2 tail up to
        300 electrons, delta-electron ranges), gain 11 mV, noise 1.7 mV;
    B   the same tube simulated with today's default cluster sizes (the Fischle table, k_max 17,
        no delta ranges) and the preset's gain and noise;
    tune B's parameters to A: cluster_p1 and cluster_tail_exponent (the tuner switches B to the
        HEED-like member closest to the table), gain, cluster density, noise -> tuned.toml;
    BB  simulation with tuned.toml; compare A vs B and A vs BB (truth-free distributions);
    finally the truth the tuning never saw: P(1), e-/cluster and clusters/cm of A, B and BB.

Usage::

    python examples/tune_ionization.py [WORKDIR] [--n 6000] [--n-sim 2000]

The window is cut to 600 ns (every drift fits; 3x faster). About 1 minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import awkward as ak
import numpy as np

from ccreco.cli import main as ccreco

COMMON = ["--set", "window_ns=600"]
HIDDEN = {"cluster_p1": 0.90, "cluster_tail_exponent": 2.0, "single_electron_mv": 11.0, "noise_mv": 1.7}
START = ["--set", "cluster_size_model=table", "--set", "delta_electron_spread=false"]
PARAMS = "cluster_p1,cluster_tail_exponent,single_electron_mv,density_scale,noise_mv"


def run(argv: list[str]) -> None:
    print("\n$ ccreco " + " ".join(argv), flush=True)
    rc = ccreco(argv)
    if rc != 0:
        raise SystemExit(f"ccreco {' '.join(argv)} failed with status {rc}")


def truth_summary(path: Path) -> dict[str, float]:
    import uproot

    with uproot.open(path) as f:
        t = f["sim"].arrays(["cluster_size", "n_clusters", "track_length_cm"])
    k = ak.to_numpy(ak.flatten(t.cluster_size))
    return {"P1": float((k == 1).mean()), "e_per_cluster": float(k.mean()),
            "clusters_per_cm": float(ak.to_numpy(t.n_clusters).sum() / ak.to_numpy(t.track_length_cm).sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir", nargs="?", default="tune_ionization_out")
    ap.add_argument("--n", type=int, default=6000, help="waveforms of A, B and BB")
    ap.add_argument("--n-sim", type=int, default=2000, help="simulated waveforms per tuning evaluation")
    args = ap.parse_args()
    w = Path(args.workdir)
    w.mkdir(parents=True, exist_ok=True)
    n = str(args.n)
    hidden = [x for k, v in HIDDEN.items() for x in ("--set", f"{k}={v}")]
    run(["simulate", "--preset", "heed-tube", *COMMON, *hidden, "-n", n, "--seed", "101", "-o", str(w / "A.root")])
    run(["simulate", "--preset", "heed-tube", *COMMON, *START, "-n", n, "--seed", "202", "-o", str(w / "B.root")])
    run(["tune", str(w / "A.root"), "--preset", "heed-tube", *COMMON, *START, "--params", PARAMS,
         "--n-data", n, "--n-sim", str(args.n_sim), "-o", str(w / "tuned.toml"), "--plots", str(w / "tune_plots")])
    run(["simulate", "--config", str(w / "tuned.toml"), "-n", n, "--seed", "303", "-o", str(w / "BB.root")])
    run(["compare", str(w / "A.root"), str(w / "B.root"), "--labels", "A (data),B (start)", "-o", str(w / "cmp_A_B")])
    run(["compare", str(w / "A.root"), str(w / "BB.root"), "--labels", "A (data),BB (tuned)",
         "-o", str(w / "cmp_A_BB")])

    tuned = json.loads((w / "tuned.json").read_text())
    out = {"hidden": HIDDEN, "tuned": tuned["parameters"], "errors": tuned["errors"], "warnings": tuned["warnings"],
           "chi2_ndf": [tuned["chi2_before"], tuned["chi2_after"], tuned["ndf"]],
           "truth": {s: truth_summary(w / f"{s}.root") for s in ("A", "B", "BB")}}
    for s in ("A_B", "A_BB"):
        summ = json.loads((w / f"cmp_{s}" / "summary.json").read_text())
        out[f"ks_{s}"] = {v: round(float(d["ks"]), 4) for v, d in summ["variables"].items() if "ks" in d}
    (w / "summary.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    a, bb = out["truth"]["A"], out["truth"]["BB"]
    print(f"\nP(1): A {a['P1']:.3f}, BB {bb['P1']:.3f}; e-/cluster: A {a['e_per_cluster']:.3f}, BB "
          f"{bb['e_per_cluster']:.3f} ({bb['e_per_cluster'] / a['e_per_cluster'] - 1:+.1%}); clusters/cm: A "
          f"{a['clusters_per_cm']:.3f}, BB {bb['clusters_per_cm']:.3f} "
          f"({bb['clusters_per_cm'] / a['clusters_per_cm'] - 1:+.1%})")
    assert np.isfinite(bb["P1"])


if __name__ == "__main__":
    main()
