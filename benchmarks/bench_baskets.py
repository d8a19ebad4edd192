"""Basket size of the files ccreco writes: read speed vs bounded memory.

uproot decompresses whole baskets, so a reader holds at least one basket of every branch it
reads, whatever block size it asks for; and a block smaller than a basket decompresses that
basket again for every block. This benchmark writes the same ``tb2023-untuned`` waveforms
(seed 1) with several basket sizes and reads each file in a fresh process with
``ccreco.io.iterate`` at two block sizes: the largest reconstruction block
(``constants.BLOCK_ENTRIES_MAX``) and the block the automatic size gives two workers on this
file. It reports file size, CPU time of the read (robust on a shared machine) and the
process's peak RSS.

Usage: ``python benchmarks/bench_baskets.py [--quick]`` prints the markdown section.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ccreco.constants import BASKET_ENTRIES, BLOCK_ENTRIES_MAX
from ccreco.io import NtupleWriter
from ccreco.reco.batch import auto_chunk_size
from ccreco.sim import SimConfig, simulate

READ_SCRIPT = """
import json, sys, time
from ccreco._memory import peak_rss_mb
from ccreco.io import iterate
c0 = time.process_time()
n = sum(len(c) for c in iterate(sys.argv[1], step_size=int(sys.argv[2])))
cpu = time.process_time() - c0
print(json.dumps({"n": n, "cpu_s": cpu, "rss_mb": peak_rss_mb()}))
"""

BASELINE_SCRIPT = """
import json
import ccreco.io, uproot, numpy, awkward
from ccreco._memory import peak_rss_mb
print(json.dumps({"rss_mb": peak_rss_mb()}))
"""


def _run(script: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True,
                          env=os.environ | {"CCRECO_NO_PROGRESS": "1"})
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(quick: bool = False) -> str:
    """Run the benchmark; return the markdown section."""
    n = 4000 if quick else 20000
    repeats = 1 if quick else 3
    baskets = [100, BASKET_ENTRIES, 10_000]
    work = Path(tempfile.mkdtemp(prefix="ccreco-bench-baskets-"))
    cfg = SimConfig.from_preset("tb2023-untuned")
    chunks = list(simulate(cfg, n, 1, chunk_size=min(n, 10_000)))
    files = {}
    for b in baskets:
        files[b] = work / f"baskets_{b}.root"
        with NtupleWriter(files[b], basket_entries=b) as w:
            for c in chunks:
                w.write(c)
    blocks = [BLOCK_ENTRIES_MAX, auto_chunk_size(n, 2)]
    base = _run(BASELINE_SCRIPT)["rss_mb"]
    results: dict[tuple[int, int], dict] = {}
    for _ in range(repeats):
        for b in baskets:
            for block in blocks:
                r = _run(READ_SCRIPT, str(files[b]), str(block))
                assert r["n"] == n
                old = results.get((b, block))
                results[(b, block)] = r if old is None or r["cpu_s"] < old["cpu_s"] else old
    ref = results[(BASKET_ENTRIES, blocks[0])]["cpu_s"]
    mb = n * chunks[0].waveforms.shape[1] * 4 / 1e6
    lines = [
        "## Basket size: read speed vs memory (`benchmarks/bench_baskets.py`)",
        "",
        f"{n} `tb2023-untuned` waveforms (seed 1; {mb:.0f} MB of float32 samples plus truth) written by "
        f"`NtupleWriter` with several basket sizes, read with `ccreco.io.iterate` in a fresh process at two block "
        f"sizes ({blocks[0]}: the largest reconstruction block; {blocks[1]}: the automatic block for 2 workers); "
        f"best of {repeats}. A process that only imports the readers peaks at {base:.0f} MB.",
        "",
        "| entries per basket | file MB | block | read CPU s | MB/CPU s | read time vs default | peak RSS [MB] |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b in baskets:
        size = files[b].stat().st_size / 1e6
        for block in blocks:
            r = results[(b, block)]
            tag = " (default)" if b == BASKET_ENTRIES else ""
            lines.append(f"| {b}{tag} | {size:.1f} | {block} | {r['cpu_s']:.2f} | {mb / r['cpu_s']:,.0f} "
                         f"| {r['cpu_s'] / ref:.2f} | {r['rss_mb']:,.0f} |")
    lines += ["", f"ccreco writes baskets of {BASKET_ENTRIES} entries (`constants.BASKET_ENTRIES`): "
              "the peak memory of a "
              "read follows the block, and blocks smaller than a basket do not decompress it again and again."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    print(main(ap.parse_args().quick))
