"""``ccreco compare``: overlay two reconstruction outputs (or waveform files) variable by variable."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``compare`` subcommand.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The top-level subparsers.

    Returns
    -------
    argparse.ArgumentParser
        The subcommand's parser.
    """
    from ccreco.cli import _args

    p = _args.add_command(
        subparsers, "compare",
        help="compare two reco outputs / waveform files: normalized overlays, ratios, chi2/ndf, KS",
        description="Compare A and B (each a `ccreco reco` OUTDIR, a reco.root, or a waveform ntuple "
        "whose truth-free features are computed on the fly) on every variable present in both: "
        "normalized overlays with ratio panels, ECDF/KS figures, a chi2/ndf and KS summary figure, "
        "summary.md and summary.json. Needs no truth.",
        examples=["ccreco compare data.root sim.root -o compare/",
                  "ccreco compare reco-data/ reco-sim/ -o compare-reco/ --labels data,sim --json cmp.json",
                  "ccreco compare tb.root sim.root -o compare/ --label-a data --label-b simulation"],
    )
    p.add_argument("a", metavar="A", help="sample A (e.g. data)")
    p.add_argument("b", metavar="B", help="sample B (e.g. simulation)")
    _args.add_output(p, metavar="OUTDIR", help="output directory", old=("--outdir",))
    p.add_argument("--labels", default=None, help="names of A and B, comma-separated (default: the paths' names)")
    for which in ("a", "b"):
        p.add_argument(f"--label-{which}", choices=("auto", "data", "simulation"), default="auto",
                       help=f"what {which.upper()} is, for the plots' 'Data'/'Simulation' mark ('Data' when "
                       "either sample is data, 'Simulation' when both are simulation; auto: simulation "
                       "when the sample carries MC truth, else unknown)")
    p.add_argument("--variables", default=None,
                   help="comma-separated variables, e.g. ml_n_clusters,ml_dndx (default: all common ones)")
    p.add_argument("--bins", type=int, default=50, help="bins for continuous variables")
    _args.add_schema(p)
    _args.add_max_waveforms(p)
    _args.add_plots(p, default_on=True, where="OUTDIR")
    _args.add_json(p, "summary.json's content")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``ccreco compare``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        Exit status (0 on success).
    """
    from ccreco.analysis.compare import (
        RENAMED_VARIABLES,
        compare_samples,
        load_sample,
        plot_comparison,
        write_comparison,
    )
    from ccreco.cli import _args
    from ccreco.errors import ConfigError

    if args.labels:
        labels = tuple(s.strip() for s in args.labels.split(","))
        if len(labels) != 2:
            raise ConfigError(f"--labels expects two names, got {args.labels!r}")
    else:
        labels = (Path(args.a).name or "A", Path(args.b).name or "B")
        if labels[0] == labels[1]:
            labels = (f"A:{labels[0]}", f"B:{labels[1]}")
    outdir = _args.required_output(args)
    schema = _args.schema(args)
    a = load_sample(args.a, schema=schema, max_waveforms=args.max_waveforms)
    b = load_sample(args.b, schema=schema, max_waveforms=args.max_waveforms)
    variables = [v.strip() for v in args.variables.split(",")] if args.variables else None
    for old in dict.fromkeys(v for v in variables or () if v in RENAMED_VARIABLES):
        print(f"ccreco: variable {old} is deprecated; use {RENAMED_VARIABLES[old]}", file=sys.stderr)
    result = compare_samples(a, b, variables, labels=labels, bins=args.bins)
    paths = write_comparison(result, outdir)
    print(result.table())
    files = list(paths.values())
    plots = _args.plot_dir(args, outdir)
    if plots is not None:
        files += plot_comparison(result, a, b, plots, kinds=(args.label_a, args.label_b))
    print(f"wrote {len(files)} files to {outdir}", file=sys.stderr)
    summary = next((Path(f) for f in paths.values() if str(f).endswith(".json")), None)
    if args.json is not None and summary is not None:
        import json

        _args.write_json(args, json.loads(summary.read_text()))
    return 0


def outputs(args: argparse.Namespace) -> tuple[list[Any], list[str | None]]:
    """What ``ccreco compare`` writes (OUTDIR) and reads (A, B); checked and locked by the CLI.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    (list of ccreco._outputs.Output, list of str)
        Outputs and inputs.
    """
    from ccreco._outputs import Output
    from ccreco.cli import _args

    return [Output(_args.required_output(args), "dir")], [args.a, args.b]
