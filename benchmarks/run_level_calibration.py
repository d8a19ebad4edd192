"""The run-level correction of the per-peak count, measured on held-out samples by block.

The default step 2's level depends on what one waveform cannot tell (the cluster-size
distribution, the density of clusters in time). A run of many waveforms can: this study computes
the run statistics of the shipped chain's output for each block of waveforms
(:func:`ccreco.models.runlevel.run_statistics`: confident candidates per waveform and per ns, the
histogram of gaps between consecutive confident candidates, amplitude quantile ratios, the
per-peak yield per confident candidate, ...), fits the ridge regression of ``log(level)`` on them
over the blocks of domain-randomized samples (each block one simulated configuration; the fit of
``ccreco train runlevel``), and applies it to held-out samples in blocks of ``--test-block``
(``ccreco reco --set run_level=...`` applies the shipped fit per file)::

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


def blocks(path: str, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Statistics and ``(sum true, sum counted)`` of consecutive blocks of ``block`` waveforms of a
    file, through the shipped chain (:func:`ccreco.models.runlevel.run_level_sample`)."""
    from ccreco.models.inference import PeakClusterModel, PeakModel
    from ccreco.models.runlevel import run_level_sample
    from ccreco.models.shipped import DEFAULT_PEAK_MODEL, DEFAULT_PERPEAK_MODEL, shipped_model

    sample = run_level_sample(path, PeakModel(shipped_model(DEFAULT_PEAK_MODEL)),
                              PeakClusterModel(shipped_model(DEFAULT_PERPEAK_MODEL), batch_size=4096), block=block)
    return sample.statistics, np.column_stack([sample.true_sum, sample.count_sum])


def fit(x: np.ndarray, y: np.ndarray, lam: float = 10.0) -> Any:
    """:func:`ccreco.models.runlevel.fit_run_level` on ``blocks`` output."""
    from ccreco.models.runlevel import RunLevelSample, fit_run_level

    return fit_run_level(RunLevelSample(x, y[:, 0], y[:, 1], 1.0), ridge=lam)


def correction(model: Any, x: np.ndarray) -> np.ndarray:
    """The multiplicative correction of each block's count (1 / its predicted level)."""
    return np.asarray(1.0 / model.level(x))


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
    from ccreco.models.runlevel import STATISTICS

    out: dict[str, Any] = {"n_train_blocks": len(x), "features": list(STATISTICS), "coef": model.coef.tolist(),
                           "intercept": model.intercept, "validate": {}, "test": {}}
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
