"""End-to-end reconstruction benchmark: ``ccreco reco`` vs per-waveform Python loops.

Simulates a ``tb2023-untuned`` run (seed 1) and measures, in the same run:

1. two per-waveform Python loops a user would write: (a) the naive one of issue 18, the bare
   IHEP candidate rule (every sample where the waveform bends down, about 1000 windows per
   waveform), window slicing, and PyTorch models of the shipped sizes (LSTM and CNN, random
   weights: speed does not depend on them) called once per waveform; (b) the same loop with the
   library's candidate cut and the shipped ONNX models (isolates the vectorization gain);
2. :class:`ccreco.reco.Reconstructor` called on in-memory chunks (library, 1 thread);
3. step 1 inside the library run (CPU time in ``PeakModel.predict`` during ``Reconstructor``
   calls) vs the isolated ONNX Runtime rate of the same model on random windows at batch 256
   (the ``bench_models.py`` setting), both as windows per CPU second;
4. :func:`ccreco.reco.run_reco` end to end (read, reconstruct, write part files, merge,
   hists.root; no plots) with the automatic block size on the iterative executor (1 core) and
   on an embedded dask ``LocalCluster`` with 1 and 2 workers, each started once and warmed up by
   a first run (the cold start — worker processes, imports, numba cache, ONNX sessions — is
   reported apart), with the workers' peak RSS;
5. peak memory (``VmHWM`` of a fresh process, :func:`ccreco._memory.peak_rss`; ``ru_maxrss``
   would report the benchmark's own peak, inherited through ``fork``) of an iterative run vs run length, and for a file
   written with 10,000-entry baskets (how files from other writers, and ccreco's before
   ``constants.BASKET_ENTRIES``, look).

CPU-time ratios are robust on a shared machine; wall-clock rates are not. Usage:
``python benchmarks/bench_reco.py [--quick]`` prints the markdown section.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ccreco import _memory
from ccreco.constants import BASKET_ENTRIES, BLOCK_ENTRIES_MAX
from ccreco.io import NtupleWriter, read
from ccreco.models.encoding import encode_peak_times
from ccreco.reco import Reconstructor
from ccreco.reco.batch import run_reco
from ccreco.sim import SimConfig, simulate, simulate_to_file


def naive_torch_loop(chunk, reco: Reconstructor) -> tuple[float, float, float]:
    """Waveforms/s (wall, CPU) of the naive loop (bare rule, PyTorch models per waveform); windows per waveform."""
    import torch

    from ccreco.models.config import CLUSTER_PRESETS, PEAK_PRESETS
    from ccreco.models.model import build_cluster_model, build_peak_model

    pm, cm = reco.peak_model, reco.cluster_model
    preset = (pm.metadata.get("model_config") or {}).get("hidden")
    peak_cfg = next((c for c in PEAK_PRESETS.values() if c.hidden == preset), PEAK_PRESETS["compact"])
    lstm = build_peak_model(dataclasses.replace(peak_cfg, window_left=pm.window_left,
                                                window_right=pm.window_right))[0].eval()
    cnn = build_cluster_model(CLUSTER_PRESETS["ihep"])[0].eval()
    left, right, enc = pm.window_left, pm.window_right, cm.encoding
    torch.set_num_threads(1)
    windows_total = 0
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for wf in chunk.waveforms:
            x = wf.astype(np.float64)
            peaks = [i for i in range(left, x.size - right) if x[i] - x[i - 1] > x[i + 1] - x[i]]
            windows_total += len(peaks)
            if peaks:
                windows = torch.from_numpy(np.stack([wf[j - left:j + right + 1] for j in peaks])[:, :, None])
                p = lstm(windows).numpy().reshape(-1)
                times = np.asarray(peaks)[p >= 0.5] * chunk.sampling_ns
            else:
                times = np.zeros(0)
            cnn(torch.from_numpy(encode_peak_times([times], enc).astype(np.float32)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return len(chunk) / wall, len(chunk) / cpu, windows_total / len(chunk)


def python_loop(chunk, reco: Reconstructor) -> tuple[float, float, float]:
    """Waveforms/s (wall, CPU) of the per-waveform loop with the library's cut and ONNX models; windows per waveform."""
    pm, cm = reco.peak_model, reco.cluster_model
    left, right = pm.window_left, pm.window_right
    k = reco.candidates.threshold
    enc = cm.encoding
    s_in, c_in = pm.session.get_inputs()[0].name, cm.session.get_inputs()[0].name
    c_extra = [i.name for i in cm.session.get_inputs()[1:]]
    length, _ = reco.track_length(chunk)  # the CNN's extra input (track_length_cm)
    n_base = int(round(reco.candidates.baseline_stop_ns / chunk.sampling_ns))
    windows_total = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for w, wf in enumerate(chunk.waveforms):
        x = wf.astype(np.float64)
        mu, rms = float(x[:n_base].mean()), float(x[:n_base].std())
        i = np.arange(1, x.size - 1)
        bend = (x[1:-1] - x[:-2]) > (x[2:] - x[1:-1])
        idx = i[bend & (x[1:-1] > mu + k * rms)]
        idx = idx[(idx >= left) & (idx < x.size - right)]
        windows_total += idx.size
        if idx.size:
            windows = np.stack([wf[j - left:j + right + 1] for j in idx])[:, :, None]
            p = pm.session.run(None, {s_in: windows})[0].reshape(-1)
            times = idx[p >= reco.threshold] * chunk.sampling_ns
        else:
            times = np.zeros(0)
        feed = {c_in: encode_peak_times([times], enc).astype(np.float32)}
        if c_extra:
            feed[c_extra[0]] = np.array([[length[w]]], dtype=np.float32)
        cm.session.run(None, feed)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return len(chunk) / wall, len(chunk) / cpu, windows_total / len(chunk)


