"""Issue-5 parity test: does the candidate rule cap the window F1? (d2 vs local maxima).

For each single-electron S/N (noise scaled exactly as :mod:`sn_scan`, same seeds: point index
``i`` gives simulator seeds ``1000 + i`` for training and ``3000 + i`` for the independent test
sample) and each candidate rule (``d2`` = the shipped default; ``max``; ``max:1`` = local maxima
of the 3-sample box sum), the script

1. cuts and labels the training windows with that rule (``peak_sample(..., candidates=...)``,
   stored in the model's ``candidates`` metadata), trains the compact LSTM
   (``auto_threshold``, training seed 1) and exports it;
2. evaluates it on the independent test sample with
   :func:`ccreco.analysis.evaluate.evaluate_peaks` **on the same candidate definition**
   (``candidates=CandidateConfig(**model.candidates)``, explicit; the evaluator now also takes
   the model's stored selection by itself);
3. evaluates DERIV on the same windows at every N1 of :data:`sn_scan.DERIV_N1` (best window F1
   kept, chosen on the test sample: optimistic for DERIV);
4. counts candidates per waveform, signal candidates and the candidate recall (signal windows /
   true electron peaks: the most any classifier on these windows could find).

Results: ``parity_candidates.json`` (rewritten after each task) and ``parity_candidates.md``.

Usage::

    python benchmarks/parity_candidates.py -o OUT --snr 20,30,6.325 --index 5,6,7 \\
        --rules d2,max,max:1 --n-train 6000 --n-test 2000 --epochs 20 --jobs 2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sn_scan import DERIV_N1, PEAK_KEYS, config_at_snr  # noqa: E402


def rule_fields(spec: str) -> dict[str, Any]:
    """CandidateConfig fields of a rule spec: ``d2``, ``max`` or ``RULE:SMOOTH`` (e.g. ``max:1``).

    Parameters
    ----------
    spec : str
        Rule name, optionally followed by ``:h`` (box-sum half width).

    Returns
    -------
    dict
        ``rule`` and ``smooth`` (the other fields stay at their defaults).
    """
    rule, _, smooth = spec.partition(":")
    return {"rule": rule, "smooth": int(smooth or 0)}


def simulate(task: dict[str, Any]) -> dict[str, str]:
    """Simulate (once) the training and test samples of one S/N point; returns their paths."""
    from ccreco.sim import simulate_to_file

    snr, idx = float(task["snr"]), int(task["index"])
    work = Path(task["workdir"]) / f"snr{snr:g}"
    work.mkdir(parents=True, exist_ok=True)
    cfg = config_at_snr(snr)
    files = {}
    for name, n, seed in (("train", task["n_train"], 1000 + idx), ("test", task["n_test"], 3000 + idx)):
        path = work / f"{name}_{n}_s{seed}.root"
        if not path.exists():
            tmp = path.with_suffix(".tmp.root")
            simulate_to_file(str(tmp), cfg, int(n), seed)
            tmp.rename(path)
        files[name] = str(path)
    return files


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Train and evaluate one (S/N, candidate rule) combination.

    Parameters
    ----------
    task : dict
        ``snr``, ``index``, ``rule`` (spec), ``workdir``, ``n_train``, ``n_test``, ``epochs``,
        ``threads``, ``files`` (from :func:`simulate`).

    Returns
    -------
    dict
        Settings, seeds, candidate census and metrics of the LSTM and of DERIV's best N1.
    """
    os.environ.setdefault("CCRECO_NO_PROGRESS", "1")
    threads = int(task["threads"])
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    from ccreco.analysis.evaluate import evaluate_peaks
    from ccreco.kernels import CandidateConfig
    from ccreco.models.config import PEAK_PRESETS, PEAK_TRAIN
    from ccreco.models.dataset import peak_sample
    from ccreco.models.inference import PeakModel
    from ccreco.models.train_peaks import train_peak_model

    t_start = time.perf_counter()
    snr, idx = float(task["snr"]), int(task["index"])
    files = task["files"]
    fields = rule_fields(task["rule"])
    mcfg = PEAK_PRESETS["compact"]
    sample = peak_sample(files["train"], mcfg, candidates=fields)
    tcfg = dataclasses.replace(PEAK_TRAIN, epochs=int(task["epochs"]), seed=1, threads=threads,
                               auto_threshold=True)
    res = train_peak_model(sample.windows, sample.labels, mcfg, tcfg, sampling_ns=sample.sampling_ns,
                           sample=sample.info, candidates=sample.info["candidates"])
    path = Path(task["workdir"]) / f"snr{snr:g}" / f"lstm_compact_{task['rule'].replace(':', 's')}.onnx"
    res.export(path)
    train_s = time.perf_counter() - t_start
    # evaluate on the candidate definition stored in the model (not the evaluator's default)
    stored = dict(PeakModel(path).candidates)
    cand = CandidateConfig(**stored)
    ev = evaluate_peaks(files["test"], "lstm", options={"model": str(path), "threads": str(threads)},
                        candidates=cand, keep_scores=True)
    n_sig = int(np.sum(ev["labels"] == 1))
    n_true = ev["true_per_waveform"] * ev["n_waveforms"]
    lstm = {k: float(ev[k]) for k in PEAK_KEYS if ev.get(k) is not None}
    lstm.update(threshold=float(res.metrics["threshold"]), best_epoch=int(res.fit.best_epoch),
                epochs_run=len(res.history), seconds_per_epoch=float(np.mean([h["seconds"] for h in res.history])),
                val_natural_f1=float(res.metrics.get("natural_f1", float("nan"))),
                val_auc=float(res.metrics.get("auc", float("nan"))))
    deriv = []
    for n1 in DERIV_N1:
        d = evaluate_peaks(files["test"], "deriv", options={"N1": str(n1)}, candidates=cand)
        deriv.append(dict({k: float(d[k]) for k in PEAK_KEYS if d.get(k) is not None}, N1=n1))
    return {
        "snr": snr, "index": idx, "rule": task["rule"], "candidates": stored,
        "seeds": {"train": 1000 + idx, "test": 3000 + idx, "training": 1},
        "n_waveforms": {"train": task["n_train"], "test": task["n_test"]},
        "epochs": task["epochs"], "threads": threads,
        "train_sample": {k: sample.info[k] for k in ("n_windows", "n_signal_windows")},
        "census_test": {
            "windows_per_waveform": float(ev["candidates_per_waveform"]),
            "signal_windows_per_waveform": n_sig / ev["n_waveforms"],
            "true_electrons_per_waveform": float(ev["true_per_waveform"]),
            "candidate_recall": n_sig / n_true if n_true else float("nan"),
        },
        "lstm": lstm,
        "deriv_best": max(deriv, key=lambda r: r["f1"]),
        "deriv_scan": deriv,
        "seconds": time.perf_counter() - t_start,
        "train_seconds": train_s,
    }


