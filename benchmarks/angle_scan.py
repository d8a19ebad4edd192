"""Step-2 bias and RMS / sqrt(N) of the CNN chain versus track angle (issue 6).

Simulates independent test samples (``tb2023-untuned`` at 0, 15, 30, 45 and 60 degrees, plus
``tb2023-untuned`` and ``tb2023-tuned`` themselves) and evaluates, on each, the CNN chain
(shipped LSTM peaks -> CNN) of every model given, DERIV + clusterization at its best constant
on the untuned sample, and, for a CNN with a ``track_length_cm`` input, the cost of a wrong
geometry: the length of a perpendicular track (``cell_size_cm``) given for every waveform.

Usage::

    python benchmarks/angle_scan.py -o angle_out --model ccreco/models/data/cnn_ihep_tb2023_mix.onnx
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

#: Angles of the per-angle test samples (degrees) and their simulator seeds.
ANGLES: tuple[float, ...] = (0.0, 15.0, 30.0, 45.0, 60.0)
ANGLE_SEED0: int = 21
#: Seed of the two preset test samples (the shipped models' cards use the same).
PRESET_SEED: int = 3
#: Clusterization constants scanned for DERIV + clusterize (N1 from the ``tb2023`` preset).
CLUSTER_C: tuple[float, ...] = (0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
KEYS: tuple[str, ...] = ("bias", "rms", "rms_over_sqrt_n", "mean_true", "mean_reco")


def samples(workdir: Path, n: int) -> dict[str, Path]:
    """Simulate the test samples (skipped when the file exists).

    Parameters
    ----------
    workdir : pathlib.Path
        Where the ROOT files go.
    n : int
        Waveforms per sample.

    Returns
    -------
    dict of str to pathlib.Path
        ``angle_<deg>``, ``tb2023-untuned`` and ``tb2023-tuned`` files.
    """
    from ccreco.sim import SimConfig, simulate_to_file

    workdir.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[Any, int]] = {}
    for i, a in enumerate(ANGLES):
        out[f"angle_{a:g}"] = (SimConfig.from_preset("tb2023-untuned", angle_deg=a), ANGLE_SEED0 + i)
    for preset in ("tb2023-untuned", "tb2023-tuned"):
        out[preset] = (SimConfig.from_preset(preset), PRESET_SEED)
    files = {}
    for name, (cfg, seed) in out.items():
        path = workdir / f"{name}_s{seed}_n{n}.root"
        if not path.exists():
            simulate_to_file(str(path), cfg, n, seed)
        files[name] = path
    return files


def run(models: list[str], workdir: Path, n: int, threads: int = 1) -> dict[str, Any]:
    """Evaluate every model on every sample.

    Parameters
    ----------
    models : list of str
        CNN ONNX files (the step-1 model is the shipped default LSTM).
    workdir : pathlib.Path
        Scratch directory for the simulated samples.
    n : int
        Waveforms per sample.
    threads : int
        ONNX Runtime threads.

    Returns
    -------
    dict
        ``results[model][sample]`` metrics, ``deriv`` on the untuned sample, ``wrong_geometry``.
    """
    from ccreco.analysis.evaluate import evaluate_clusters
    from ccreco.models.inference import ClusterModel
    from ccreco.sim import SimConfig

    files = samples(workdir, n)
    res: dict[str, Any] = {"n_waveforms": n, "seeds": {"angles": {f"{a:g}": ANGLE_SEED0 + i for i, a in
                                                                  enumerate(ANGLES)}, "presets": PRESET_SEED},
                           "results": {}, "wrong_geometry": {}}
    cell = SimConfig.from_preset("tb2023-untuned").cell_size_cm
    for model in models:
        name = Path(model).stem
        extra = ClusterModel(model).extra_inputs
        res["results"][name] = {}
        for sample, path in files.items():
            ev = evaluate_clusters(str(path), "cnn", options={"model": model, "threads": str(threads)})
            res["results"][name][sample] = {k: float(ev[k]) for k in KEYS}
            if "track_length_cm" in extra and sample not in ("tb2023-untuned", "angle_0"):
                wrong = evaluate_clusters(str(path), "cnn", options={"model": model, "threads": str(threads),
                                                                     "track_length_cm": repr(cell)})
                res["wrong_geometry"].setdefault(name, {})[sample] = {k: float(wrong[k]) for k in KEYS}
    deriv = []
    for c in CLUSTER_C:
        ev = evaluate_clusters(str(files["tb2023-untuned"]), "deriv", options={"c": str(c)})
        deriv.append(dict({k: float(ev[k]) for k in KEYS}, c=c))
    res["deriv_untuned"] = deriv
    res["deriv_untuned_best"] = min(deriv, key=lambda r: r["rms"])
    return res


def markdown(res: dict[str, Any]) -> str:
    """Tables of :func:`run`'s output (bias in % of mean N_true).

    Parameters
    ----------
    res : dict
        :func:`run` output.

    Returns
    -------
    str
        Markdown.
    """
    lines = ["| model | sample | mean N_true | bias | bias [%] | RMS / sqrt(N) |", "|---|---|---|---|---|---|"]
    for model, per in res["results"].items():
        for sample, m in per.items():
            lines.append(f"| {model} | {sample} | {m['mean_true']:.2f} | {m['bias']:+.2f} "
                         f"| {100 * m['bias'] / m['mean_true']:+.1f} | {m['rms_over_sqrt_n']:.3f} |")
    if res["wrong_geometry"]:
        lines += ["", "Wrong geometry: `track_length_cm` of a perpendicular track (cell size) given for every "
                  "waveform:", "", "| model | sample | bias [%] (true length) | bias [%] (perpendicular length) "
                  "| RMS / sqrt(N) (true) | RMS / sqrt(N) (perpendicular) |", "|---|---|---|---|---|---|"]
        for model, per in res["wrong_geometry"].items():
            for sample, m in per.items():
                t = res["results"][model][sample]
                lines.append(f"| {model} | {sample} | {100 * t['bias'] / t['mean_true']:+.1f} "
                             f"| {100 * m['bias'] / m['mean_true']:+.1f} | {t['rms_over_sqrt_n']:.3f} "
                             f"| {m['rms_over_sqrt_n']:.3f} |")
    d = res["deriv_untuned_best"]
    lines += ["", f"DERIV + clusterize on tb2023-untuned, best c = {d['c']:g} of {list(CLUSTER_C)}: bias "
              f"{100 * d['bias'] / d['mean_true']:+.1f} %, RMS / sqrt(N) {d['rms_over_sqrt_n']:.3f}.", "",
              f"Samples: {res['n_waveforms']} waveforms each; seeds {json.dumps(res['seeds'])}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status.
    """
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", required=True, help="output directory (angle_scan.json, angle_scan.md)")
    ap.add_argument("--model", action="append", required=True, help="CNN ONNX file (repeatable)")
    ap.add_argument("-n", type=int, default=2000, help="waveforms per test sample")
    ap.add_argument("--workdir", default=None, help="where the samples are simulated (default OUT/work)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    os.environ.setdefault("CCRECO_NO_PROGRESS", "1")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = run(args.model, Path(args.workdir or out / "work"), args.n, args.threads)
    (out / "angle_scan.json").write_text(json.dumps(res, indent=1, sort_keys=True))
    text = markdown(res)
    (out / "angle_scan.md").write_text(text)
    print(text)
    return 0 if all(math.isfinite(m["bias"]) for per in res["results"].values() for m in per.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
