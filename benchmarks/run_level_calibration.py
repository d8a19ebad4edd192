"""A run-level correction of the per-peak count, learned from simulated runs (measured, not in reco).

The default step 2's level depends on what one waveform cannot tell (the cluster-size
distribution, the density of clusters in time). A run of many waveforms can: this study computes
run statistics of the shipped chain's output for each block of waveforms (confident candidates per
waveform and per ns, the histogram of gaps between consecutive confident candidates, amplitude
quantile ratios, the per-peak yield per confident candidate, ...; :func:`block_features`), fits a
ridge regression of ``log(sum true / sum counted)`` on them over the blocks of domain-randomized
samples (each block one simulated configuration), and applies it to held-out samples::

    ccreco simulate --randomize -n 32000 --seed 21 --set density_scale=0.5,2.0 --set block=128 -o train_a.root
    ccreco simulate --randomize -n 32000 --seed 23 --set density_scale=0.5,2.0 --set block=128 -o train_b.root
    ccreco simulate --randomize -n 16000 --seed 22 --set density_scale=0.5,2.0 --set block=128 -o val.root
    python benchmarks/run_level_calibration.py --train train_a.root,train_b.root --validate val.root \\
        --test untuned.root,heed.root,... [--block 128] [--test-block 500] [--json out.json]

Numbers and samples: docs/MODELS.md, "What did not move the level or the slope".
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

#: Edges (ns) of the histogram of gaps between consecutive confident candidates (under 20 ns).
GAP_EDGES = (0, 2, 4, 6, 9, 12, 20)
FEATURES = ("confident_per_wf", "span_ns", "confident_per_ns",
            *(f"gaps_{a}_{b}" for a, b in zip(GAP_EDGES[:-1], GAP_EDGES[1:], strict=True)),
            "amp_q25_over_q50", "amp_q75_over_q50", "amp_q90_over_q50", "amp_q97_over_q50",
            "candidates_per_confident", "score_sum_per_confident", "count_per_confident",
            "amp_q50_over_noise", "gaps_under_20_fraction")
CONFIDENT = 0.5


def block_features(features: np.ndarray, offsets: np.ndarray, counts: np.ndarray, rms: np.ndarray) -> list[float]:
    """The run statistics (:data:`FEATURES`) of one block of waveforms.

    Parameters
    ----------
    features : numpy.ndarray
        ``(m, 4)`` per-candidate quantities (:func:`ccreco.models.encoding.peak_features`).
    offsets : numpy.ndarray
        ``(n + 1,)`` waveform offsets into them, from 0.
    counts : numpy.ndarray
        ``(n,)`` per-peak counts of the waveforms.
    rms : numpy.ndarray
        ``(n,)`` baseline noise RMS of the waveforms (mV).

    Returns
    -------
    list of float
    """
    n = len(offsets) - 1
    n_conf, spans, gaps, amps = [], [], [], []
    for w in range(n):
        c = features[offsets[w]:offsets[w + 1]]
        c = c[c[:, 3] >= CONFIDENT]
        n_conf.append(len(c))
        if len(c):
            spans.append(c[-1, 0] - c[0, 0])
            amps.append(c[:, 1])
        if len(c) >= 2:
            gaps.append(np.diff(c[:, 0]))
    g = np.concatenate(gaps) if gaps else np.zeros(0)
    g20 = g[g < GAP_EDGES[-1]]
    hist = np.histogram(g20, GAP_EDGES)[0] / max(len(g20), 1)
    q = np.quantile(np.concatenate(amps) if amps else np.ones(1), [0.25, 0.5, 0.75, 0.9, 0.97])
    conf = float(np.mean(n_conf))
    span = float(np.mean(spans)) if spans else 1.0
    per_conf = max(conf, 1e-3)
    return [conf, span, conf / max(span, 1.0), *hist.tolist(), q[0] / q[1], q[2] / q[1], q[3] / q[1], q[4] / q[1],
            len(features) / n / per_conf, float(features[:, 3].sum()) / n / per_conf,
            float(np.mean(counts)) / per_conf, q[1] / float(np.mean(rms)), len(g20) / max(len(g), 1)]


def blocks(path: str, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Features and ``(sum true, sum counted)`` of consecutive blocks of ``block`` waveforms of a file.

    The file is read in chunks of a multiple of ``block`` so that blocks follow the randomized
    sample's configuration blocks; a last block under half the size is dropped.
    """
    from ccreco.analysis.methods import _peak_model, score_windows
    from ccreco.io import iterate
    from ccreco.models.dataset import scored_windows
    from ccreco.models.encoding import peak_features
    from ccreco.models.inference import PeakClusterModel
    from ccreco.models.shipped import DEFAULT_PERPEAK_MODEL, shipped_model

    peak_model, _, cands = _peak_model({}, "peak_model")
    counter = PeakClusterModel(shipped_model(DEFAULT_PERPEAK_MODEL), intra_op_num_threads=1, batch_size=4096)
    xs, ys = [], []
    for chunk in iterate(path, step_size=block * max(1, 10_000 // block)):
        cw, scored = scored_windows(chunk, cands)
        scores = score_windows(peak_model, cw.windows, chunk.sampling_ns, scored)
        counts = counter.count(cw, scores, sampling_ns=chunk.sampling_ns)
        feats = peak_features(cw.windows, cw.time_ns, scores, cw.config.window_left)
        true = np.asarray(chunk.truth["n_clusters"], dtype=float)
        off = cw.offsets
        for a in range(0, len(chunk), block):
            b = min(a + block, len(chunk))
            if b - a < block // 2:
                continue
            xs.append(block_features(feats[off[a]:off[b]], off[a:b + 1] - off[a], counts[a:b], cw.rms[a:b]))
            ys.append((true[a:b].sum(), counts[a:b].sum()))
    return np.array(xs, dtype=float), np.array(ys, dtype=float)


def fit(x: np.ndarray, y: np.ndarray, lam: float = 10.0) -> dict[str, Any]:
    """Ridge regression of ``log(true / counted)`` on standardised features."""
    target = np.log(y[:, 0] / y[:, 1])
    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / scale
    coef = np.linalg.solve(z.T @ z + lam * np.eye(z.shape[1]), z.T @ (target - target.mean()))
    return {"mean": mean, "scale": scale, "coef": coef, "intercept": float(target.mean()), "lambda": lam}


def correction(model: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """The multiplicative correction of each block's count."""
    return np.exp(((x - model["mean"]) / model["scale"]) @ model["coef"] + model["intercept"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True, help="comma-separated randomized samples (blocks of --block)")
    ap.add_argument("--validate", default="", help="comma-separated randomized samples held out")
    ap.add_argument("--test", default="", help="comma-separated held-out samples (one configuration each)")
    ap.add_argument("--block", type=int, default=128, help="waveforms per block of the randomized samples")
    ap.add_argument("--test-block", type=int, default=500, help="waveforms per block of the test samples")
    ap.add_argument("--lambda", dest="lam", type=float, default=10.0, help="ridge strength")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    parts = [blocks(p, args.block) for p in args.train.split(",") if p]
    x, y = np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])
    model = fit(x, y, args.lam)
    out: dict[str, Any] = {"n_train_blocks": len(x), "features": list(FEATURES), "coef": model["coef"].tolist(),
                           "intercept": model["intercept"], "validate": {}, "test": {}}
    print(f"{len(x)} training blocks of {args.block}; log(true/counted) RMS {np.std(np.log(y[:, 0] / y[:, 1])):.4f}")
    for path in (p for p in args.validate.split(",") if p):
        xv, yv = blocks(path, args.block)
        resid = np.log(yv[:, 0] / yv[:, 1]) - np.log(correction(model, xv))
        out["validate"][path] = {"blocks": len(xv), "rms_before": float(np.std(np.log(yv[:, 0] / yv[:, 1]))),
                                 "rms_after": float(np.std(resid)), "mean_after": float(np.mean(resid))}
        print(f"validate {Path(path).name}: {len(xv)} blocks, log(true/counted) RMS "
              f"{out['validate'][path]['rms_before']:.4f} -> {out['validate'][path]['rms_after']:.4f}")
    for path in (p for p in args.test.split(",") if p):
        xt, yt = blocks(path, args.test_block)
        true, counted = yt[:, 0].sum(), yt[:, 1].sum()
        corrected = float((yt[:, 1] * correction(model, xt)).sum())
        out["test"][path] = {"level_before_pct": 100 * (counted / true - 1),
                             "level_after_pct": 100 * (corrected / true - 1)}
        print(f"{Path(path).name:24s} {out['test'][path]['level_before_pct']:+6.1f} % -> "
              f"{out['test'][path]['level_after_pct']:+6.1f} %")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
