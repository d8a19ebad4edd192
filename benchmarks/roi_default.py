"""The default step-1 model with and without the region-of-interest pre-selection (issue 17).

The shipped ``lstm_compact_tb2023_untuned`` (rule ``d2``, k 2.5) is measured as stored and with
``roi_threshold``/``roi_margin`` added to its candidate selection (the same network; only the
windows offered change), on an independent ``tb2023-untuned`` sample and at S/N 20 (both noise
terms scaled as in ``sn_scan.py``):

- step 1 (``step1_models.measure``): window F1 / AUC, electron efficiency and fakes per waveform
  at the stored threshold, electron efficiency at <= 3 fakes/wf (threshold scan), windows per
  waveform, candidate recall, step-1 time (candidates + windows + ONNX Runtime, one thread,
  batch 256, best of ``--rounds`` alternating rounds of 3, same run);
- a fine threshold scan (0.70 ... 0.89, step 0.01; ``parity_tradeoff.scan``): the electron
  efficiency against fakes per waveform, to compare the variants at equal fakes;
- step 2: the shipped CNN on each variant's peaks (``evaluate_clusters(..., "cnn")``) and the
  shipped per-peak model on its candidates (``"perpeak"``): bias, slope, calibrated RMS / sqrt(N).

Usage::

    python benchmarks/roi_default.py -o OUT [-n 2000] [--seed 3] [--snr 20] [--rounds 4]
    python benchmarks/roi_default.py --model BARE.onnx --write OUT.onnx   # store the ROI, nothing else
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import parity_tradeoff  # noqa: E402
import step1_models  # noqa: E402

#: Thresholds of the fine efficiency-vs-fakes scan.
FINE: tuple[float, ...] = tuple(round(0.70 + 0.01 * i, 2) for i in range(20))

#: Keys copied from the step-2 evaluation.
CLUSTER_KEYS: tuple[str, ...] = ("bias", "slope", "slope_err", "calibrated_rms_over_sqrt_n", "rms_over_sqrt_n",
                                 "mean_true", "mean_reco")


def with_candidates(src: str | os.PathLike[str], dst: str | os.PathLike[str], fields: dict[str, Any]) -> None:
    """Copy an ONNX peak model with ``fields`` set in its stored candidate selection."""
    import onnx

    from ccreco.models import metadata

    model = onnx.load(str(src))
    props = {p.key: p.value for p in model.metadata_props}
    meta = metadata.decode(props)
    cand = dict(meta.get("candidates") or {})
    cand.update(fields)
    key = metadata.PREFIX + "candidates"
    for p in model.metadata_props:
        if p.key == key:
            p.value = metadata.encode({"candidates": cand})[key]
    onnx.save(model, str(dst))


def main(argv: list[str] | None = None) -> int:
    """Simulate the samples, measure both variants, write ``roi_default.json``."""
    from ccreco.analysis.evaluate import evaluate_clusters
    from ccreco.analysis.metrics import jsonable
    from ccreco.models.shipped import shipped_model
    from ccreco.sim import SimConfig, simulate_to_file
    from ccreco.sim.snr import config_at_snr

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", default=None, help="output directory (required unless --write)")
    ap.add_argument("--write", default=None, help="only write --model with the ROI stored to this path")
    ap.add_argument("-n", type=int, default=2000, help="test waveforms per sample")
    ap.add_argument("--seed", type=int, default=3, help="simulator seed of the test samples")
    ap.add_argument("--snr", default="20", help="comma-separated extra S/N points ('' for none)")
    ap.add_argument("--model", default=None, help="bare model (default: the shipped default)")
    ap.add_argument("--roi-threshold", type=float, default=6.0)
    ap.add_argument("--roi-margin", type=int, default=20)
    ap.add_argument("--timed", type=int, default=500, help="waveforms timed")
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args(argv)
    roi_fields = {"roi_threshold": args.roi_threshold, "roi_margin": args.roi_margin}
    if args.write:
        if not args.model:
            ap.error("--write needs --model")
        with_candidates(args.model, args.write, roi_fields)
        return 0
    if not args.out:
        ap.error("-o/--out is required")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from ccreco.models.shipped import DEFAULT_PEAK_MODEL

    bare = args.model or str(shipped_model(DEFAULT_PEAK_MODEL))
    roi = str(out / "roi.onnx")
    with_candidates(bare, roi, roi_fields)
    samples = [("native", SimConfig.from_preset("tb2023-untuned"))]
    samples += [(f"snr{s}", config_at_snr(float(s))) for s in args.snr.split(",") if s.strip()]
    results: dict[str, Any] = {"seed": args.seed, "n": args.n, "bare": os.path.basename(bare),
                               "roi": {"roi_threshold": args.roi_threshold, "roi_margin": args.roi_margin},
                               "samples": {}}
    for name, cfg in samples:
        test = str(out / f"test_{name}_s{args.seed}.root")
        if not os.path.exists(test):
            simulate_to_file(test, cfg, args.n, args.seed)
        rows = {}
        for label, path in (("bare", bare), ("roi", roi)):
            r = step1_models.measure(path, test, args.timed)
            r.pop("scan", None)
            coarse = parity_tradeoff.THRESHOLDS
            parity_tradeoff.THRESHOLDS = FINE
            r["fine_scan"] = parity_tradeoff.scan(path, test)
            parity_tradeoff.THRESHOLDS = coarse
            for method in ("cnn", "perpeak"):
                ev = evaluate_clusters(test, method, options={"peak_model": path})
                r[method] = {k: ev.get(k) for k in CLUSTER_KEYS}
            rows[label] = r
            print(name, label, {k: r[k] for k in ("f1", "auc", "electron_efficiency", "fakes_per_waveform",
                                                  "candidates_per_waveform", "candidate_recall", "ms_per_1000")},
                  r["at_3"], r["cnn"], r["perpeak"], flush=True)
        for i in range(args.rounds - 1):
            for label, path in ((("roi", roi), ("bare", bare)) if i % 2 == 0 else (("bare", bare), ("roi", roi))):
                rows[label]["ms_per_1000"] = min(rows[label]["ms_per_1000"],
                                                 step1_models.step1_ms_per_1000(path, test, args.timed))
        results["samples"][name] = {"noise_mv": cfg.noise_mv, "coloured_noise_mv": cfg.coloured_noise_mv, **rows}
        print(name, "ms/1000 bare", rows["bare"]["ms_per_1000"], "roi", rows["roi"]["ms_per_1000"], flush=True)
        (out / "roi_default.json").write_text(json.dumps(jsonable(results), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
