"""Many small files: ``run_reco`` over N small files against one file of the same waveforms.

coffea's runner gives every file at least one block, so a run over many small files paid the
per-block costs once per file: the reconstruction's per-call overheads, one part file to write
and merge, histograms, and the full garbage collection that bounds memory
(``ccreco.reco.batch.GC_EVERY_WAVEFORMS``). ccreco now reads runs of small files together into
one block (``ccreco.reco.batch.group_small_files``). Measured in fresh processes (one per run),
iterative executor, one core, shipped models (tb2023-untuned, seeds 100+i for the small files,
99 for the single file): the single file (baseline); the small files one block per file with a
collection before every block (ccreco before ``GC_EVERY_WAVEFORMS``) and with a collection every
``GC_EVERY_WAVEFORMS`` (before the grouping: ``SMALL_FILE_FRACTION = 0``); and as they run now.
Wall time of the whole ``run_reco`` (input checks, coffea run, merge).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

N_SMALL_FILES: int = 200
WAVEFORMS_PER_FILE: int = 10
#: Waveforms per file of the second set (as many waveforms in fewer files).
MEDIUM_WAVEFORMS: int = 100
#: Block size of the one-file memory check (smaller than the default, so that several blocks
#: pass between two collections).
BIG_BLOCK: int = 1000


RUN_SCRIPT = """
import json, sys, time
import ccreco.reco.batch as batch
from ccreco._memory import peak_rss_mb
batch.GC_EVERY_WAVEFORMS = int(sys.argv[2])
batch.SMALL_FILE_FRACTION = float(sys.argv[5])
paths = json.loads(sys.argv[3])
chunk = int(sys.argv[4]) or None
t0 = time.perf_counter()
s = batch.run_reco(paths, sys.argv[1], overwrite=True, plots=False, status=False, chunk_size=chunk)
print(json.dumps({"wall": time.perf_counter() - t0, "blocks": s.counters["chunks"], "rss": peak_rss_mb()}))
"""


def _run(paths: list[Path], out: Path, every: int, chunk_size: int = 0, grouping: bool = True) -> dict:
    """One ``run_reco`` in a fresh process (as a user's command): wall time, blocks, peak RSS."""
    from ccreco.reco.batch import SMALL_FILE_FRACTION

    fraction = SMALL_FILE_FRACTION if grouping else 0.0
    proc = subprocess.run([sys.executable, "-c", RUN_SCRIPT, str(out), str(every),
                           json.dumps([str(p) for p in paths]), str(chunk_size), str(fraction)],
                          capture_output=True, text=True, check=True, env=os.environ | {"CCRECO_NO_PROGRESS": "1"})
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(quick: bool = False) -> str:
    """Measure and return a markdown section.

    Parameters
    ----------
    quick : bool
        50 files instead of 200.
    """
    import ccreco.reco.batch as batch
    from ccreco.reco.batch import SMALL_FILE_FRACTION
    from ccreco.sim import SimConfig, simulate_to_file

    n_files = 50 if quick else N_SMALL_FILES
    cfg = SimConfig.from_preset("tb2023-untuned")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        small = []
        for i in range(n_files):
            p = work / f"small_{i:04d}.root"
            simulate_to_file(p, cfg, WAVEFORMS_PER_FILE, seed=100 + i, progress=False)
            small.append(p)
        one = work / "one.root"
        simulate_to_file(one, cfg, n_files * WAVEFORMS_PER_FILE, seed=99, progress=False)
        every = batch.GC_EVERY_WAVEFORMS
        r_one = _run([one], work / "out_one", every)
        r_before = _run(small, work / "out_before", 0, grouping=False)
        r_per_file = _run(small, work / "out_per_file", every, grouping=False)
        r_now = _run(small, work / "out_now", every)
        medium = []  # files of 100 waveforms (a typical Garfield++ job's output)
        for i in range(n_files * WAVEFORMS_PER_FILE // MEDIUM_WAVEFORMS):
            p = work / f"medium_{i:04d}.root"
            simulate_to_file(p, cfg, MEDIUM_WAVEFORMS, seed=500 + i, progress=False)
            medium.append(p)
        r_medium_per_file = _run(medium, work / "out_medium_per_file", every, grouping=False)
        r_medium_now = _run(medium, work / "out_medium_now", every)
        big = work / "big.root"  # many blocks of one file: the memory the collections bound
        n_big = 5000 if quick else 20000
        simulate_to_file(big, cfg, n_big, seed=1, progress=False)
        r_big_before = _run([big], work / "out_big_before", 0, BIG_BLOCK)
        r_big_now = _run([big], work / "out_big_now", every, BIG_BLOCK)
    n = n_files * WAVEFORMS_PER_FILE
    t_one = r_one["wall"]
    n_medium = n // MEDIUM_WAVEFORMS
    for label, r in (
        (f"one file of {n} waveforms (baseline)", r_one),
        (f"{n_files} files of {WAVEFORMS_PER_FILE}, one block per file, a full collection before every block",
         r_before),
        (f"{n_files} files of {WAVEFORMS_PER_FILE}, one block per file, a collection every {every} waveforms",
         r_per_file),
        (f"**{n_files} files of {WAVEFORMS_PER_FILE}, small files read together (now)**", r_now),
        (f"{n_medium} files of {MEDIUM_WAVEFORMS}, one block per file", r_medium_per_file),
        (f"**{n_medium} files of {MEDIUM_WAVEFORMS}, small files read together (now)**", r_medium_now),
    ):
        rows.append(f"| {label} | {r['blocks']} | {r['wall']:.2f} | {n / r['wall']:,.0f} | {r['wall'] / t_one:.1f}x | "
                    f"{r['rss']:.0f} |")
    return "\n".join([
        "## Many small files (`benchmarks/bench_small_files.py`)",
        "",
        f"`run_reco`, iterative executor, one core, shipped models, `tb2023-untuned` waveforms; {n_files} files of "
        f"{WAVEFORMS_PER_FILE} and {n_medium} files of {MEDIUM_WAVEFORMS} waveforms against one file holding as many. "
        "Wall time of the whole run (input checks, "
        "coffea run, merge of the part files), each run in a fresh process (model loading and compilation included, "
        "as in a user's command).",
        "",
        "| input | blocks | wall [s] | waveforms/s | time vs one file | peak RSS [MB] |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Reading runs of small files together into one block (`group_small_files`: files under "
        f"{SMALL_FILE_FRACTION:g} of a block, packed in order up to a block) takes the {n_files}-file run from "
        f"{r_per_file['wall']:.1f} to {r_now['wall']:.1f} s ({r_per_file['wall'] / r_now['wall']:.1f}x; "
        f"{r_before['wall'] / r_now['wall']:.1f}x against a collection before every block) and the {n_medium}-file run "
        f"from {r_medium_per_file['wall']:.1f} to {r_medium_now['wall']:.1f} s; the outputs are the same, waveform "
        "for waveform (tests/test_scaling.py). What stays per file: validating it before the run (its tree, "
        "branches, first entry and recorded checksums) and opening and reading it.",
        "",
        f"Memory: one file of {n_big} waveforms in blocks of {BIG_BLOCK} (fresh processes): before "
        f"{r_big_before['wall']:.1f} s, peak RSS {r_big_before['rss']:.0f} MB; now {r_big_now['wall']:.1f} s, "
        f"{r_big_now['rss']:.0f} MB (at most about {every} waveforms of garbage wait for a collection).",
    ])


if __name__ == "__main__":
    print(main())
