"""Step-1 and step-2 performance versus single-electron signal-to-noise (issues 5 and 6).

For each single-electron S/N (peak of one electron's pulse at mean gain over the total noise
RMS, ``single_electron_mv / sqrt(noise_mv**2 + coloured_noise_mv**2)``; 6.3 for the
``tb2023-untuned`` preset) the script scales both noise terms of the preset, simulates three
independent samples (LSTM training, CNN training, test), and

1. trains the compact LSTM (``auto_threshold``) and evaluates it on the test windows
   (window F1, AUC, electron efficiency, fakes per waveform);
2. evaluates DERIV on the same windows at every N1 of :data:`DERIV_N1` and keeps the best
   window F1 (DERIV's best setting, chosen on the test sample itself: optimistic for DERIV);
3. trains the step-2 CNN (``ihep``) on the LSTM's peaks of the CNN sample and evaluates the
   chain on the test sample (bias, RMS / sqrt(N)), next to DERIV + clusterization at the best
   F1 setting and the clusterization constant of :data:`CLUSTER_C` with the smallest RMS;
4. at the preset's own S/N, optionally also trains the ``anwar2024`` LSTM on the same sample
   and measures both presets' ONNX Runtime throughput (windows/s, 1 thread, batch 256).

Points run in parallel processes. Results go to ``sn_scan.json`` (rewritten after each point)
and ``sn_scan.md``; ``--plot`` draws ``sn_scan.png`` (mplhep) from an existing JSON.

Usage::

    python benchmarks/sn_scan.py -o sn_out --snr 3,5,7,10,15,20,30 --jobs 8 --anwar
    python benchmarks/sn_scan.py --plot sn_out/sn_scan.json -o docs/img
    # candidate rules side by side, step 1 only (docs/img/sn_rules.png)
    python benchmarks/sn_scan.py -o rules_out --snr 3,6.325,10,20 --n-train 4000 --lstm-epochs 20 \
        --presets "" --rules d2,top --no-cnn --jobs 2 --index-offset 10
    python benchmarks/sn_scan.py --plot rules_out/sn_scan.json -o docs/img
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

# the S/N definition lives in the library (one copy); re-exported for parity_candidates.py
from ccreco.sim.snr import config_at_snr, total_noise_mv

#: DERIV N1 values scanned (units of the noise RMS; n2..n4 from the ``tb2023`` preset).
DERIV_N1: tuple[float, ...] = (3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 11.0, 14.0, 18.0, 24.0, 32.0, 40.0, 48.0)
#: Clusterization constants scanned for DERIV + clusterize.
CLUSTER_C: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5)
#: Candidate selections trained side by side with ``--rules`` (CandidateConfig fields; "d2" is
#: the kernels' default, "top" the one-candidate-per-pulse-top rule with its pre-selection, as
#: in the shipped ``lstm_top_compact_tb2023_untuned``).
RULES: dict[str, dict[str, Any]] = {
    "d2": {},
    "d2roi": {"roi_threshold": 6.0, "roi_margin": 20},
    "top": {"rule": "top", "min_distance": 3, "threshold": 1.5, "roi_threshold": 6.0, "roi_margin": 20},
}
#: Keys copied from the peak evaluation.
PEAK_KEYS: tuple[str, ...] = ("precision", "recall", "f1", "auc", "electron_efficiency", "fakes_per_waveform")
#: Keys copied from the cluster evaluation.
CLUSTER_KEYS: tuple[str, ...] = ("bias", "rms", "rms_over_sqrt_n", "mean_true", "mean_reco")


def _peak_metrics(res: dict[str, Any]) -> dict[str, float]:
    return {k: float(res[k]) for k in PEAK_KEYS if k in res and res[k] is not None}


def _throughput(path: Path, windows: Any, reps: int = 3) -> float:
    """Windows/s of an ONNX peak model on one thread at batch 256 (best of ``reps``)."""
    from ccreco.models.inference import PeakModel

    model = PeakModel(path, intra_op_num_threads=1, batch_size=256)
    model.predict(windows[:256], sampling_ns=model.sampling_ns)
    best = 0.0
    for _ in range(reps):
        t0 = time.perf_counter()
        model.predict(windows, sampling_ns=model.sampling_ns)
        best = max(best, windows.shape[0] / (time.perf_counter() - t0))
    return best


def run_point(task: dict[str, Any]) -> dict[str, Any]:
    """Simulate, train and evaluate one S/N point (or the ``anwar2024`` comparison).

    Parameters
    ----------
    task : dict
        ``snr``, ``index`` (seed offset), ``workdir``, ``n_train``, ``n_cnn``, ``n_test``,
        ``lstm_epochs``, ``cnn_epochs``, ``threads``, ``presets`` (LSTM presets to train).

    Returns
    -------
    dict
        Settings, sample sizes, seeds, timings and metrics of every method.
    """
    threads = int(task["threads"])
    os.environ.setdefault("CCRECO_NO_PROGRESS", "1")
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    from ccreco.analysis.evaluate import evaluate_clusters, evaluate_peaks
    from ccreco.models.config import CLUSTER_PRESETS, CLUSTER_TRAIN, PEAK_PRESETS, PEAK_TRAIN
    from ccreco.models.dataset import cluster_sample, peak_sample
    from ccreco.models.inference import PeakModel
    from ccreco.models.train_clusters import train_cluster_model
    from ccreco.models.train_peaks import train_peak_model
    from ccreco.sim import simulate_to_file

    t_start = time.perf_counter()
    snr, idx = float(task["snr"]), int(task["index"])
    work = Path(task["workdir"]) / f"snr{snr:g}"
    work.mkdir(parents=True, exist_ok=True)
    cfg = config_at_snr(snr, overrides=task.get("sim_set"))
    seeds = {"lstm_train": 1000 + idx, "cnn_train": 2000 + idx, "test": 3000 + idx, "training": 1}
    files = {}
    for name, n in (("lstm_train", task["n_train"]), ("cnn_train", task["n_cnn"]), ("test", task["n_test"])):
        if name == "cnn_train" and task.get("no_cnn"):
            continue
        files[name] = str(work / f"{name}.root")
        simulate_to_file(files[name], cfg, int(n), seeds[name])
    out: dict[str, Any] = {
        "snr": snr, "noise_mv": cfg.noise_mv, "coloured_noise_mv": cfg.coloured_noise_mv,
        "single_electron_mv": cfg.single_electron_mv,
        "n_waveforms": {"lstm_train": task["n_train"], "cnn_train": task["n_cnn"], "test": task["n_test"]},
        "sim_set": task.get("sim_set") or {}, "seeds": seeds, "lstm_epochs": task["lstm_epochs"],
        "cnn_epochs": task["cnn_epochs"], "threads": threads,
    }
    lstm_cfg = PEAK_PRESETS["compact"]
    sample = peak_sample(files["lstm_train"], lstm_cfg)
    out["lstm"] = {}
    test_windows = None
    for preset in task["presets"]:
        t0 = time.perf_counter()
        tcfg = dataclasses.replace(PEAK_TRAIN, epochs=int(task["lstm_epochs"]), seed=1, threads=threads,
                                   auto_threshold=True)
        res = train_peak_model(sample.windows, sample.labels, PEAK_PRESETS[preset], tcfg,
                               sampling_ns=sample.sampling_ns, sample=sample.info,
                               candidates=sample.info["candidates"])
        path = work / f"lstm_{preset}.onnx"
        res.export(path)
        ev = evaluate_peaks(files["test"], "lstm", options={"model": str(path), "threads": str(threads)})
        row = _peak_metrics(ev)
        row.update(threshold=float(res.metrics["threshold"]), best_epoch=res.fit.best_epoch,
                   train_seconds=time.perf_counter() - t0,
                   seconds_per_epoch=float(np.mean([h["seconds"] for h in res.history])))
        if task.get("throughput"):
            if test_windows is None:
                test_windows = peak_sample(files["test"], lstm_cfg).windows[:50_000]
            row["onnx_windows_per_s_1thread_b256"] = _throughput(path, test_windows)
        out["lstm"][preset] = row
    if task.get("rules"):
        out["rules"] = {}
        for rule in task["rules"]:
            t0 = time.perf_counter()
            rs = peak_sample(files["lstm_train"], lstm_cfg, candidates=RULES[rule] or None)
            tcfg = dataclasses.replace(PEAK_TRAIN, epochs=int(task["lstm_epochs"]), seed=1, threads=threads,
                                       auto_threshold=True)
            res = train_peak_model(rs.windows, rs.labels, lstm_cfg, tcfg, sampling_ns=rs.sampling_ns,
                                   sample=rs.info, candidates=rs.info["candidates"])
            path = work / f"lstm_rule_{rule}.onnx"
            res.export(path)
            ev = evaluate_peaks(files["test"], "lstm", options={"model": str(path), "threads": str(threads)})
            row = _peak_metrics(ev)
            row.update(candidates=RULES[rule], threshold=float(res.metrics["threshold"]),
                       best_epoch=res.fit.best_epoch, train_seconds=time.perf_counter() - t0,
                       candidates_per_waveform=float(ev["candidates_per_waveform"]),
                       candidate_recall=float(ev["candidate_recall"]), n_train_windows=int(len(rs.labels)))
            out["rules"][rule] = row
    deriv = []
    for n1 in DERIV_N1:
        ev = evaluate_peaks(files["test"], "deriv", options={"N1": str(n1)})
        deriv.append(dict(_peak_metrics(ev), N1=n1))
    best = max(deriv, key=lambda r: r["f1"])
    out["deriv_scan"] = deriv
    out["deriv_best"] = best
    if task.get("no_cnn"):
        out["seconds"] = time.perf_counter() - t_start
        return out
    t0 = time.perf_counter()
    peak_path = work / f"lstm_{task['presets'][0]}.onnx"
    ccfg = CLUSTER_PRESETS["ihep"]
    cs = cluster_sample(files["cnn_train"], PeakModel(peak_path, intra_op_num_threads=threads), ccfg)
    ctcfg = dataclasses.replace(CLUSTER_TRAIN, epochs=int(task["cnn_epochs"]), seed=1, threads=threads)
    cres = train_cluster_model(cs.peak_times, cs.n_true, ccfg, ctcfg, sampling_ns=cs.sampling_ns, sample=cs.info)
    cnn_path = work / "cnn_ihep.onnx"
    cres.export(cnn_path)
    ev = evaluate_clusters(files["test"], "cnn", options={"model": str(cnn_path), "peak_model": str(peak_path),
                                                         "threads": str(threads)})
    out["cnn"] = dict({k: float(ev[k]) for k in CLUSTER_KEYS}, best_epoch=cres.fit.best_epoch,
                      train_seconds=time.perf_counter() - t0)
    dc = []
    for c in CLUSTER_C:
        ev = evaluate_clusters(files["test"], "deriv", options={"N1": str(best["N1"]), "c": str(c)})
        dc.append(dict({k: float(ev[k]) for k in CLUSTER_KEYS}, c=c))
    out["deriv_clusters_best"] = dict(min(dc, key=lambda r: r["rms"]), N1=best["N1"])
    out["seconds"] = time.perf_counter() - t_start
    for p in work.glob("*.root"):
        p.unlink()
    return out


def markdown(results: list[dict[str, Any]], where: str = "") -> str:
    """Markdown tables of a scan (one row per S/N point).

    Parameters
    ----------
    results : list of dict
        :func:`run_point` outputs.
    where : str
        Where and how it ran (printed under the tables).

    Returns
    -------
    str
        The tables.
    """
    rows = sorted(results, key=lambda r: r["snr"])
    lines = [
        "| S/N | noise [mV] | LSTM F1 | LSTM AUC | LSTM e-eff | LSTM fakes/wf | DERIV best N1 | DERIV F1 | DERIV e-eff "
        "| DERIV fakes/wf | CNN bias [%] | CNN RMS/sqrtN | DERIV+clusterize bias [%] | DERIV+clusterize RMS/sqrtN |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "cnn" not in r or "compact" not in r["lstm"]:
            continue
        lstm, d, cnn, dcl = r["lstm"]["compact"], r["deriv_best"], r["cnn"], r["deriv_clusters_best"]
        lines.append(
            f"| {r['snr']:g} | {math.hypot(r['noise_mv'], r['coloured_noise_mv']):.2f} | {lstm['f1']:.3f} "
            f"| {lstm.get('auc', float('nan')):.3f} | {lstm['electron_efficiency']:.3f} "
            f"| {lstm['fakes_per_waveform']:.2f} "
            f"| {d['N1']:g} | {d['f1']:.3f} | {d['electron_efficiency']:.3f} | {d['fakes_per_waveform']:.2f} "
            f"| {100 * cnn['bias'] / cnn['mean_true']:+.1f} | {cnn['rms_over_sqrt_n']:.3f} "
            f"| {100 * dcl['bias'] / dcl['mean_true']:+.1f} (c={dcl['c']:g}) | {dcl['rms_over_sqrt_n']:.3f} |"
        )
    presets = [(r, p) for r in rows for p in r["lstm"] if len(r["lstm"]) > 1 or "cnn" not in r or r.get("sim_set")]
    if presets:
        lines += ["", "| S/N | simulation overrides | LSTM train waveforms | epochs | LSTM preset | F1 | AUC | e-eff "
                  "| fakes/wf | threshold | s/epoch (train) | ONNX windows/s (1 thread, batch 256) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r, p in presets:
            m = r["lstm"][p]
            lines.append(
                f"| {r['snr']:g} | {' '.join(f'{k}={v}' for k, v in r.get('sim_set', {}).items()) or '-'} "
                f"| {r['n_waveforms']['lstm_train']} | {r['lstm_epochs']} | {p} | {m['f1']:.3f} "
                f"| {m.get('auc', float('nan')):.3f} "
                f"| {m['electron_efficiency']:.3f} | {m['fakes_per_waveform']:.2f} | {m['threshold']:g} "
                f"| {m['seconds_per_epoch']:.1f} | {m.get('onnx_windows_per_s_1thread_b256', float('nan')):,.0f} |"
            )
    if rows:
        r = rows[0]
        lines += ["", f"Samples per point: {r['n_waveforms']} waveforms; seeds lstm_train 1000+i, cnn_train "
                  f"2000+i, test 3000+i (i = point index), training seed 1; LSTM {r['lstm_epochs']} epochs, "
                  f"CNN {r['cnn_epochs']} epochs (patience as the defaults). {where}"]
    return "\n".join(lines) + "\n"


def plot(results: list[dict[str, Any]], outdir: Path,
         extra: list[tuple[str, dict[str, Any]]] | None = None) -> Path:
    """Draw LSTM and DERIV F1 / AUC / electron efficiency and CNN RMS/sqrt(N) vs S/N (mplhep).

    Parameters
    ----------
    results : list of dict
        :func:`run_point` outputs (the curve).
    outdir : pathlib.Path
        Output directory.
    extra : list of (label, point), optional
        Single step-1 points drawn as open markers (e.g. more training data, another preset).

    Returns
    -------
    pathlib.Path
        ``sn_scan.png``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    mplhep.style.use("ROOT")
    rows = sorted(results, key=lambda r: r["snr"])
    x = [r["snr"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(21, 6.5))
    ax = axes[0]
    ax.plot(x, [r["lstm"]["compact"]["f1"] for r in rows], "o-", label="LSTM compact: window F1")
    ax.plot(x, [r["lstm"]["compact"].get("auc", math.nan) for r in rows], "s-", label="LSTM compact: AUC")
    ax.plot(x, [r["deriv_best"]["f1"] for r in rows], "o--", label="DERIV (best N1): window F1")
    groups: dict[str, list[tuple[float, float, float]]] = {}
    for label, r in extra or []:
        for preset, m in r["lstm"].items():
            groups.setdefault(f"{preset}, {label}: F1", []).append((r["snr"], m["f1"], m["auc"]))
    # one marker per extra group; groups beyond the sixth are not drawn
    for mk, (label, pts) in zip("^DvP*X", groups.items(), strict=False):
        xs, f1s, aucs = zip(*pts, strict=True)
        ax.plot(xs, f1s, mk, mfc="none", ms=11, label=label)
        ax.plot(xs, aucs, mk, mfc="none", ms=11, color="grey")
    ax.axhline(0.95, color="grey", lw=1, ls=":")
    ax.axhline(0.99, color="grey", lw=1, ls=":")
    ax.set_ylabel("window F1 / AUC (grey open: AUC)")
    ax.set_ylim(0.4, 1.02)
    ax = axes[1]
    ax.plot(x, [r["lstm"]["compact"]["electron_efficiency"] for r in rows], "o-", label="LSTM compact")
    ax.plot(x, [r["deriv_best"]["electron_efficiency"] for r in rows], "o--", label="DERIV (best N1)")
    ax.set_ylabel("electron efficiency")
    ax = axes[2]
    ax.plot(x, [r["cnn"]["rms_over_sqrt_n"] for r in rows], "o-", label="LSTM + CNN")
    ax.plot(x, [r["deriv_clusters_best"]["rms_over_sqrt_n"] for r in rows], "o--",
            label="DERIV + clusterize (best c)")
    ax.axhline(1.0, color="grey", lw=1, ls=":")
    ax.set_ylabel(r"RMS($N_{reco}-N_{true}$) / sqrt(N)")
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    for ax in axes:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator([3, 5, 7, 10, 15, 20, 30]))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("single-electron S/N")
        ax.legend(fontsize=12, loc="best")
    fig.tight_layout()
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "sn_scan.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def plot_rules(results: list[dict[str, Any]], outdir: Path) -> Path:
    """Draw window F1, AUC, electron efficiency and fakes/wf vs S/N per candidate rule and DERIV.

    Parameters
    ----------
    results : list of dict
        :func:`run_point` outputs with ``rules`` (``--rules``).
    outdir : pathlib.Path
        Output directory.

    Returns
    -------
    pathlib.Path
        ``sn_rules.png``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    mplhep.style.use("ROOT")
    rows = sorted([r for r in results if "rules" in r], key=lambda r: r["snr"])
    x = [r["snr"] for r in rows]
    rules = list(rows[0]["rules"])
    fig, axes = plt.subplots(1, 4, figsize=(26, 6.5))
    keys = (("f1", "window F1"), ("auc", "AUC"), ("electron_efficiency", "electron efficiency (stored threshold)"),
            ("fakes_per_waveform", "fakes / waveform"))
    for ax, (key, ylabel) in zip(axes, keys, strict=True):
        for mk, rule in zip("os^D", rules, strict=False):  # one marker per rule; a fifth rule is not drawn
            ax.plot(x, [r["rules"][rule].get(key, math.nan) for r in rows], mk + "-", label=f"LSTM, rule {rule}")
        if key != "auc":
            ax.plot(x, [r["deriv_best"][key] for r in rows], "x--", color="grey", label="DERIV (best N1)")
        ax.set_ylabel(ylabel)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator([3, 5, 7, 10, 15, 20, 30]))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("single-electron S/N")
        ax.legend(fontsize=12, loc="best")
    fig.tight_layout()
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "sn_rules.png"
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: run the scan, or ``--plot`` an existing JSON.

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
    ap.add_argument("-o", "--out", required=True, help="output directory (JSON, markdown, plot)")
    ap.add_argument("--snr", default="3,5,7,10,15,20,30", help="comma-separated single-electron S/N values")
    ap.add_argument("--n-train", type=int, default=8000, help="LSTM training waveforms per point")
    ap.add_argument("--n-cnn", type=int, default=8000, help="CNN training waveforms per point")
    ap.add_argument("--n-test", type=int, default=2000, help="test waveforms per point")
    ap.add_argument("--lstm-epochs", type=int, default=20)
    ap.add_argument("--cnn-epochs", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1, help="torch/ORT threads per point")
    ap.add_argument("--jobs", type=int, default=1, help="points run in parallel processes")
    ap.add_argument("--anwar-threads", type=int, default=None, help="threads of the anwar2024 point")
    ap.add_argument("--presets", default="compact", help="LSTM presets trained at every point (first feeds the CNN)")
    ap.add_argument("--sim-set", action="append", default=[], metavar="KEY=VALUE",
                    help="extra SimConfig override at every point (e.g. density_scale=0.25)")
    ap.add_argument("--no-cnn", action="store_true", help="step 1 only")
    ap.add_argument("--rules", default="", help=f"also train the compact LSTM on these candidate selections "
                    f"(comma-separated from {sorted(RULES)}); --plot then also draws sn_rules.png")
    ap.add_argument("--index-offset", type=int, default=0, help="added to the point index (seeds)")
    ap.add_argument("--deadline-s", type=float, default=None,
                    help="stop waiting for points after this many seconds (parallel mode; results so far kept)")
    ap.add_argument("--anwar", action="store_true",
                    help="also train anwar2024 at the preset's own S/N and measure both presets' throughput")
    ap.add_argument("--workdir", default=None, help="scratch directory (default OUT/work)")
    ap.add_argument("--where", default="", help="text recorded with the results (machine, date)")
    ap.add_argument("--plot", default=None, help="only draw the plot from this JSON")
    ap.add_argument("--plot-extra", action="append", default=[], metavar="LABEL=JSON",
                    help="with --plot: also draw the points of another scan JSON as open markers")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.plot:
        data = json.loads(Path(args.plot).read_text())
        extra = []
        for item in args.plot_extra:
            label, _, path = item.partition("=")
            extra += [(label, r) for r in json.loads(Path(path).read_text())["points"]]
        if any("rules" in r for r in data["points"]):
            print(plot_rules(data["points"], out))
        if all("cnn" in r for r in data["points"]):
            print(plot(data["points"], out, extra))
        return 0
    from ccreco.sim import SimConfig

    base = SimConfig.from_preset("tb2023-untuned")
    snrs = [float(s) for s in args.snr.split(",") if s.strip()]
    common = dict(workdir=args.workdir or str(out / "work"), n_train=args.n_train, n_cnn=args.n_cnn,
                  n_test=args.n_test, lstm_epochs=args.lstm_epochs, cnn_epochs=args.cnn_epochs,
                  threads=args.threads, no_cnn=args.no_cnn,
                  rules=[r.strip() for r in args.rules.split(",") if r.strip()],
                  sim_set=dict(kv.split("=", 1) for kv in args.sim_set))
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    tasks = [dict(common, snr=s, index=i + args.index_offset, presets=presets) for i, s in enumerate(snrs)]
    if args.anwar:
        native = round(base.single_electron_mv / total_noise_mv(base), 3)
        tasks.append(dict(common, snr=native, index=len(snrs) + args.index_offset, presets=["compact", "anwar2024"],
                          throughput=True,
                          threads=args.anwar_threads or args.threads))
    # the slow anwar2024 point first, so it starts at once
    tasks.sort(key=lambda t: -len(t["presets"]))
    results: list[dict[str, Any]] = []
    t0 = time.perf_counter()

    def save() -> None:
        payload = {"points": results, "where": args.where, "argv": sys.argv[1:] if argv is None else argv,
                   "elapsed_s": time.perf_counter() - t0}
        (out / "sn_scan.json").write_text(json.dumps(payload, indent=1, sort_keys=True))
        (out / "sn_scan.md").write_text(markdown(results, args.where))

    if args.jobs > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(args.jobs, maxtasksperchild=1) as pool:
            pending = [pool.apply_async(run_point, (t,)) for t in tasks]
            while pending:
                if args.deadline_s is not None and time.perf_counter() - t0 > args.deadline_s:
                    print(f"deadline: {len(pending)} point(s) not finished", flush=True)
                    pool.terminate()
                    break
                for job in [j for j in pending if j.ready()]:
                    pending.remove(job)
                    try:
                        res = job.get()
                    except Exception as exc:  # keep the other points
                        print(f"point failed: {exc!r}", flush=True)
                        continue
                    results.append(res)
                    print(f"done S/N {res['snr']:g} in {res['seconds']:.0f} s", flush=True)
                    save()
                time.sleep(1.0)
        save()
    else:
        for task in tasks:
            results.append(run_point(task))
            print(f"done S/N {results[-1]['snr']:g} in {results[-1]['seconds']:.0f} s", flush=True)
            save()
    print((out / "sn_scan.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
