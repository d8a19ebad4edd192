"""I/O benchmark: validated reading vs plain uproot, and the choice of compression.

Writes simulated-like waveforms (white noise plus pulses with an ion tail, float32,
``constants.N_SAMPLES`` samples, MC truth attached) with ccreco's writer, then

1. reads the file through ``ccreco.io.iterate`` (schema mapping + every validation) and through
   plain uproot (``TTree.arrays`` on the same branches and entry ranges, and ``uproot.iterate``),
   interleaved, best of several repeats; reports MB/s (uncompressed waveform bytes) and the ratio
   (target >= 0.8);
2. writes and reads the same waveforms uncompressed and with zlib(1), LZ4(1), ZSTD(1).

Usage: ``python benchmarks/bench_io.py [--quick]`` prints the markdown section.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from ccreco.constants import N_SAMPLES, SAMPLING_NS, STEP_SIZE
from ccreco.io import NtupleWriter, WaveformChunk, default_compression, iterate
from ccreco.io.reader import entry_ranges, open_tree, plan_tree
from ccreco.io.schema import NATIVE

#: Codecs compared: label -> uproot compression (None = uncompressed).
CODECS: dict[str, object] = {
    "none": None,
    "zlib(1)": uproot.ZLIB(1),
    "lz4(1)": uproot.LZ4(1),
    "zstd(1)": uproot.ZSTD(1),
}


#: ADC step of the quantized variant: 12 bits over 1 V, in mV.
ADC_STEP_MV: float = 1000.0 / 4096


def make_chunk(n: int, seed: int, adc_step_mv: float | None = None) -> WaveformChunk:
    """Simulated-like waveforms: 1.5 mV noise plus ~15 pulses (6 ns rise-fall, ion tail).

    With ``adc_step_mv`` the samples are rounded to ADC steps, as a digitizer records them.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(80, dtype=np.float64)
    kernel = (t / 2.0) * np.exp(1 - t / 2.0) + 0.15 * np.exp(-t / 30.0)  # peak 1 at 2 ns + tail
    n_pulses = rng.poisson(15, n)
    rows = np.repeat(np.arange(n), n_pulses)
    pos = rng.integers(100, N_SAMPLES // 2, rows.size)
    amp = rng.gamma(1.5, 10.0 / 1.5, rows.size)  # Polya-like gain, mean 10 mV
    impulses = np.zeros((n, N_SAMPLES))
    np.add.at(impulses, (rows, pos), amp)
    spec = np.fft.rfft(impulses, n=N_SAMPLES + t.size, axis=1) * np.fft.rfft(kernel, n=N_SAMPLES + t.size)
    wf = np.fft.irfft(spec, axis=1)[:, :N_SAMPLES] + rng.normal(0, 1.5, (n, N_SAMPLES))
    if adc_step_mv is not None:
        wf = np.round(wf / adc_step_mv) * adc_step_mv
    order = np.lexsort((pos, rows))
    times = ak.unflatten(pos[order] * SAMPLING_NS, n_pulses)
    meta = ak.zip({"run": np.ones(n, np.int64), "event": np.arange(n, dtype=np.int64),
                   "channel": np.zeros(n, np.int32)})
    truth = ak.zip({"cluster_time_ns": times, "momentum_gev": rng.uniform(1, 20, n)}, depth_limit=1)
    return WaveformChunk(wf.astype(np.float32), SAMPLING_NS, meta, truth)


def _write(path: Path, chunks: list[WaveformChunk], compression: object) -> float:
    t0 = time.perf_counter()
    with NtupleWriter(path, compression=compression) as w:
        for c in chunks:
            w.write(c)
    return time.perf_counter() - t0


def _best(funcs: dict[str, Callable[[], int]], repeats: int) -> dict[str, float]:
    """Best time of each function, runs interleaved so load drifts hit all alike."""
    best = {k: float("inf") for k in funcs}
    for _ in range(repeats):
        for name, f in funcs.items():
            t0 = time.perf_counter()
            f()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def _readers(path: Path, step: int) -> dict[str, Callable[[], int]]:
    plan, _ = plan_tree(open_tree(str(path), NATIVE), str(path), NATIVE)
    names = set(plan.branches)
    ranges = entry_ranges(plan, step)

    def ccreco_iterate() -> int:
        return sum(len(c) for c in iterate(path, step_size=step))

    def uproot_arrays() -> int:
        tree = uproot.open(path)[NATIVE.tree]
        n = 0
        for start, stop in ranges:
            arrays = tree.arrays(filter_name=lambda b: b in names, entry_start=start, entry_stop=stop, how=dict)
            n += len(arrays["waveform"])
        return n

    def uproot_iterate() -> int:
        return sum(len(a["waveform"]) for a in uproot.iterate(
            {str(path): NATIVE.tree}, filter_name=lambda b: b in names, step_size=step))

    return {"ccreco.io.iterate (validated)": ccreco_iterate, "uproot TTree.arrays": uproot_arrays,
            "uproot.iterate": uproot_iterate}


def main(quick: bool = False) -> str:
    """Run the benchmark and return its markdown section.

    Parameters
    ----------
    quick : bool
        Fewer waveforms and repeats (smoke check).

    Returns
    -------
    str
        Markdown section with the reading-speed and compression tables.
    """
    n_total, repeats = (2_000, 2) if quick else (10_000, 4)
    step = min(STEP_SIZE, n_total // 2)
    mb = n_total * N_SAMPLES * 4 / 1e6
    lines = [
        "## I/O (`benchmarks/bench_io.py`)",
        "",
        f"{n_total} simulated-like waveforms of {N_SAMPLES} float32 samples ({mb:.0f} MB) with MC "
        f"truth, chunks of {step}; best of {repeats} interleaved runs; MB/s counts uncompressed "
        "waveform bytes.",
        "",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        tables = []
        for kind, adc in (("float32 (simulation)", None), ("ADC-quantized, 12 bit / 1 V", ADC_STEP_MV)):
            chunks = [make_chunk(step, seed=i, adc_step_mv=adc) for i in range(n_total // step)]
            sizes, writes, paths = {}, {}, {}
            for label, codec in CODECS.items():
                paths[label] = Path(tmp) / f"{label.replace('(', '').replace(')', '')}-{len(tables)}.root"
                writes[label] = _write(paths[label], chunks, codec)
                sizes[label] = os.path.getsize(paths[label]) / 1e6
            read_best = _best({k: (lambda p=p: sum(len(c) for c in iterate(p, step_size=step)))
                               for k, p in paths.items()}, repeats)
            tables.append((kind, sizes, writes, read_best))
            if adc is None:
                default_label = next(k for k, v in CODECS.items() if repr(v) == repr(default_compression()))
                best = _best(_readers(paths[default_label], step), repeats)
        ours = best["ccreco.io.iterate (validated)"]
        lines += [
            f"### Validated reading vs plain uproot (float32 file, default compression {default_label})",
            "",
            "| reader | time (s) | MB/s | time / ccreco time |",
            "|---|---:|---:|---:|",
        ]
        for name, t in best.items():
            lines.append(f"| {name} | {t:.3f} | {mb / t:.0f} | {t / ours:.2f} |")
        ratio = best["uproot TTree.arrays"] / ours
        lines += [
            "",
            f"Throughput ratio ccreco / uproot TTree.arrays: **{ratio:.2f}** (target >= 0.8: "
            f"{'met' if ratio >= 0.8 else 'NOT met'}).",
            "",
            "### Compression (written with `NtupleWriter`, read with `ccreco.io.iterate`)",
            "",
            "| waveforms | codec | file MB | compression | write (s) | read (s) | read MB/s | read vs zlib |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for kind, sizes, writes, read_best in tables:
            for label in CODECS:
                lines.append(
                    f"| {kind} | {label}{' (default)' if label == default_label else ''} | "
                    f"{sizes[label]:.2f} | {sizes['none'] / sizes[label]:.2f} | {writes[label]:.2f} | "
                    f"{read_best[label]:.3f} | {mb / read_best[label]:.0f} | "
                    f"{read_best['zlib(1)'] / read_best[label]:.2f}x |"
                )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sample")
    print(main(quick=parser.parse_args().quick))
    sys.exit(0)