def library(chunk, reco: Reconstructor, repeats: int) -> dict:
    """Best waveforms/s (wall and CPU) of the library; candidates per waveform; step-1 windows/CPU-s."""
    model = reco.peak_model
    spent = {"cpu": 0.0, "windows": 0}
    original = model.predict

    def timed(windows, **kwargs):  # noqa: ANN001, ANN202 - step 1 inside the chain
        c0 = time.process_time()
        out = original(windows, **kwargs)
        spent["cpu"] += time.process_time() - c0
        spent["windows"] += len(windows)
        return out

    best_wall = best_cpu = 0.0
    step1 = 0.0
    model.predict = timed
    try:
        for _ in range(repeats):
            spent.update(cpu=0.0, windows=0)
            t0, c0 = time.perf_counter(), time.process_time()
            r = reco(chunk)
            best_wall = max(best_wall, len(chunk) / (time.perf_counter() - t0))
            best_cpu = max(best_cpu, len(chunk) / (time.process_time() - c0))
            step1 = max(step1, spent["windows"] / spent["cpu"])
    finally:
        del model.predict
    return {"wall": best_wall, "cpu": best_cpu, "cands": float(r.n_candidates.mean()), "step1": step1,
            "scored": spent["windows"] / len(chunk)}


def isolated_step1(reco: Reconstructor, n_windows: int, repeats: int) -> float:
    """Windows per CPU second of the same model alone: random contiguous windows, batch 256."""
    from ccreco.models.inference import PeakModel

    model = PeakModel(reco.peak_model.path, batch_size=256)
    x = np.random.default_rng(0).normal(20, 3, (n_windows, model.window_length, 1)).astype(np.float32)
    model.predict(x[:1000], sampling_ns=model.sampling_ns)
    best = float("inf")
    for _ in range(repeats):
        c0 = time.process_time()
        model.predict(x, sampling_ns=model.sampling_ns)
        best = min(best, time.process_time() - c0)
    return n_windows / best


def run_rate(path: Path, out: Path, executor: str, workers: int, scheduler: str | None = None) -> dict:
    """One ``run_reco`` (automatic block size); returns its throughput block and the block size."""
    s = run_reco([path], out, executor=executor, workers=workers, overwrite=True, plots=False, status=False,
                 scheduler=scheduler)
    return s.data["throughput"] | {"n": s.counters["waveforms_reconstructed"], "chunks": s.counters["chunks"],
                                   "chunk_size": s.data["executor"]["chunk_size"]}


