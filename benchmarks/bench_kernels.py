"""Benchmark of ``ccreco.kernels``: candidate + window throughput, the candidate-selection study
and the DERIV baseline (the numbers the ML models must beat).

Run as a script (``python benchmarks/bench_kernels.py [--quick]``) or through
``benchmarks/run.py``. Everything runs on one core (NUMBA_NUM_THREADS=1). Samples:
tb2023-untuned simulation generated in memory, seed 1001 for throughput and the candidate study,
seed 2000 for the DERIV scan and the independent seed 2001 for the DERIV figures quoted.
The candidate-selection plot is written to ``docs/img/candidate_selection.png``.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import itertools
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ccreco.analysis.metrics import cluster_metrics, electron_matching, selected_candidates, window_metrics
from ccreco.io import WaveformChunk
from ccreco.kernels import (
    CandidateConfig,
    ClusterizeConfig,
    DerivConfig,
    candidate_labels,
    candidate_windows,
    clusterize,
    deriv_peaks,
    match_peaks,
    truth_peak_samples,
)
from ccreco.kernels.baseline import baseline_rms
from ccreco.sim import SimConfig, simulate

ROOT = Path(__file__).resolve().parent.parent
PLOT = ROOT / "docs" / "img" / "candidate_selection.png"
PRESET = "tb2023-untuned"


def sample(n: int, seed: int) -> WaveformChunk:
    """One in-memory chunk of tb2023-untuned simulation."""
    return next(iter(simulate(SimConfig.from_preset(PRESET), n, seed=seed, chunk_size=n)))


# ---------------------------------------------------------------------------------------------
# baselines for the throughput comparison (same selection: d2 rule + k x RMS, same windows)
def numpy_candidate_windows(wf: np.ndarray, cfg: CandidateConfig) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized numpy implementation of ``candidate_windows`` (rule d2, amplitude cut)."""
    base, rms = baseline_rms(wf)  # the same 25 ns region
    left, right = cfg.window_left, cfg.window_right
    x = wf.astype(np.float64)
    mid = x[:, 1:-1]
    ok = (mid - x[:, :-2]) > (x[:, 2:] - mid)
    if cfg.threshold is not None:
        ok &= mid > (base + cfg.threshold * rms)[:, None]
    ok[:, : max(left - 1, 0)] = False
    ok[:, wf.shape[1] - 2 - right + 1:] = False
    w, i = np.nonzero(ok)
    i = i + 1
    cols = i[:, None] + np.arange(-left, right + 1)[None, :]
    win = wf[w[:, None], cols].astype(np.float64)
    win -= win.mean(axis=1, keepdims=True)
    return win.astype(np.float32)[:, :, None], i


def scipy_candidate_windows(wf: np.ndarray, cfg: CandidateConfig) -> list[np.ndarray]:
    """Per-waveform loop: scipy.signal.find_peaks above k x RMS, then window slicing."""
    from scipy.signal import find_peaks

    left, right = cfg.window_left, cfg.window_right
    out = []
    ns = wf.shape[1]
    for x in wf:
        region = x[:25].astype(np.float64)
        height = region.mean() + (cfg.threshold or 0.0) * region.std()
        peaks, _ = find_peaks(x, height=height)
        peaks = peaks[(peaks >= left) & (peaks <= ns - 1 - right)]
        win = np.stack([x[p - left: p + right + 1] for p in peaks]) if peaks.size else np.zeros((0, left + right + 1))
        out.append((win - win.mean(axis=1, keepdims=True)).astype(np.float32))
    return out


def best_time(fn: Any, repeat: int) -> float:
    fn()  # warm-up / compilation
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return float(best)


