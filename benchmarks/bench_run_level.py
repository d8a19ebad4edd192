"""What the run-level correction costs: ``run_reco`` with and without ``--set run_level=...``.

The correction reads the first ``run_level_waveforms`` (2,000) waveforms of every file a second
time, before the run, and runs step 1 and the per-peak step 2 on them for the run statistics
(``ccreco.reco.batch.file_run_levels``). Measured here: whole ``run_reco`` runs in fresh
processes (model loading and compilation included, as in a user's command), iterative
executor, one core, shipped models, ``tb2023-untuned`` waveforms (seed 1), DERIV on (the
default), no plots; each configuration twice, the faster kept; plain runs are the baseline of
the same benchmark run. Also the correction's own time (the statistics of one file) from the
same processes. Usage: ``python benchmarks/bench_run_level.py [--quick]`` prints the markdown
section.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

RUN_SCRIPT = """
import json, sys, time
import ccreco.reco.batch as batch
from ccreco.reco.core import RecoConfig
timing = {"levels": 0.0}
original = batch.file_run_levels
def timed(*args, **kwargs):
    t = time.perf_counter()
    try:
        return original(*args, **kwargs)
    finally:
        timing["levels"] += time.perf_counter() - t
batch.file_run_levels = timed
config = RecoConfig(run_level=sys.argv[3] or None)
t0 = time.perf_counter()
s = batch.run_reco(json.loads(sys.argv[2]), sys.argv[1], config=config, overwrite=True, plots=False, status=False)
print(json.dumps({"wall": time.perf_counter() - t0, "levels": timing["levels"],
                  "corrected": (s.data["run_level"] or {}).get("files_corrected", 0)}))
"""


def _run(paths: list[Path], out: Path, run_level: str, repeat: int = 2) -> dict:
    """The faster of ``repeat`` ``run_reco`` runs, each in a fresh process."""
    best: dict = {}
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, "-c", RUN_SCRIPT, str(out), json.dumps([str(p) for p in paths]),
                               run_level], capture_output=True, text=True, check=True,
                              env=os.environ | {"CCRECO_NO_PROGRESS": "1"})
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        if not best or r["wall"] < best["wall"]:
            best = r
    return best


def main(quick: bool = False) -> str:
    """Measure and return a markdown section.

    Parameters
    ----------
    quick : bool
        Smaller files (one run each instead of the best of two).
    """
    from ccreco.sim import SimConfig, simulate_to_file

    model = "run_level_perpeak_random_wide"
    sizes = (500, 2000, 5000) if quick else (500, 2000, 10000, 20000)
    cfg = SimConfig.from_preset("tb2023-untuned")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for n in sizes:
            path = work / f"run_{n}.root"
            simulate_to_file(path, cfg, n, seed=1, progress=False)
            plain = _run([path], work / "plain", "", 1 if quick else 2)
            corrected = _run([path], work / "corrected", model, 1 if quick else 2)
            rows.append(f"| {n:,} | {plain['wall']:.2f} | {corrected['wall']:.2f} | {corrected['levels']:.2f} | "
                        f"{corrected['wall'] / plain['wall']:.2f}x |")
    return "\n".join([
        "## Run-level correction: what it costs (`benchmarks/bench_run_level.py`)",
        "",
        "`run_reco` of one `tb2023-untuned` file (seed 1), iterative executor, one core, DERIV on, no plots, in "
        "fresh processes (the faster of two runs); plain runs are the baseline of the same benchmark run. "
        f"`--set run_level={model}` reads the first 2,000 waveforms of the file a second time and runs step 1 and "
        "the per-peak step 2 on them for the run statistics (`file_run_levels`, timed on its own).",
        "",
        "| waveforms in the file | plain [s] | with run_level [s] | of which run statistics [s] | time vs plain |",
        "|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "The run statistics' own time includes the first calls of the models and kernels (sessions, compiled "
        "code), which a plain run pays in its first block instead; what the correction adds to the run is the "
        "difference of the two columns, about half a second per file here: large for files of a few thousand "
        "waveforms, small for long runs. Collecting the statistics in the main pass would remove it but needs "
        "the factor before the histograms are filled (not done).",
    ])


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller files, one run each")
    print(main(ap.parse_args().quick))
