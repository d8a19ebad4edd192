"""Example HPO study (docs/HPO.md): 6 trials, 2 dask workers, tb2023-untuned windows.

Usage: python examples/hpo_example_study.py OUTDIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ccreco.hpo import load_space
from ccreco.hpo.study import run_study, trials_table
from ccreco.models.config import PeakModelConfig
from ccreco.models.dataset import peak_sample
from ccreco.sim import SimConfig, simulate_to_file


def main() -> None:
    """Simulate, prepare windows, run the study, print the table."""
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    root = out / "sim.root"
    if not root.exists():
        simulate_to_file(root, SimConfig.from_preset("tb2023-untuned"), 60, 7)
    s = peak_sample(root, PeakModelConfig())
    np.savez(out / "data.npz", windows=np.asarray(s.windows, np.float32), labels=np.asarray(s.labels))
    print(f"windows {len(s.labels)} signal {int(np.sum(s.labels))}", file=sys.stderr)
    study = run_study(load_space(Path(__file__).with_name("hpo_space_peaks.toml")), out / "data.npz",
                      storage=f"sqlite:///{out / 'study.db'}", n_trials=6, sampler="random", seed=1,
                      executor="dask", workers=2)
    cols = ["number", "state", "cell", "hidden", "dense", "activation", "optimizer", "learning_rate",
            "batch_size", "auc", "f1", "efficiency_purity", "n_params", "throughput_per_s", "cpus_used",
            "maxrss_mb", "wall_s"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in trials_table(study):
        cells = []
        for c in cols:
            v = r.get(c, "")
            cells.append(f"{v:.3g}" if isinstance(v, float) else str(v))
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":  # dask's LocalCluster spawns processes
    main()