def throughput(wf: np.ndarray, quick: bool) -> list[str]:
    cfg = CandidateConfig()
    n = wf.shape[0]
    gb = wf.nbytes / 1e9
    rep = 2 if quick else 5
    t_nb = best_time(lambda: candidate_windows(wf, cfg), rep)
    t_np = best_time(lambda: numpy_candidate_windows(wf, cfg), max(1, rep // 2))
    n_sp = min(n, 200 if quick else 1000)
    t_sp = best_time(lambda: scipy_candidate_windows(wf[:n_sp], cfg), 1) * n / n_sp
    t_bare = best_time(lambda: candidate_windows(wf, CandidateConfig(threshold=None)), rep)
    rows = [
        ("ccreco (numba), default cut", t_nb),
        ("ccreco (numba), bare rule (~1000 windows/wf)", t_bare),
        ("numpy vectorized, default cut", t_np),
        ("scipy find_peaks loop + slicing, default cut", t_sp),
    ]
    lines = [
        f"Candidates + windows, {n} waveforms x {wf.shape[1]} float32 samples, one core, best of "
        f"{rep} (scipy loop timed on {n_sp} waveforms and scaled):",
        "",
        "| implementation | waveforms/s | GB/s of samples | numba speed-up |",
        "|---|---:|---:|---:|",
    ]
    for name, t in rows:
        lines.append(f"| {name} | {n / t:,.0f} | {gb / t:.2f} | {t / t_nb:.1f}x |")
    return lines


# ---------------------------------------------------------------------------------------------
def candidate_study(chunk: WaveformChunk) -> tuple[list[str], dict[str, Any]]:
    """Candidate recall vs windows per waveform for the selection options; picks the default."""
    ref, ref_off, _ = truth_peak_samples(chunk.truth, chunk.sampling_ns, chunk.n_samples)
    options: list[CandidateConfig] = []
    for rule, smooth in (("d2", 0), ("d2", 1), ("max", 0), ("max", 1)):
        for k in (None, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0):
            options.append(CandidateConfig(threshold=k, smooth=smooth, rule=rule))
    rows = []
    for cfg in options:
        cw = candidate_windows(chunk.waveforms, cfg, sampling_ns=chunk.sampling_ns)
        rm, _ = match_peaks(ref, ref_off, cw.sample_index, cw.offsets, cfg.tolerance)
        rows.append((cfg, float(np.mean(rm >= 0)), len(cw) / len(chunk)))
    bare = next(r for c, r, _ in rows if c.threshold is None and c.smooth == 0 and c.rule == "d2")
    ok = [(c, r, w) for c, r, w in rows if r >= 0.99 * bare]
    chosen = min(ok, key=lambda t: t[2])
    lines = [
        f"Candidate selection on {len(chunk)} {PRESET} waveforms (seed 1001), tolerance "
        f"{CandidateConfig().tolerance} samples: candidate recall = fraction of true electron peaks "
        f"with a candidate (one-to-one); the bare rule's recall ({bare:.4f}) is what any classifier "
        f"could at most find. Requirement: >= 99% of it with the fewest windows.",
        "",
        "| rule | smooth h | k (x RMS) | windows / waveform | candidate recall | / bare |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c, r, w in rows:
        mark = " **chosen**" if c == chosen[0] else ""
        k = "none" if c.threshold is None else f"{c.threshold:g}"
        lines.append(f"| {c.rule} | {c.smooth} | {k} | {w:.1f} | {r:.4f} | {r / bare:.3f}{mark} |")
    c = chosen[0]
    lines += ["", f"Chosen default: rule={c.rule}, smooth={c.smooth}, threshold={c.threshold} "
              f"({chosen[2]:.1f} windows/waveform, recall {chosen[1]:.4f} = {chosen[1] / bare:.3f} of bare, "
              f"{rows[0][2] / chosen[2]:.1f}x fewer windows than the bare rule)."]
    _plot(rows, bare)
    return lines, {"chosen": c, "rows": rows, "bare": bare}


def _plot(rows: list[tuple[CandidateConfig, float, float]], bare: float) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import mplhep as hep
    except ImportError:  # pragma: no cover - plotting extra missing
        return
    hep.style.use("ROOT")
    fig, ax = plt.subplots(figsize=(8, 6))
    for (rule, smooth), marker in zip(itertools.product(("d2", "max"), (0, 1)), "osD^", strict=True):
        pts = [(w, r) for c, r, w in rows if c.rule == rule and c.smooth == smooth]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, label=f"rule {rule}, smooth h={smooth}")
    ax.axhline(0.99 * bare, color="grey", ls="--", label="99% of bare-rule recall")
    ax.set_xscale("log")
    ax.set_xlabel("candidate windows per waveform")
    ax.set_ylabel("candidate recall (true electron peaks)")
    ax.legend(fontsize=12, loc="lower right")
    hep.label.exp_text("ccreco", "simulation", loc=0, ax=ax)
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=100, bbox_inches="tight")
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
class _Prepared:
    """Candidate windows, labels and truth of a sample, computed once for the scans."""

    def __init__(self, chunk: WaveformChunk, cfg: CandidateConfig) -> None:
        self.chunk = chunk
        self.cfg = cfg
        self.cw = candidate_windows(chunk.waveforms, cfg, sampling_ns=chunk.sampling_ns)
        self.labels = candidate_labels(self.cw, chunk.truth)
        self.ref, self.ref_off, self.ref_t = truth_peak_samples(chunk.truth, chunk.sampling_ns, chunk.n_samples)
        self.n_true = np.asarray(chunk.truth["n_clusters"], dtype=np.int64)

    def peaks(self, d: DerivConfig) -> dict[str, Any]:
        ch = self.chunk
        idx, off, _, _ = deriv_peaks(ch.waveforms, d, sampling_ns=ch.sampling_ns)
        sel = selected_candidates(self.cw.sample_index, self.cw.offsets, idx, off, self.cfg.tolerance)
        out = window_metrics(self.labels, selected=sel)
        e = electron_matching(self.ref, self.ref_off, idx, off, self.cfg.tolerance,
                              sampling_ns=ch.sampling_ns, true_times_ns=self.ref_t)
        out["electron_efficiency"] = e["n_matched"] / e["n_true"]
        out["fakes_per_waveform"] = e["n_fakes"] / len(ch)
        out["_idx"], out["_off"] = idx, off
        return out

    def clusters(self, idx: np.ndarray, off: np.ndarray, c: float) -> dict[str, Any]:
        _, n_reco = clusterize(idx * float(self.chunk.sampling_ns), off, ClusterizeConfig(c=c))
        return cluster_metrics(self.n_true, n_reco)


def deriv_study(scan: WaveformChunk, test: WaveformChunk, cfg: CandidateConfig, quick: bool
                ) -> tuple[list[str], dict[str, Any]]:
    """Scan N1..N4 (window F1) and c (cluster RMS) on ``scan``; quote the best on ``test``."""
    prep = _Prepared(scan, cfg)
    grid = (
        itertools.product((2.0, 3.0, 4.0, 6.0), (1.0, 2.0), (0.1,), (0.1,)) if quick else
        itertools.product((2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 12.0), (0.0, 0.25, 0.5, 1.0, 1.5, 2.0),
                          (0.0, 0.1, 0.2), (0.0, 0.1, 0.2))
    )
    results = []
    for n1, n2, n3, n4 in grid:
        d = DerivConfig(n1=n1, n2=n2, n3=n3, n4=n4)
        m = prep.peaks(d)
        results.append((d, m))
    best_d, best_m = max(results, key=lambda t: t[1]["f1"])
    cs = (0.1, 0.2, 0.3, 0.4) if quick else tuple(np.round(np.arange(0.05, 0.81, 0.05), 2))
    # cluster counting: best c for the best-F1 setting, and the best (setting, c) overall
    c_rows = [(c, prep.clusters(best_m["_idx"], best_m["_off"], c)) for c in cs]
    best_c, _ = min(c_rows, key=lambda t: t[1]["rms"])
    joint = []
    for d, m in sorted(results, key=lambda t: -t[1]["f1"])[: (3 if quick else 25)]:
        for c in cs:
            joint.append((d, c, prep.clusters(m["_idx"], m["_off"], c)))
    jd, jc, _ = min(joint, key=lambda t: t[2]["rms"])
    analysts = DerivConfig(n1=9.0, n2=1.1, n3=0.1, n4=0.1)

    tprep = _Prepared(test, cfg)
    lines = [
        f"DERIV scanned on {len(scan)} {PRESET} waveforms (seed 2000): N1 x N2 x N3 x N4 = "
        f"{len(results)} settings for window F1, c in [{cs[0]}, {cs[-1]}] for the cluster-count RMS; "
        f"figures below on the independent sample of {len(test)} waveforms (seed 2001), "
        f"candidates {_cand_text(cfg)}, tolerance {cfg.tolerance} samples.",
        "",
        "| setting | N1 | N2 | N3 | N4 | c | precision | recall | F1 | eff*pur | electron eff | fakes/wf "
        "| N bias | N RMS | RMS/sqrt(N) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    figures = {}
    for name, d, c in (("best window F1", best_d, best_c), ("best cluster RMS", jd, jc),
                       ("analysts' typical", analysts, best_c)):
        m = tprep.peaks(d)
        cm = tprep.clusters(m["_idx"], m["_off"], c)
        figures[name] = (d, c, m, cm)
        lines.append(
            f"| {name} | {d.n1:g} | {d.n2:g} | {d.n3:g} | {d.n4:g} | {c:g} | {m['precision']:.3f} | "
            f"{m['recall']:.3f} | {m['f1']:.3f} | {m['efficiency_purity']:.3f} | "
            f"{m['electron_efficiency']:.3f} | {m['fakes_per_waveform']:.2f} | {cm['bias']:+.2f} | "
            f"{cm['rms']:.2f} | {cm['rms_over_sqrt_n']:.3f} |"
        )
    top = sorted(results, key=lambda t: -t[1]["f1"])[:8]
    lines += ["", "Top settings by window F1 on the scan sample:", "",
              "| N1 | N2 | N3 | N4 | precision | recall | F1 | electron eff | fakes/wf |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for d, m in top:
        lines.append(f"| {d.n1:g} | {d.n2:g} | {d.n3:g} | {d.n4:g} | {m['precision']:.3f} | {m['recall']:.3f} | "
                     f"{m['f1']:.3f} | {m['electron_efficiency']:.3f} | {m['fakes_per_waveform']:.2f} |")
    lines += ["", f"Cluster-count RMS vs c for the best-F1 setting (scan sample, mean N_true "
              f"{c_rows[0][1]['mean_true']:.2f}):", "", "| c | bias | RMS | RMS/sqrt(N) |", "|---:|---:|---:|---:|"]
    for c, cm in c_rows:
        lines.append(f"| {c:g} | {cm['bias']:+.2f} | {cm['rms']:.2f} | {cm['rms_over_sqrt_n']:.3f} |")
    return lines, figures


def _cand_text(cfg: CandidateConfig) -> str:
    return f"rule {cfg.rule}, smooth {cfg.smooth}, k = {cfg.threshold}"


def main(quick: bool = False) -> str:
    """Run the kernel benchmarks and studies; return the markdown section.

    Parameters
    ----------
    quick : bool
        Smaller samples and grids (smoke check).

    Returns
    -------
    str
        Markdown section for BENCHMARKS.md.
    """
    n = 300 if quick else 2000
    study = sample(n, 1001)
    lines = ["## Kernels: candidates, windows, DERIV (`benchmarks/bench_kernels.py`)", ""]
    lines += throughput(study.waveforms, quick)
    lines += ["", "### Candidate selection", ""]
    cand_lines, cand = candidate_study(study)
    lines += cand_lines
    lines += ["", f"![candidate selection]({PLOT.relative_to(ROOT).as_posix()})", "",
              "### DERIV baseline (the numbers the ML models must beat)", ""]
    deriv_lines, _ = deriv_study(sample(n, 2000), sample(n, 2001), CandidateConfig(), quick)
    lines += deriv_lines
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(main(quick="--quick" in sys.argv[1:]))
