"""Step-1 models side by side on one test file: window and electron metrics, threshold scan, time.

For each ONNX peak model (its stored candidate selection makes the windows):

- ``evaluate_peaks`` at the model's threshold: window precision / recall / F1 / AUC (natural
  signal/noise mix), electron efficiency and fakes per waveform, windows per waveform and
  candidate recall;
- the electron efficiency at no more than 1 and 3 fakes per waveform, from a scan of the
  decision threshold (``parity_tradeoff.scan``);
- step-1 time per 1000 waveforms (candidates + windows + ONNX Runtime, one thread, batch 256,
  best of 3), all models in the same run.

Usage::

    python benchmarks/step1_models.py TEST.root MODEL.onnx [MODEL.onnx ...] [--rounds 4] [--json OUT.json]
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import parity_tradeoff  # noqa: E402

#: Thresholds scanned for the efficiency-vs-fakes working points.
THRESHOLDS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 20)) + (0.97, 0.98, 0.99)


def step1_ms_per_1000(model_path: str, test: str, n: int, repeat: int = 3) -> float:
    """Best-of-``repeat`` time of candidates + windows + LSTM on ``n`` waveforms, per 1000."""
    from ccreco.io import iterate
    from ccreco.models.dataset import candidate_config, chunk_windows
    from ccreco.models.inference import PeakModel

    model = PeakModel(model_path, intra_op_num_threads=1, batch_size=256)
    cfg = candidate_config(model.window_left, model.window_right, model.candidates)
    chunk = next(iter(iterate(test, step_size=n)))
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        cw, _ = chunk_windows(chunk, cfg, with_labels=False)
        model.predict(cw.windows, sampling_ns=chunk.sampling_ns)
        best = min(best, time.perf_counter() - t0)
    return 1e6 * best / len(chunk)


def measure(model_path: str, test: str, n: int) -> dict[str, Any]:
    """All figures of one model (module docstring)."""
    from ccreco.analysis.evaluate import evaluate_peaks
    from ccreco.models.inference import PeakModel

    ev = evaluate_peaks(test, "lstm", options={"model": model_path})
    parity_tradeoff.THRESHOLDS = THRESHOLDS
    rows = parity_tradeoff.scan(model_path, test)
    out = {k: ev[k] for k in ("precision", "recall", "f1", "auc", "electron_efficiency", "fakes_per_waveform",
                              "candidates_per_waveform", "candidate_recall", "n_waveforms")}
    out.update(model=os.path.basename(model_path), threshold=PeakModel(model_path).threshold,
               candidates=PeakModel(model_path).candidates, scan=rows,
               at_1=parity_tradeoff.at_fakes(rows, 1.0), at_3=parity_tradeoff.at_fakes(rows, 3.0),
               ms_per_1000=step1_ms_per_1000(model_path, test, n))
    return out


def markdown(results: list[dict[str, Any]], test: str) -> list[str]:
    """One table row per model."""
    lines = [
        f"Test file `{os.path.basename(test)}`, {results[0]['n_waveforms']} waveforms; step-1 time: candidates + "
        "windows + ONNX Runtime (one thread, batch 256), best of all timing rounds, same run.",
        "",
        "| model | rule | windows / wf | candidate recall | threshold | precision | recall | window F1 | AUC | "
        "e-eff | fakes / wf | e-eff at <= 1 fake/wf | e-eff at <= 3 fakes/wf | step-1 ms / 1000 wf |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        c = r["candidates"] or {}
        rule = c.get("rule", "d2") + (f" {c.get('min_distance')}" if c.get("rule") == "top" else "")
        if c.get("roi_threshold") is not None:
            rule += f", ROI {c['roi_threshold']:g}/{c.get('roi_margin')}"
        a1, a3 = r["at_1"], r["at_3"]
        lines.append(
            f"| `{r['model']}` | {rule}, k {c.get('threshold')} | {r['candidates_per_waveform']:.1f} | "
            f"{r['candidate_recall']:.3f} | {r['threshold']:g} | {r['precision']:.3f} | {r['recall']:.3f} | "
            f"{r['f1']:.3f} | {r['auc']:.3f} | {r['electron_efficiency']:.3f} | {r['fakes_per_waveform']:.2f} | "
            f"{a1['electron_efficiency']:.3f} ({a1['fakes_per_waveform']:.2f}) | "
            f"{a3['electron_efficiency']:.3f} ({a3['fakes_per_waveform']:.2f}) | {r['ms_per_1000']:.0f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Measure the models and print the table (``--json`` also writes every figure)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("test", help="simulated test file with truth")
    ap.add_argument("models", nargs="+", help="step-1 ONNX models")
    ap.add_argument("-n", type=int, default=2000, help="waveforms timed (default 2000; metrics use the whole file)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="timing rounds (each best of 3), models alternating, the best kept (default 1)")
    ap.add_argument("--json", default=None, help="write all figures here")
    args = ap.parse_args(argv)
    results = [measure(m, args.test, args.n) for m in args.models]
    for r in range(args.rounds - 1):  # more timing, models alternating, the best kept
        pairs = (zip(results, args.models, strict=True) if r % 2
                 else zip(results[::-1], args.models[::-1], strict=True))
        for res, m in pairs:
            res["ms_per_1000"] = min(res["ms_per_1000"], step1_ms_per_1000(m, args.test, args.n))
    print("\n".join(markdown(results, args.test)))
    if args.json:
        from ccreco.analysis.metrics import jsonable

        tmp = f"{args.json}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(jsonable(results), fh, indent=1)
        os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
