"""Candidate study for step 1: windows per waveform versus candidate recall, per rule, with and
without the region-of-interest pre-selection, and the step-1 time they cost.

For each candidate definition (``CandidateConfig``) on one in-memory ``tb2023-untuned`` sample:

- windows / waveform: candidate windows the LSTM has to score;
- signal windows / waveform: windows matched one-to-one to a true electron peak within the
  tolerance (their labels; :func:`ccreco.kernels.candidate_labels`);
- candidate recall: matched true electron peaks / all true electron peaks (the most any
  classifier on these windows can find; :func:`ccreco.kernels.labels.candidate_recall`);
- / bare: the recall relative to the same rule without pre-selection (no amplitude cut, no
  region of interest); / k 2.5: relative to the same rule with the amplitude cut alone
  (k = 2.5, the kernels' default, chosen as 99% of the bare ``d2`` recall: docs/ALGORITHMS.md);
- shadowed noise windows / waveform: windows labelled noise although a true electron peak lies
  within the tolerance (its electron went to a neighbouring candidate): the windows whose label
  the window itself cannot tell;
- step-1 ms / 1000 waveforms: candidates + windows (numba) + the shipped LSTM (ONNX Runtime, one
  thread, batch 256) scoring every window of the first ``--time-n`` waveforms, best of three,
  all rows in the same run.

Usage::

    python benchmarks/candidate_study.py [-n 2000] [--seed 1001] [--snr 20] [--time-n 500] [--quick] [-o FILE.md]

Prints (and with ``-o`` writes) a markdown section for BENCHMARKS.md.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import dataclasses
import math
import sys
import time
from typing import Any

import numpy as np

from ccreco.io import WaveformChunk
from ccreco.kernels import CandidateConfig, candidate_labels, candidate_windows, truth_peak_samples
from ccreco.kernels.labels import candidate_recall, shadowed_windows
from ccreco.sim import SimConfig, simulate

PRESET = "tb2023-untuned"
#: Rules compared: (label, CandidateConfig fields).
RULES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("d2", {"rule": "d2"}),
    ("max", {"rule": "max"}),
    ("top, min_distance 2", {"rule": "top", "min_distance": 2}),
    ("top, min_distance 3", {"rule": "top", "min_distance": 3}),
    ("top, min_distance 5", {"rule": "top", "min_distance": 5}),
)
#: Pre-selections compared: (label, CandidateConfig fields); the first is the bare rule.
PRESELECTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("none (bare)", {"threshold": None}),
    ("k 2.5 (the d2 default)", {"threshold": 2.5}),
    ("k 1.5 + ROI 5 x RMS, margin 20", {"threshold": 1.5, "roi_threshold": 5.0, "roi_margin": 20}),
    ("k 1.5 + ROI 6 x RMS, margin 20", {"threshold": 1.5, "roi_threshold": 6.0, "roi_margin": 20}),
    ("k 2.5 + ROI 6 x RMS, margin 20", {"threshold": 2.5, "roi_threshold": 6.0, "roi_margin": 20}),
    ("k 2.5 + ROI 8 x RMS, margin 20", {"threshold": 2.5, "roi_threshold": 8.0, "roi_margin": 20}),
)


def sample(n: int, seed: int, snr: float | None = None) -> WaveformChunk:
    """One in-memory chunk of ``tb2023-untuned`` (both noise terms scaled to ``snr`` if given)."""
    cfg = SimConfig.from_preset(PRESET)
    if snr is not None:
        k = cfg.single_electron_mv / math.hypot(cfg.noise_mv, cfg.coloured_noise_mv) / snr
        cfg = cfg.with_strings({"noise_mv": repr(cfg.noise_mv * k),
                                "coloured_noise_mv": repr(cfg.coloured_noise_mv * k)})
    return next(iter(simulate(cfg, n, seed=seed, chunk_size=n)))


def _head(chunk: WaveformChunk, n: int) -> WaveformChunk:
    return WaveformChunk(chunk.waveforms[:n], chunk.sampling_ns, chunk.meta[:n],
                         None if chunk.truth is None else chunk.truth[:n], chunk.source)


def _step1_seconds(chunk: WaveformChunk, cfg: CandidateConfig, model: Any, repeat: int) -> float:
    if model is None:
        return math.nan
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        cw = candidate_windows(chunk.waveforms, cfg, sampling_ns=chunk.sampling_ns)
        if len(cw):
            model.predict(cw.windows, sampling_ns=chunk.sampling_ns)
        best = min(best, time.perf_counter() - t0)
    return best


def study(chunk: WaveformChunk, model: Any = None, repeat: int = 3, time_n: int = 500) -> list[dict[str, Any]]:
    """One row per (rule, pre-selection): windows, recall, shadowed windows, step-1 time.

    Parameters
    ----------
    chunk : WaveformChunk
        Simulated waveforms with truth.
    model : PeakModel, optional
        Step-1 model timed on every row's windows (``None``: no timing, ``ms_per_1000`` nan).
    repeat : int
        Timing repetitions (best kept).
    time_n : int
        Waveforms timed (the first ones of ``chunk``).

    Returns
    -------
    list of dict
        ``rule``, ``preselection``, ``config``, ``windows``, ``signal``, ``recall``, ``relative``
        (to the bare rule), ``relative_k25`` (to the rule with k = 2.5 alone), ``shadowed``,
        ``ms_per_1000``.
    """
    n = len(chunk)
    ref, ref_off, _ = truth_peak_samples(chunk.truth, chunk.sampling_ns, chunk.n_samples)
    timed = chunk if time_n >= n else _head(chunk, time_n)
    rows = []
    for rule, rule_fields in RULES:
        bare = None
        for pre, pre_fields in PRESELECTIONS:
            cfg = CandidateConfig(**rule_fields, **pre_fields)
            cw = candidate_windows(chunk.waveforms, cfg, sampling_ns=chunk.sampling_ns)
            found, n_true = candidate_recall(cw, chunk.truth)
            recall = found / n_true
            bare = recall if bare is None else bare
            labels = candidate_labels(cw, chunk.truth)
            rows.append({
                "rule": rule, "preselection": pre, "config": dataclasses.asdict(cfg),
                "windows": len(cw) / n, "signal": float(labels.sum()) / n, "recall": recall,
                "relative": recall / bare, "shadowed": float(shadowed_windows(cw, ref, ref_off).sum()) / n,
                "ms_per_1000": 1e6 * _step1_seconds(timed, cfg, model, repeat) / len(timed),
            })
        k25 = next(r["recall"] for r in rows if r["rule"] == rule and r["config"]["threshold"] == 2.5
                   and r["config"]["roi_threshold"] is None)
        for r in rows:
            if r["rule"] == rule:
                r["relative_k25"] = r["recall"] / k25
    return rows


#: Separation bins (samples, inclusive) of the isolated-pair table.
PAIR_BINS: tuple[tuple[int, int], ...] = ((0, 2), (3, 4), (5, 6), (7, 9), (10, 14), (15, 30))
#: An isolated pair has no other true peak within this many samples of either electron.
PAIR_ISOLATION: int = 15


def pair_table(chunk: WaveformChunk, configs: list[tuple[str, CandidateConfig]]) -> list[str]:
    """Fraction of isolated electron pairs with a window for both, per separation bin.

    A pair is two consecutive true electron peaks of a waveform with no other one within
    :data:`PAIR_ISOLATION` samples; "both offered" means both are matched (one-to-one, within the
    tolerance) to a candidate, i.e. a classifier could find both.
    """
    from ccreco.kernels import match_peaks

    ref, ref_off, _ = truth_peak_samples(chunk.truth, chunk.sampling_ns, chunk.n_samples)
    first, sep = [], []
    for w in range(len(chunk)):
        t = ref[ref_off[w]:ref_off[w + 1]]
        for i in range(t.size - 1):
            before = t[i] - t[i - 1] if i > 0 else np.inf
            after = t[i + 2] - t[i + 1] if i + 2 < t.size else np.inf
            if before > PAIR_ISOLATION and after > PAIR_ISOLATION:
                first.append(ref_off[w] + i)
                sep.append(t[i + 1] - t[i])
    first_a, sep_a = np.asarray(first, dtype=np.int64), np.asarray(sep)
    head = "| rule, pre-selection | " + " | ".join(f"{a}-{b} samples" for a, b in PAIR_BINS) + " |"
    lines = [head, "|---|" + "---:|" * len(PAIR_BINS)]
    counts = [int(np.sum((sep_a >= a) & (sep_a <= b))) for a, b in PAIR_BINS]
    lines.append("| isolated pairs | " + " | ".join(str(c) for c in counts) + " |")
    for name, cfg in configs:
        cw = candidate_windows(chunk.waveforms, cfg, sampling_ns=chunk.sampling_ns)
        rm, _ = match_peaks(ref, ref_off, cw.sample_index, cw.offsets, cfg.tolerance)
        both = (rm[first_a] >= 0) & (rm[first_a + 1] >= 0) if first_a.size else np.zeros(0, bool)
        cells = []
        for a, b in PAIR_BINS:
            sel = (sep_a >= a) & (sep_a <= b)
            cells.append(f"{both[sel].mean():.2f}" if sel.any() else "-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def markdown(rows: list[dict[str, Any]], n: int, seed: int, snr: float | None, timed: str) -> list[str]:
    """The table of :func:`study` as markdown lines."""
    what = f"S/N {snr:g} (both noise terms scaled)" if snr else "its own noise (S/N 6.3)"
    lines = [
        f"{n} `{PRESET}` waveforms at {what}, simulator seed {seed}; matching tolerance "
        f"{CandidateConfig().tolerance} samples. Step-1 time: {timed}.",
        "",
        "| rule | pre-selection | windows / wf | signal windows / wf | candidate recall | / bare | / k 2.5 | "
        "shadowed noise windows / wf | step-1 ms / 1000 wf |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['rule']} | {r['preselection']} | {r['windows']:.1f} | {r['signal']:.1f} | "
                     f"{r['recall']:.3f} | {r['relative']:.3f} | {r['relative_k25']:.3f} | {r['shadowed']:.2f} "
                     f"| {r['ms_per_1000']:.0f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the study and print (and optionally write) the markdown section."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=2000, help="waveforms per sample")
    ap.add_argument("--seed", type=int, default=1001, help="simulator seed")
    ap.add_argument("--snr", type=float, action="append", default=None,
                    help="also a sample at this single-electron S/N (repeatable)")
    ap.add_argument("--model", default=None, help="step-1 ONNX model timed (default: the shipped LSTM)")
    ap.add_argument("--time-n", type=int, default=500, help="waveforms timed per row (default 500)")
    ap.add_argument("--quick", action="store_true", help="300 waveforms, one timing repetition")
    ap.add_argument("-o", "--output", default=None, help="write the markdown here too")
    args = ap.parse_args(argv)
    from ccreco.models.inference import PeakModel
    from ccreco.models.shipped import DEFAULT_PEAK_MODEL, shipped_model

    n = 300 if args.quick else args.n
    path = args.model or str(shipped_model(DEFAULT_PEAK_MODEL))
    model = PeakModel(path, intra_op_num_threads=1, batch_size=256)
    timed = (f"candidates + windows + `{os.path.basename(path)}` on every window of the first "
             f"{min(args.time_n, n)} waveforms, one thread (numba and ONNX Runtime), batch 256, best of "
             f"{1 if args.quick else 3}, all rows in this run")
    lines = ["## Step-1 candidates: windows vs candidate recall (`benchmarks/candidate_study.py`)", ""]
    for snr in [None, *(args.snr or [])]:
        chunk = sample(n, args.seed, snr)
        rows = study(chunk, model, 1 if args.quick else 3, args.time_n)
        lines += markdown(rows, n, args.seed, snr, timed) + [""]
        roi = {"threshold": 1.5, "roi_threshold": 6.0, "roi_margin": 20}
        pairs = [("d2, k 2.5", CandidateConfig()), ("max, k 2.5", CandidateConfig(rule="max")),
                 *((f"top {d}, k 1.5 + ROI 6/20", CandidateConfig(rule="top", min_distance=d, **roi))
                   for d in (2, 3, 5))]
        lines += [f"Isolated electron pairs (no other true peak within {PAIR_ISOLATION} samples) with a "
                  "window for both electrons, by separation (same sample):", ""]
        lines += pair_table(chunk, pairs) + [""]
    text = "\n".join(lines)
    print(text)
    if args.output:
        tmp = f"{args.output}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        os.replace(tmp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