def dask_rates(small: Path, big: Path, work: Path, workers: int) -> tuple[dict, float]:
    """Warm run (on a cluster already started and used once), the cold start's cost in seconds,
    and the workers' peak RSS."""
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster:
        run_rate(small, work / f"warm-dask{workers}", "dask", workers, cluster.scheduler_address)
        cold = time.perf_counter() - t0
        rate = run_rate(big, work / f"out-dask{workers}", "dask", workers, cluster.scheduler_address)
        with Client(cluster.scheduler_address) as client:
            rate["worker_rss_mb"] = max(client.run(_memory.peak_rss_mb).values())
    return rate, cold


MEMORY_SCRIPT = """
import sys
from ccreco._memory import peak_rss_mb
from ccreco.reco.batch import run_reco
run_reco([sys.argv[1]], sys.argv[2], chunk_size=int(sys.argv[3]), overwrite=True, plots=False, status=False)
print(peak_rss_mb())
"""


def peak_rss_mb(path: Path, out: Path, block: int) -> float:
    """Peak RSS (MB, ``VmHWM``) of a fresh process running an iterative ``run_reco`` with ``block``-entry blocks."""
    proc = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(path), str(out), str(block)],
                          capture_output=True, text=True, check=True, env=os.environ | {"CCRECO_NO_PROGRESS": "1"})
    return float(proc.stdout.strip().splitlines()[-1])


DASK_MEMORY_SCRIPT = """
import logging, sys
from distributed import Client, LocalCluster
from ccreco._memory import peak_rss_mb
from ccreco.reco.batch import run_reco
with LocalCluster(n_workers=int(sys.argv[4]), threads_per_worker=1, processes=True, dashboard_address=":0",
                  silence_logs=logging.ERROR) as cluster:
    run_reco([sys.argv[1]], sys.argv[2], chunk_size=int(sys.argv[3]), overwrite=True, plots=False, status=False,
             executor="dask", workers=int(sys.argv[4]), scheduler=cluster.scheduler_address)
    with Client(cluster.scheduler_address) as client:
        workers = max(client.run(peak_rss_mb).values())
print(peak_rss_mb(), workers)
"""


def dask_peak_rss_mb(path: Path, out: Path, block: int, workers: int) -> tuple[float, float]:
    """Peak RSS (MB, ``VmHWM``) of the client process and of the largest worker of a fresh
    LocalCluster running a dask ``run_reco`` with ``block``-entry blocks."""
    proc = subprocess.run([sys.executable, "-c", DASK_MEMORY_SCRIPT, str(path), str(out), str(block), str(workers)],
                          capture_output=True, text=True, check=True, env=os.environ | {"CCRECO_NO_PROGRESS": "1"})
    client, worker = proc.stdout.strip().splitlines()[-1].split()
    return float(client), float(worker)


def write_big_baskets(path: Path, cfg: SimConfig, n: int, seed: int, basket: int) -> None:
    """A file with ``basket``-entry baskets (as other writers, or older ccreco, produce)."""
    with NtupleWriter(path, basket_entries=basket, metadata={"seed": seed}) as w:
        for chunk in simulate(cfg, n, seed, chunk_size=basket):
            w.write(chunk)


