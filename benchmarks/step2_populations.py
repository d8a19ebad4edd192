"""Step-2 counters side by side: held-out samples and single-particle populations (docs/MODELS.md).

Make the samples once (2,000 waveforms each, 600 per population; seeds never used in training):

    ccreco simulate --preset tb2023-untuned -n 2000 --seed 4242 -o DIR/untuned.root
    ccreco simulate --preset tb2023-untuned -n 2000 --seed 4343 --set cell_shape=tube \\
        --set impact_min_cm=0 --set impact_max_cm=0.398 -o DIR/tube.root
    ccreco simulate --preset heed-tube -n 2000 --seed 4444 -o DIR/heed.root
    ccreco simulate --preset tb2023-untuned -n 2000 --seed 4545 --set cluster_size_model=heed \\
        --set delta_electron_spread=true -o DIR/untuned_heed.root
    ccreco simulate --randomize -n 2000 --seed 10 -o DIR/test_random.root
    # populations: p 0.7, p 1, K 1, pi 1, pi 5, mu 180 GeV/c at seeds 5001-5006
    ccreco simulate --preset tb2023-untuned -n 600 --seed 5001 --set species=p --set momenta_gev=0.7 \\
        -o DIR/pop_p_0.7.root
    ...

then ``python benchmarks/step2_populations.py --dir DIR deriv cnn perpeak
"cnn_a=cnn:model=my_cnn.onnx"``. Each METHOD is ``[LABEL=]NAME[:key=value,...]`` of a registered
``ccreco evaluate clusters`` method. Prints markdown rows (bias, RMS/sqrt(N), slope, calibrated
RMS/sqrt(N), CPU ms per waveform of the whole evaluation, step 1 included) and, per method, the
mean count of each population, the slope of those means against the true ones (p 0.7 GeV/c
excluded) and the one-cell separations pi/p at 1 GeV/c and pi 5 / mu 180 GeV/c with their
statistical errors; ``-o FILE`` also writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ccreco.analysis.evaluate import get_method
from ccreco.analysis.metrics import cluster_metrics, jsonable
from ccreco.io import iterate

SAMPLES = (("tb2023-untuned (seed 4242)", "untuned"), ("tube 0.8 cm, chords 0-0.8 (seed 4343)", "tube"),
           ("heed-tube, HEED-like (seed 4444)", "heed"),
           ("tb2023-untuned cell, HEED-like sizes (seed 4545)", "untuned_heed"),
           ("randomized held out (seed 10)", "test_random"))
POPULATIONS = ("p_0.7", "p_1", "K_1", "pi_1", "pi_5", "mu_180")


def _counts(name: str, options: dict[str, str], path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    counter = get_method(name).clusters(dict(options))
    reco, true = [], []
    t0 = time.process_time()
    for chunk in iterate(path, step_size=1000):
        reco.append(np.asarray(counter(chunk), dtype=float))
        true.append(np.asarray(chunk.truth["n_clusters"], dtype=float))
    return np.concatenate(reco), np.concatenate(true), time.process_time() - t0


def _separation(pop: dict[str, dict[str, float]], a: str, b: str) -> tuple[float, float]:
    s = abs(pop[a]["mean"] - pop[b]["mean"]) / ((pop[a]["std"] + pop[b]["std"]) / 2)
    n = min(pop[a]["n"], pop[b]["n"])
    return s, (2 / n + s * s / (4 * n)) ** 0.5


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("methods", nargs="+", metavar="METHOD")
    ap.add_argument("--dir", required=True, help="folder with the samples (names as in the docstring)")
    ap.add_argument("-o", "--output", help="JSON file")
    args = ap.parse_args()
    d = Path(args.dir)
    out = {}
    for spec in args.methods:
        head, _, opts = spec.partition(":")
        label, _, name = head.rpartition("=")
        label = label or name
        options = dict(kv.split("=", 1) for kv in opts.split(",") if kv)
        res: dict[str, dict] = {"samples": {}, "populations": {}}
        for title, stem in SAMPLES:
            r, t, cpu = _counts(name, options, d / f"{stem}.root")
            m = cluster_metrics(t, r)
            row = {k: float(m[k]) for k in ("mean_true", "bias", "rms_over_sqrt_n", "slope", "slope_err",
                                            "calibrated_rms_over_sqrt_n")}
            row["cpu_ms_per_waveform"] = 1000 * cpu / r.size
            res["samples"][stem] = row
            print(f"| {title} | {label} | {row['mean_true']:.2f} | {100 * row['bias'] / row['mean_true']:+.1f} | "
                  f"{row['rms_over_sqrt_n']:.3f} | {row['slope']:.3f} +- {row['slope_err']:.3f} | "
                  f"{row['calibrated_rms_over_sqrt_n']:.3f} | {row['cpu_ms_per_waveform']:.2f} |", flush=True)
        pop = res["populations"]
        for p in POPULATIONS:
            r, t, _ = _counts(name, options, d / f"pop_{p}.root")
            pop[p] = {"mean": float(r.mean()), "std": float(r.std()), "n": int(r.size),
                      "true_mean": float(t.mean()), "true_std": float(t.std())}
        slope = float(np.polyfit([pop[p]["true_mean"] for p in POPULATIONS[1:]],
                                 [pop[p]["mean"] for p in POPULATIONS[1:]], 1)[0])
        (s1, e1), (s2, e2) = _separation(pop, "pi_1", "p_1"), _separation(pop, "pi_5", "mu_180")
        res.update(population_slope=slope, separation_pi_p_1=[s1, e1], separation_pi5_mu180=[s2, e2])
        print(f"| {label} | " + " | ".join(f"{pop[p]['mean']:.2f}" for p in POPULATIONS)
              + f" | {slope:.2f} | {s1:.3f} +- {e1:.3f} | {s2:.3f} +- {e2:.3f} |", flush=True)
        out[label] = res
    if args.output:
        Path(args.output).write_text(json.dumps(jsonable(out), indent=1))


if __name__ == "__main__":
    main()
