"""Example HPO study of docs/HPO.md: 8 random trials of the step-1 LSTM on 2 dask workers.

Simulates 400 tb2023-untuned waveforms (seed 7), then runs
``ccreco hpo peaks OUTDIR/sim.root --space examples/hpo_space_peaks.toml --trials 8 --sampler random --seed 1
--objective auc throughput_per_s --executor dask --workers 2 -o OUTDIR/study`` and prints the machine
and the results table. Rerunning resumes the study (nothing is retrained once 8 trials finished).

Usage: python examples/hpo_example_study.py OUTDIR [N_WAVEFORMS]
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

from ccreco.cli import main as ccreco_main
from ccreco.sim import SimConfig, simulate_to_file


def machine() -> str:
    """CPU model, cores and memory of this machine (Linux), one line."""
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
        with open("/proc/meminfo") as fh:
            mem_gb = int(fh.readline().split()[1]) / 2**20
    except (OSError, StopIteration):  # pragma: no cover - not Linux
        mem_gb = float("nan")
    return f"{cpu}, {os.cpu_count()} cores, {mem_gb:.1f} GiB, {platform.system()} {platform.release()}"


def main() -> int:
    """Simulate, run the study, print the machine and the table."""
    out = Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    out.mkdir(parents=True, exist_ok=True)
    root = out / "sim.root"
    if not root.exists():
        simulate_to_file(root, SimConfig.from_preset("tb2023-untuned"), n, 7)
    here = Path(__file__).resolve().parent
    status = ccreco_main([
        "hpo", "peaks", str(root), "--space", str(here / "hpo_space_peaks.toml"),
        "--trials", "8", "--sampler", "random", "--seed", "1", "--objective", "auc", "throughput_per_s",
        "--executor", "dask", "--workers", "2", "-o", str(out / "study"),
    ])
    print(f"machine: {machine()}")
    print((out / "study" / "results.md").read_text())
    return status


if __name__ == "__main__":  # dask's LocalCluster spawns processes
    sys.exit(main())
