"""Print the demo's summary table from the ``summary.json`` of each ``ccreco reco`` run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

PRESETS = ("tb2023-untuned", "tb2023-tuned")


def main(outdir: str) -> None:
    """Print waveforms, mean n_peaks, N_cl reco (step-2 ML model) vs truth, dN/dx and throughput per run."""
    out = Path(outdir)
    print(f"\n{'run':<15} {'waveforms':>9} {'<n_peaks>':>9} {'<N_cl> ML':>10} {'<N_cl> true':>11} "
          f"{'bias':>7} {'<N_cl> DERIV':>12} {'dN/dx [1/cm]':>12} {'wf/s':>6} {'executor':>10}")
    models = []
    for preset in PRESETS:
        s = json.loads((out / f"reco-{preset}" / "summary.json").read_text())
        st, c, tp, ex = s["stats"], s["counters"], s["throughput"], s["executor"]
        models.append(Path(s["provenance"]["models"]["clusters"]["file"]).stem)
        reco, true = st["n_clusters"]["mean"], st["n_clusters_true"]["mean"]
        print(f"{preset:<15} {c['waveforms_reconstructed']:9d} {st['n_peaks']['mean']:9.2f} {reco:10.2f} "
              f"{true:11.2f} {100 * (reco - true) / true:+6.1f}% {st['deriv_n_clusters']['mean']:12.2f} "
              f"{st['dndx']['mean']:12.2f} {tp['waveforms_per_s']:6.0f} {ex['name'] + '/' + str(ex['workers']):>10}")
    print(f"(ML: step-2 model {', '.join(dict.fromkeys(models))})")
    run_level = out / "reco-run-level" / "summary.json"
    if run_level.exists():  # both files in one run, each divided by its own predicted level
        s = json.loads(run_level.read_text())
        levels = {Path(r["file"]).stem: r for r in s["run_level"]["files"]}
        for f in s["files"]:
            name = Path(f["file"]).stem
            reco, true = f["stats"]["n_clusters"]["mean"], f["stats"]["n_clusters_true"]["mean"]
            r = levels[name]
            how = f"level {r['level']:.3f}" if r["applied"] else "not corrected: " + r.get("reason", "")
            print(f"{name:<15} with --set run_level=run_level_perpeak_random_wide: <N_cl> ML {reco:.2f}, "
                  f"bias {100 * (reco - true) / true:+.1f}% ({how})")
    cmp_file = out / "compare" / "summary.json"
    if cmp_file.exists():
        rows = json.loads(cmp_file.read_text())
        rows = rows.get("variables", rows) if isinstance(rows, dict) else rows
        print("\ncompare untuned vs tuned-45deg, no truth used (chi2/ndf, Kolmogorov-Smirnov p-value):")
        items = rows.items() if isinstance(rows, dict) else ((r.get("variable"), r) for r in rows)
        for name, r in items:
            if name in ("lstm_n_peaks", "ml_n_clusters", "deriv_n_clusters", "ml_dndx", "lstm_peak_amplitude_mv"):
                print(f"  {name:<22} chi2/ndf {r.get('chi2_ndf', float('nan')):8.1f}   "
                      f"KS p {r.get('p_ks', float('nan')):.2g}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "demo-output")
