"""``ccreco reco``: the two-step reconstruction of ROOT files on coffea's executors."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``reco`` subcommand.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The top-level subparsers.

    Returns
    -------
    argparse.ArgumentParser
        The command's parser.
    """
    from ccreco.cli import _args

    p = _args.add_command(
        subparsers, "reco", help="reconstruct peaks, cluster counts and dN/dx of every waveform (coffea)",
        description="Run the two-step reconstruction (step-1 LSTM peaks, step-2 ML cluster count: "
        "the per-peak model by default or a CNN, both ONNX) on ROOT files (TTrees or RNTuples) with "
        "coffea's runner, and write OUTDIR: hists.root "
        "(TH1/TH2), reco.root (TTree 'reco', one entry per waveform), plots/ (PNG + PDF) and summary.json. "
        "OUTDIR appears only when the run completes.",
        examples=["ccreco reco run.root -o reco-run/                                  # iterative, this process",
                  "ccreco reco run.root -o reco-run/ --set run_level=run_level_perpeak_random_wide  # absolute dN/dx",
                  "ccreco reco 'runs/*.root' -o reco-runs/ --executor dask --workers 4 --json summary.json",
                  "ccreco reco tb.root --mapping examples/mapping_drs4.toml -o reco-tb/ --set angle_deg=30"],
    )
    _args.add_inputs(p, "ROOT files or glob patterns", data_alias=False)
    _args.add_output(p, metavar="OUTDIR", help="output directory (created atomically)", old=("--outdir",))
    p.add_argument("--executor", choices=("iterative", "futures", "dask"), default="iterative",
                   help="coffea executor")
    p.add_argument("--workers", type=int, default=2,
                   help="processes for futures / the embedded dask LocalCluster")
    p.add_argument("--scheduler", metavar="ADDR",
                   help="connect to this dask scheduler instead of starting a LocalCluster "
                   "(OUTDIR must be on a filesystem the workers share)")
    _args.add_schema(p)
    _args.add_chunk_size(p, None, "entries per block (default: about 4 blocks per worker, 500 to 5000 entries)")
    p.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                   help="stop at the first bad file/block, or skip it and list it in summary.json")
    p.add_argument("--models", metavar="DIR",
                   help="directory holding one step-1 and one step-2 ccreco ONNX model (recognised by the "
                   "'kind' in their metadata, whatever their names); default: the shipped models")
    p.add_argument("--peak-model", metavar="M.onnx", help="step-1 model, a file or a shipped model's name "
                   "(overrides --models)")
    p.add_argument("--cluster-model", metavar="M.onnx", help="step-2 model, a file or a shipped model's name, "
                   "e.g. perpeak_random_wide_angle (overrides --models)")
    _args.add_set(p, "reconstruction option (repeatable): threshold, deriv, deriv_preset, cell_length_cm, "
                  "angle_deg, threads, batch_size, cnn_batch_size, roi, preselect, step2_level, run_level "
                  "(e.g. run_level_perpeak_random_wide: each file divided by the level its run statistics "
                  "predict), run_level_waveforms")
    p.add_argument("--threshold", type=float, default=None,
                   help="step-1 working point on the LSTM score (default: the model's own; same as --set threshold=)")
    _args.add_plots(p, default_on=True, where="OUTDIR/plots/; reco draws only there")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUTDIR")
    _args.add_json(p, "summary.json's content")
    p.set_defaults(func=run)
    return p


