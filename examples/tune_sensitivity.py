"""Sensitivity scan of the tuning statistics: shift one parameter at a time, print the change of
every statistic in units of its statistical error (docs/DATA_VS_SIM.md, "Sensitivity").

Usage::

    python examples/tune_sensitivity.py [--preset heed-tube] [--n 1000] [--seed 1]
"""

from __future__ import annotations

import argparse

import numpy as np

from ccreco.analysis.tune import simulate_features, summary_statistics
from ccreco.sim import SimConfig

#: (parameter, shifted value) pairs; the rest stays at the preset.
SHIFTS = (("cluster_p1", 0.88), ("cluster_tail_exponent", 2.4), ("cluster_low_exponent", 2.6),
          ("single_electron_mv", 11.0), ("density_scale", 1.05), ("noise_mv", 1.8))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="heed-tube")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    base = SimConfig.from_preset(args.preset)
    ref = summary_statistics(simulate_features(base, args.n, args.seed))
    cols = []
    for name, value in SHIFTS:
        s = summary_statistics(simulate_features(base.replace(**{name: value}), args.n, args.seed))
        cols.append((f"{name} {getattr(base, name):g}->{value:g}", s))
    print("| statistic | " + " | ".join(c for c, _ in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for i, stat in enumerate(ref.names):
        row = []
        for _, s in cols:
            j = s.names.index(stat) if stat in s.names else -1
            z = (s.values[j] - ref.values[i]) / np.hypot(ref.errors[i], s.errors[j]) if j >= 0 else np.nan
            row.append(f"{z:+.1f}")
        print(f"| {stat} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