def main(quick: bool = False) -> str:
    """Run the benchmark; return the markdown section."""
    n = 4000 if quick else 20000
    n_loop = 100 if quick else 1000
    n_naive = 20 if quick else 100
    repeats = 2 if quick else 3
    work = Path(tempfile.mkdtemp(prefix="ccreco-bench-reco-"))
    cfg = SimConfig.from_preset("tb2023-untuned")
    big = work / "run.root"
    simulate_to_file(big, cfg, n, 1, progress=False)
    small = work / "run_small.root"
    simulate_to_file(small, cfg, n // 4, 2, progress=False)

    from ccreco.models.shipped import DEFAULT_CNN_MODEL, shipped_model
    from ccreco.reco import RecoConfig

    reco = Reconstructor()  # the shipped default: per-peak step 2
    reco_cnn = Reconstructor(RecoConfig(cluster_model=str(shipped_model(DEFAULT_CNN_MODEL))))  # as the loops
    chunk = read(big)

    def head(m: int):  # noqa: ANN202
        return dataclasses.replace(chunk, waveforms=chunk.waveforms[:m], meta=chunk.meta[:m], truth=chunk.truth[:m])

    sub = head(n_loop)
    reco(sub)  # warm-up: numba caches, ONNX sessions
    reco_cnn(sub)
    naive, naive_cpu, naive_windows = naive_torch_loop(head(n_naive), reco_cnn)
    loop, loop_cpu, loop_windows = python_loop(sub, reco_cnn)
    lib_cnn = library(sub, reco_cnn, repeats)
    lib = library(sub, reco, repeats)
    iso = isolated_step1(reco, int(lib["cands"] * n_loop), repeats)

    rates, cold = {}, {}
    run_rate(small, work / "warm-iterative", "iterative", 1)
    rates["iterative"] = run_rate(big, work / "out-iterative", "iterative", 1)
    for workers in (1, 2):
        rates[f"dask-{workers}"], cold[workers] = dask_rates(small, big, work, workers)

    sizes = [n // 4, n] if quick else [n // 4, n, 100_000]
    files = {n // 4: small, n: big}
    for size in sizes:
        if size not in files:
            files[size] = work / f"run_{size}.root"
            simulate_to_file(files[size], cfg, size, 3, progress=False)
    mem_block = n // 4 if quick else BLOCK_ENTRIES_MAX  # the same block for every run length
    mem = {size: peak_rss_mb(files[size], work / f"mem-{size}", mem_block) for size in sizes}
    mem_dask = {size: dask_peak_rss_mb(files[size], work / f"memd-{size}", mem_block, 2) for size in sizes}
    basket = 10_000
    others = work / "big_baskets.root"
    write_big_baskets(others, cfg, sizes[-1], 4, basket)
    mem_others = peak_rss_mb(others, work / "mem-others", mem_block)

    meta = reco.peak_model.metadata
    preset = (meta.get("model_config") or meta.get("model") or {}).get("hidden", "?")
    r1, r2 = rates["dask-1"], rates["dask-2"]
    lines = [
        "## Reconstruction end to end (`benchmarks/bench_reco.py`)",
        "",
        f"`tb2023-untuned`, {n} simulated waveforms (seed 1), shipped models: step 1 "
        f"`{reco.peak_model.path.name}` (LSTM {preset} units), step 2 `{reco.cluster_model.path.name}` (the "
        f"default; the loops and the row marked CNN use `{reco_cnn.cluster_model.path.name}`); "
        f"{lib['cands']:.0f} candidate windows per waveform on average, of which the LSTM scores "
        f"{lib['scored']:.0f} (its stored pre-selection; the step-1 cost scales with them); "
        f"1 onnxruntime thread per process, step-1 batch {reco.config.batch_size}; automatic block size "
        "(`run_reco` default). The machine is shared, so absolute rates are noisy; ratios are measured in the "
        "same run, and CPU-time ratios are the more robust ones.",
        "",
        "| what | waveforms/s (wall) | waveforms per CPU s | ratio to the naive loop (CPU) |",
        "|---|---:|---:|---:|",
        f"| naive per-waveform loop: bare candidate rule ({naive_windows:.0f} windows/wf), PyTorch LSTM + CNN "
        f"of the shipped sizes per waveform ({n_naive} wf) | {naive:,.0f} | {naive_cpu:,.0f} | 1 |",
        f"| per-waveform loop with the library's candidate cut ({loop_windows:.0f} windows/wf) and the shipped "
        f"ONNX models ({n_loop} wf) | {loop:,.0f} | {loop_cpu:,.0f} | {loop_cpu / naive_cpu:.1f}x |",
        f"| `Reconstructor` with the CNN as step 2 (as the loops), in-memory chunk ({n_loop} wf, best of "
        f"{repeats}) | {lib_cnn['wall']:,.0f} | {lib_cnn['cpu']:,.0f} | **{lib_cnn['cpu'] / naive_cpu:.1f}x** |",
        f"| `Reconstructor`, shipped default (per-peak step 2), in-memory chunk ({n_loop} wf, best of {repeats}) "
        f"| {lib['wall']:,.0f} | {lib['cpu']:,.0f} | **{lib['cpu'] / naive_cpu:.1f}x** |",
    ]
    for name, label in (("iterative", "`run_reco` iterative executor, 1 core (read + reco + write)"),
                        ("dask-1", "`run_reco` dask LocalCluster, 1 worker (warm)"),
                        ("dask-2", "`run_reco` dask LocalCluster, 2 workers (warm)")):
        r = rates[name]
        lines.append(f"| {label}; {r['chunks']} block(s) of {r['chunk_size']} | {r['waveforms_per_s']:,.0f} | | |")
    scale = r2["waveforms_per_s"] / r1["waveforms_per_s"]
    lines += [
        "",
        f"Step 1 inside the library run: {lib['step1']:,.0f} windows per CPU second; the same model alone "
        f"(random windows, batch 256, as in `bench_models.py`): {iso:,.0f}; ratio **{lib['step1'] / iso:.2f}**.",
        "",
        f"Where the ratio to the naive loop stops: the LSTM's {lib['scored']:.0f} scored windows per waveform take "
        f"{1e6 * lib['scored'] / lib['step1']:.0f} us of CPU per waveform, "
        f"{100 * lib['scored'] * lib['cpu'] / lib['step1']:.0f} % "
        f"of the default chain's {1e6 / lib['cpu']:.0f} us; with everything else free the chain would reach "
        f"{lib['step1'] / (lib['scored'] * naive_cpu):.0f}x the naive loop at this model size. The naive loop runs the "
        f"same LSTM on {naive_windows:.0f} windows per waveform, so past the window ratio "
        f"({naive_windows / lib['scored']:.0f}x) only a cheaper network or fewer windows raise the ratio.",
        "",
        f"dask 2 workers / 1 worker: **{scale:.2f}x** ({n} waveforms, one file). Cold start of the LocalCluster plus "
        f"a first run of {n // 4} waveforms: {cold[1]:.0f} s (1 worker), {cold[2]:.0f} s (2 workers). "
        f"Peak RSS of a dask worker: {r1['worker_rss_mb']:,.0f} MB (1 worker), {r2['worker_rss_mb']:,.0f} MB "
        "(2 workers).",
        "",
        "Peak memory (peak RSS, `VmHWM`, of fresh processes, everything included: Python, numba, onnxruntime, "
        f"coffea, uproot; blocks of {mem_block} for every run length; dask: a fresh LocalCluster of 2 workers "
        "per run, the client process and the largest worker):",
        "",
        "| waveforms | basket size of the input | iterative [MB] | dask client [MB] | dask worker [MB] |",
        "|---:|---:|---:|---:|---:|",
    ]
    for size, mb in mem.items():
        lines.append(f"| {size} | {min(BASKET_ENTRIES, size)} (ccreco default) | {mb:,.0f} | {mem_dask[size][0]:,.0f} "
                     f"| {mem_dask[size][1]:,.0f} |")
    lines.append(f"| {sizes[-1]} | {min(basket, sizes[-1])} (another writer) | {mem_others:,.0f} | | |")
    peaks = list(mem.values())
    grows = peaks[-1] > 1.1 * peaks[0]
    lines += ["", "Per-waveform results go to one part file per block and are merged by streaming, and histograms "
              "have a fixed size. "
              + (f"Even so the peak grows with the run length here ({peaks[0]:,.0f} -> {peaks[-1]:,.0f} MB from "
                 f"{sizes[0]} to {sizes[-1]} waveforms): something held per block is not yet bounded, so a "
                 "very long run's peak is not established by this table." if grows else
                 "The peak follows the block and the input's basket size (uproot decompresses whole baskets), "
                 "not the run length.")]
    (work / "bench.json").write_text(json.dumps({"naive": [naive, naive_cpu], "loop": [loop, loop_cpu], "library": lib,
                                                 "library_cnn": lib_cnn, "isolated_step1": iso,
                                                 "rates": rates, "cold": cold, "mem": mem, "mem_dask": mem_dask,
                                                 "mem_others": mem_others},
                                                default=str))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    print(main(ap.parse_args().quick))