def models_from_dir(directory: str | os.PathLike[str]) -> tuple[str, str]:
    """Find the step-1 and step-2 ONNX files in a directory by their metadata ``kind``.

    Parameters
    ----------
    directory : path-like
        Directory holding exactly one ``peaks`` and one ``clusters`` ccreco model.

    Returns
    -------
    peak_model, cluster_model : str
        Paths.

    Raises
    ------
    ConfigError
        No such directory, or not exactly one model of each kind.
    """
    from ccreco.errors import ConfigError, ModelError
    from ccreco.models.inference import read_metadata

    d = Path(directory)
    if not d.is_dir():
        raise ConfigError(f"--models {d}: no such directory")
    # step 2 is a CNN (kind "clusters") or a per-peak model (kind "peak_clusters")
    roles = {"peaks": "peaks", "clusters": "clusters", "peak_clusters": "clusters"}
    found: dict[str, list[str]] = {"peaks": [], "clusters": []}
    for path in sorted(d.glob("*.onnx")):
        try:
            kind = read_metadata(path).get("kind")
        except ModelError:
            continue
        if kind in roles:
            found[roles[kind]].append(str(path))
    for role, paths in found.items():
        if len(paths) != 1:
            what = "step-1 'peaks'" if role == "peaks" else "step-2 ('clusters' or 'peak_clusters')"
            raise ConfigError(f"--models {d}: expected one {what} model, "
                              f"found {len(paths)} ({', '.join(paths) or 'none'})")
    return found["peaks"][0], found["clusters"][0]


def run(args: argparse.Namespace) -> int:
    """Run ``ccreco reco``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        0 on success, 1 when blocks or files were skipped.
    """
    import dataclasses

    from ccreco._progress import is_quiet
    from ccreco.cli import _args, parse_set
    from ccreco.errors import ConfigError
    from ccreco.reco.batch import run_reco
    from ccreco.reco.core import RecoConfig

    if isinstance(args.plots, str):
        raise ConfigError("ccreco reco draws its plots into OUTDIR/plots/ (written with the run); "
                          "give --plots without DIR, or --no-plots")
    options = parse_set(args.set_)
    if args.threshold is not None:
        options.setdefault("threshold", str(args.threshold))
    config = RecoConfig.from_strings(options)
    peak, cluster = (models_from_dir(args.models) if args.models else (None, None))
    config = dataclasses.replace(config, peak_model=args.peak_model or peak or config.peak_model,
                                 cluster_model=args.cluster_model or cluster or config.cluster_model)
    def say(message: str) -> None:
        if not is_quiet():
            print(f"ccreco reco: {message}", file=sys.stderr, flush=True)

    summary = run_reco(
        _args.input_files(args), _args.required_output(args), config=config, schema=args.mapping or args.schema,
        executor=args.executor, workers=args.workers, scheduler=args.scheduler, chunk_size=args.chunk_size,
        on_error=args.on_error, overwrite=args.overwrite, plots=bool(args.plots), progress=say,
    )
    c, s = summary.counters, summary.stats
    tp = summary.data["throughput"]
    lines = [
        f"reconstructed {c['waveforms_reconstructed']} waveforms in {c['chunks']} "
        f"block{'s' if c['chunks'] != 1 else ''} "
        f"({tp['wall_s']:.1f} s, {tp['waveforms_per_s']:.0f} waveforms/s, executor {args.executor}) "
        f"-> {summary.outdir}",
    ]
    for name in ("n_peaks", "n_clusters", "dndx", "n_clusters_true"):
        if name in s:
            lines.append(f"  {name:16s} mean {s[name]['mean']:8.3f}  rms {s[name]['rms']:7.3f}")
    run_level = summary.data.get("run_level")
    if run_level:
        levels = [r["level"] for r in run_level["files"] if r["applied"]]
        span = "" if not levels else (f", level {levels[0]:.3f}" if len(levels) == 1
                                      else f", levels {min(levels):.3f}-{max(levels):.3f}")
        lines.append(f"  run-level correction: {run_level['files_corrected']} file(s) corrected{span}; "
                     f"{run_level['files_not_corrected']} not (summary.json run_level)")
    if c["chunks_skipped"] or summary.data["skipped"]:
        lines.append(f"  skipped: {len(summary.data['skipped'])} file(s)/block(s), {c['waveforms_skipped']} waveforms "
                     "(reasons in summary.json)")
    print("\n".join(lines))
    _args.write_json(args, summary.data)
    return 1 if summary.data["skipped"] else 0
