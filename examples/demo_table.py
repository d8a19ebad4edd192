"""Print the demo's summary table from the JSON files that ``ccreco evaluate`` wrote."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(outdir: str) -> None:
    """Print peak-finding and cluster-counting figures per preset and method."""
    out = Path(outdir)
    print(f"\n{'preset':<15} {'step 1':<7} {'F1':>6} {'AUC':>6} {'e-eff':>6} {'fakes/wf':>8}"
          f" | {'step 2':<6} {'<N_true>':>8} {'<N_reco>':>8} {'bias':>6} {'RMS/sqrtN':>9}")
    for preset in ("tb2023-untuned", "tb2023-tuned"):
        for peaks, clusters in (("deriv", "deriv"), ("lstm", "cnn")):
            p = json.loads((out / f"{preset}-peaks-{peaks}.json").read_text())
            c = json.loads((out / f"{preset}-clusters-{clusters}.json").read_text())
            auc = f"{p['auc']:.3f}" if p.get("auc") is not None else "-"
            print(f"{preset:<15} {peaks:<7} {p['f1']:6.3f} {auc:>6} {p['electron_efficiency']:6.3f}"
                  f" {p['fakes_per_waveform']:8.2f} | {clusters:<6} {c['mean_true']:8.2f}"
                  f" {c['mean_reco']:8.2f} {c['bias']:+6.2f} {c['rms_over_sqrt_n']:9.3f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "demo-output")
