"""Reconstruct runs on a dask cluster: ``ccreco reco --executor dask --scheduler ADDR`` from Python.

Without ``--scheduler`` this script starts a ``distributed.LocalCluster`` itself (as a stand-in
for a real cluster) and connects to it by address, exactly as it would connect to a cluster
running elsewhere; with ``--scheduler tcp://host:8786`` it uses that cluster. Without input
files it first simulates a small ``tb2023-untuned`` run. It prints the cluster's workers and the
run's throughput::

    python examples/reco_dask_cluster.py -o reco-dask --workers 2 --simulate 2000
    python examples/reco_dask_cluster.py run1.root run2.root -o reco-dask --scheduler tcp://head:8786

The same from the shell (what the script does, in one command each)::

    ccreco reco run*.root -o reco-dask --executor dask --workers 2            # embedded LocalCluster
    ccreco reco run*.root -o reco-dask --executor dask --scheduler tcp://head:8786

On a real cluster
-----------------
Every worker needs the same environment (``pip install`` of this repository, which also installs
its coffea processor ``ccreco.processors`` and the shipped models) and must see the output directory's parent:
workers write their per-block part files into the hidden staging directory next to ``OUTDIR``,
so put it on a filesystem that all nodes share. Start a scheduler and workers by hand::

    dask scheduler --port 8786                                   # on the head node
    dask worker tcp://head:8786 --nworkers 8 --nthreads 1        # on each compute node

or from a batch system with dask-jobqueue (not a ccreco dependency; ``pip install dask-jobqueue``)::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, processes=8, memory="16GB", walltime="02:00:00",
                           job_script_prologue=["source /path/to/ccreco/.venv/bin/activate"])
    cluster.scale(jobs=10)                                       # 80 single-threaded workers
    run_reco(files, "reco-out", executor="dask", scheduler=cluster.scheduler_address)

One thread per worker process suits this workload: each process opens its own ONNX sessions once
and the numba kernels release the GIL but run single-threaded. A worker that dies mid-run is
replaced by dask and its blocks are recomputed; the totals in ``summary.json`` still add up.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run the example; returns the exit status."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="*", help="ROOT files (default: simulate one run)")
    p.add_argument("-o", "--output", default="reco-dask", help="OUTDIR (default reco-dask)")
    p.add_argument("--scheduler", metavar="ADDR", help="existing dask scheduler (default: start a LocalCluster)")
    p.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    p.add_argument("--chunk-size", type=int, default=5000, help="entries per block (default 5000)")
    p.add_argument("--simulate", type=int, default=2000, metavar="N",
                   help="waveforms to simulate when no files are given (default 2000)")
    p.add_argument("--no-plots", action="store_true", help="skip OUTDIR/plots")
    args = p.parse_args(argv)

    from distributed import Client, LocalCluster

    from ccreco.reco import run_reco

    outdir = Path(args.output)
    files = args.files
    if not files:
        from ccreco.sim import SimConfig, simulate_to_file

        files = [str(outdir.with_name(outdir.name + "-input.root"))]
        simulate_to_file(files[0], SimConfig.from_preset("tb2023-untuned"), args.simulate, seed=1, progress=False)
        print(f"simulated {args.simulate} tb2023-untuned waveforms -> {files[0]}")

    cluster = None
    address = args.scheduler
    if address is None:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.ERROR)
        address = cluster.scheduler_address
        print(f"started a LocalCluster with {args.workers} worker processes at {address} "
              f"(dashboard {cluster.dashboard_link})")
    try:
        with Client(address) as client:  # only to describe the cluster; run_reco connects on its own
            workers = client.scheduler_info()["workers"]
            threads = sum(w["nthreads"] for w in workers.values())
            print(f"cluster at {address}: {len(workers)} workers, {threads} threads")
        t0 = time.perf_counter()
        summary = run_reco(files, outdir, executor="dask", scheduler=address, chunk_size=args.chunk_size,
                           on_error="skip", overwrite=True, plots=not args.no_plots)
        total = time.perf_counter() - t0
    finally:
        if cluster is not None:
            cluster.close()

    c, tp = summary.counters, summary.data["throughput"]
    print(f"reconstructed {c['waveforms_reconstructed']} waveforms in {c['chunks']} blocks -> {summary.outdir}")
    print(f"throughput: {tp['waveforms_per_s']:.0f} waveforms/s over the coffea run ({tp['wall_s']:.1f} s), "
          f"{c['waveforms_reconstructed'] / total:.0f} waveforms/s including validation and outputs ({total:.1f} s); "
          f"{tp['waveforms_per_reco_s']:.0f} waveforms/s of the blocks' reconstruction time summed over workers")
    for name in ("n_peaks", "n_clusters", "n_clusters_true", "dndx"):
        if name in summary.stats:
            s = summary.stats[name]
            print(f"  {name:16s} mean {s['mean']:8.3f}  rms {s['rms']:7.3f}")
    if summary.data["skipped"]:
        print(f"skipped {len(summary.data['skipped'])} file(s)/block(s):")
        print(json.dumps(summary.data["skipped"], indent=2))
    return 1 if summary.data["skipped"] else 0


if __name__ == "__main__":  # the guard LocalCluster's worker processes need
    raise SystemExit(main())
