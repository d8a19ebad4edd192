"""``ccreco reco``: the two-step reconstruction of ROOT files on coffea's executors."""

from __future__ import annotations

import argparse
import os
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
    p = subparsers.add_parser(
        "reco", help="reconstruct peaks, cluster counts and dN/dx of every waveform (coffea)",
        description="Run the two-step reconstruction (step-1 LSTM peaks, step-2 CNN cluster count, "
        "both ONNX) on ROOT files with coffea's runner, and write OUTDIR: hists.root (TH1/TH2), "
        "reco.root (TTree 'reco', one entry per waveform), plots/ (PNG + PDF) and summary.json. "
        "OUTDIR appears only when the run completes.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="ROOT files or glob patterns")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output directory")
    p.add_argument("--executor", choices=("iterative", "futures", "dask"), default="iterative",
                   help="coffea executor (default iterative)")
    p.add_argument("--workers", type=int, default=2,
                   help="processes for futures / the embedded dask LocalCluster (default 2)")
    p.add_argument("--scheduler", metavar="ADDR",
                   help="connect to this dask scheduler instead of starting a LocalCluster "
                   "(OUTDIR must be on a filesystem the workers share)")
    schema = p.add_mutually_exclusive_group()
    schema.add_argument("--schema", default="native", help="schema preset: native (default), cepc, cepc-old")
    schema.add_argument("--mapping", metavar="FILE.toml", help="branch mapping for other layouts (docs/SCHEMA.md)")
    p.add_argument("--chunk-size", type=int, default=None,
                   help="entries per block (default: about 4 blocks per worker, 500 to 5000 entries)")
    p.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                   help="stop at the first bad file/block (default) or skip it and list it in summary.json")
    p.add_argument("--models", metavar="DIR",
                   help="directory holding one step-1 and one step-2 ccreco ONNX model (recognised by the "
                   "'kind' in their metadata, whatever their names); default: the shipped models")
    p.add_argument("--peak-model", metavar="M.onnx", help="step-1 model (overrides --models)")
    p.add_argument("--cluster-model", metavar="M.onnx", help="step-2 model (overrides --models)")
    p.add_argument("--set", dest="set_", action="append", metavar="KEY=VALUE",
                   help="reconstruction option (repeatable): threshold, deriv, deriv_preset, cell_length_cm, "
                   "angle_deg, threads, batch_size, cnn_batch_size")
    p.add_argument("--no-plots", action="store_true", help="skip plots/")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUTDIR")
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
    found: dict[str, list[str]] = {"peaks": [], "clusters": []}
    for path in sorted(d.glob("*.onnx")):
        try:
            kind = read_metadata(path).get("kind")
        except ModelError:
            continue
        if kind in found:
            found[kind].append(str(path))
    for kind, paths in found.items():
        if len(paths) != 1:
            raise ConfigError(f"--models {d}: expected one {kind!r} model, found {len(paths)} ({', '.join(paths) or 'none'})")
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

    from ccreco.cli import parse_set
    from ccreco.reco.batch import run_reco
    from ccreco.reco.core import RecoConfig

    config = RecoConfig.from_strings(parse_set(args.set_))
    peak, cluster = (models_from_dir(args.models) if args.models else (None, None))
    config = dataclasses.replace(config, peak_model=args.peak_model or peak or config.peak_model,
                                 cluster_model=args.cluster_model or cluster or config.cluster_model)
    summary = run_reco(
        args.files, args.output, config=config, schema=args.mapping or args.schema, executor=args.executor,
        workers=args.workers, scheduler=args.scheduler, chunk_size=args.chunk_size, on_error=args.on_error,
        overwrite=args.overwrite, plots=not args.no_plots,
    )
    c, s = summary.counters, summary.stats
    tp = summary.data["throughput"]
    lines = [
        f"reconstructed {c['waveforms_reconstructed']} waveforms in {c['chunks']} blocks "
        f"({tp['wall_s']:.1f} s, {tp['waveforms_per_s']:.0f} waveforms/s, executor {args.executor}) -> {summary.outdir}",
    ]
    for name in ("n_peaks", "n_clusters", "dndx", "n_clusters_true"):
        if name in s:
            lines.append(f"  {name:16s} mean {s[name]['mean']:8.3f}  rms {s[name]['rms']:7.3f}")
    if c["chunks_skipped"] or summary.data["skipped"]:
        lines.append(f"  skipped: {len(summary.data['skipped'])} file(s)/block(s), {c['waveforms_skipped']} waveforms "
                     "(reasons in summary.json)")
    print("\n".join(lines))
    return 1 if summary.data["skipped"] else 0
