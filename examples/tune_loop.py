"""The whole data -> simulation loop of the beam-test analysis, small enough for a laptop.

    A   "data": here a simulation with hidden, shifted parameters standing in for beam-test
        data (only its waveforms are used until the last, optional check);
    B   simulation with the reference (untuned) parameters;
    compare A vs B (truth-free distributions, chi2/ndf, KS);
    tune the simulator to A -> tuned.toml;
    BB  simulation with the tuned parameters; compare A vs BB;
    retrain the step-1 peak model on BB (tiny training);
    apply it (and the shipped model trained on B) to A.

Usage::

    python examples/tune_loop.py [WORKDIR] [--n 2000] [--epochs 3]

Runs in about 2-4 minutes on 2 cores with the defaults (n = 2000 waveforms per sample, tuning on
500 simulated waveforms per evaluation, 3 training epochs). With real data, replace step A by the
data files (and `--schema` for their layout) and drop the truth check at the end.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ccreco.cli import main as ccreco

#: Hidden "data" parameters: what the tuning should find.
HIDDEN = {"noise_mv": 1.9, "single_electron_mv": 11.5, "pulse_fall_ns": 6.0, "density_scale": 1.08}


def step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def run(argv: list[str]) -> None:
    rc = ccreco(argv)
    if rc != 0:
        raise SystemExit(f"ccreco {' '.join(argv)} failed with status {rc}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir", nargs="?", default="tune_loop_out")
    ap.add_argument("--n", type=int, default=2000, help="waveforms per sample")
    ap.add_argument("--epochs", type=int, default=3, help="training epochs of the retrained model")
    args = ap.parse_args()
    w = Path(args.workdir)
    w.mkdir(parents=True, exist_ok=True)
    n = str(args.n)

    step("A: 'data' (simulation with hidden parameters)")
    sets = [x for k, v in HIDDEN.items() for x in ("--set", f"{k}={v}")]
    run(["simulate", "--preset", "tb2023-untuned", *sets, "-n", n, "--seed", "101", "-o", str(w / "A.root")])

    step("B: simulation with the reference parameters")
    run(["simulate", "--preset", "tb2023-untuned", "-n", n, "--seed", "202", "-o", str(w / "B.root")])

    step("compare A vs B")
    run(["compare", str(w / "A.root"), str(w / "B.root"), "--labels", "A (data),B (sim)", "-o", str(w / "cmp_A_B")])

    step("tune the simulation to A")
    run(["tune", str(w / "A.root"), "--preset", "tb2023-untuned", "--n-sim", "500", "-o", str(w / "tuned.toml"),
         "--plots", str(w / "tune_plots")])

    step("BB: simulation with the tuned parameters")
    run(["simulate", "--config", str(w / "tuned.toml"), "-n", n, "--seed", "303", "-o", str(w / "BB.root")])

    step("compare A vs BB")
    run(["compare", str(w / "A.root"), str(w / "BB.root"), "--labels", "A (data),BB (tuned sim)",
         "-o", str(w / "cmp_A_BB")])

    step("retrain the step-1 peak model on BB (tiny)")
    run(["train", "peaks", str(w / "BB.root"), "--set", f"epochs={args.epochs}", "--set", "seed=1",
         "-o", str(w / "lstm_BB.onnx")])

    step("apply to A: per-waveform cluster counts with the shipped (B-trained) and the BB-trained model")
    from ccreco.analysis.evaluate import get_method
    from ccreco.io import read

    a = read(w / "A.root")
    shipped = get_method("lstm").clusters({})(a)
    retrained = get_method("lstm").clusters({"model": str(w / "lstm_BB.onnx")})(a)
    print(f"mean N_cl on A: shipped model {shipped.mean():.3f}, BB-retrained {retrained.mean():.3f}")

    # only possible because A is simulated: the truth the tuning never saw
    true = a.truth["n_clusters"].to_numpy()
    summary = {}
    for name, ncl in (("shipped (trained on B)", shipped), ("retrained on BB", retrained)):
        d = ncl - true
        summary[name] = {"mean_ncl": float(ncl.mean()), "bias": float(d.mean()), "rms": float(d.std())}
        print(f"{name}: bias {d.mean():+.3f}, RMS {d.std():.3f} clusters (true mean {true.mean():.3f})")
    tuned = json.loads((w / "tuned.json").read_text())
    summary["tuned_parameters"] = tuned["parameters"]
    summary["hidden_parameters"] = HIDDEN
    for key, folder in (("ks_n_peaks_A_vs_B", "cmp_A_B"), ("ks_n_peaks_A_vs_BB", "cmp_A_BB")):
        variables = json.loads((w / folder / "summary.json").read_text())["variables"]
        summary[key] = variables["deriv_n_peaks"]["ks"]
    (w / "loop_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