def markdown(results: list[dict[str, Any]]) -> str:
    """One table row per (S/N, rule)."""
    lines = [
        "| S/N | rule | windows/wf | signal/wf | cand. recall | LSTM P | LSTM R | LSTM F1 | LSTM AUC | LSTM e-eff "
        "| LSTM fakes/wf | thr | best ep. | DERIV N1 | DERIV F1 | DERIV e-eff | DERIV fakes/wf |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(results, key=lambda r: (r["snr"], r["rule"])):
        c, m, d = r["census_test"], r["lstm"], r["deriv_best"]
        lines.append(
            f"| {r['snr']:g} | {r['rule']} | {c['windows_per_waveform']:.1f} | {c['signal_windows_per_waveform']:.1f} "
            f"| {c['candidate_recall']:.3f} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} "
            f"| {m.get('auc', float('nan')):.3f} | {m['electron_efficiency']:.3f} | {m['fakes_per_waveform']:.2f} "
            f"| {m['threshold']:g} | {m['best_epoch']}/{m['epochs_run']} | {d['N1']:g} | {d['f1']:.3f} "
            f"| {d['electron_efficiency']:.3f} | {d['fakes_per_waveform']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line (module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--snr", default="20,30,6.325")
    ap.add_argument("--index", default="5,6,7", help="point index per S/N (seeds 1000+i, 3000+i; sn_scan's)")
    ap.add_argument("--rules", default="d2,max,max:1", help="candidate rules: d2, max, RULE:SMOOTH")
    ap.add_argument("--n-train", type=int, default=6000)
    ap.add_argument("--n-test", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    snrs = [float(s) for s in args.snr.split(",")]
    idxs = [int(s) for s in args.index.split(",")]
    if len(idxs) != len(snrs):
        ap.error("--index needs one value per --snr")
    common = dict(workdir=args.workdir or str(out / "work"), n_train=args.n_train, n_test=args.n_test,
                  epochs=args.epochs, threads=args.threads)
    tasks = []
    for snr, idx in zip(snrs, idxs, strict=True):
        files = simulate(dict(common, snr=snr, index=idx))
        tasks += [dict(common, snr=snr, index=idx, rule=r.strip(), files=files) for r in args.rules.split(",")]
    results: list[dict[str, Any]] = []
    t0 = time.perf_counter()

    def save() -> None:
        payload = {"points": results, "argv": sys.argv[1:] if argv is None else argv,
                   "elapsed_s": time.perf_counter() - t0}
        (out / "parity_candidates.json").write_text(json.dumps(payload, indent=1, sort_keys=True))
        (out / "parity_candidates.md").write_text(markdown(results))

    def done(res: dict[str, Any]) -> None:
        results.append(res)
        print(f"done S/N {res['snr']:g} rule {res['rule']}: F1 {res['lstm']['f1']:.3f} AUC "
              f"{res['lstm'].get('auc', float('nan')):.3f} ({res['seconds']:.0f} s)", flush=True)
        save()

    if args.jobs > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(args.jobs, maxtasksperchild=1) as pool:
            for res in pool.imap_unordered(run_task, tasks):
                done(res)
    else:
        for task in tasks:
            done(run_task(task))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
