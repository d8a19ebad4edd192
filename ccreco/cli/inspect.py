"""``ccreco inspect``: describe a waveform file and list every validation problem."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``ccreco inspect``.

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

    parser = _args.add_command(
        subparsers, "inspect",
        help="describe a ROOT waveform file and check it",
        description="Print tree (TTree or RNTuple), entries, branches, waveform length, sampling, "
        "which MC truth is present (and how it was obtained: renamed, derived, auto-imported), and "
        "every validation problem found. Exit status 1 when there are problems.",
        examples=["ccreco inspect run.root",
                  "ccreco inspect tb.root --mapping examples/mapping_drs4.toml --json report.json"],
    )
    parser.add_argument("file", metavar="FILE", help="ROOT file")
    _args.add_schema(parser)
    parser.add_argument("--sampling-ns", type=float, default=None, metavar="NS", help="required sampling period")
    _args.add_json(parser, "the report")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Inspect ``args.file`` and print the report.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options.

    Returns
    -------
    int
        1 when problems were found, else 0.
    """
    from ccreco.cli import _args
    from ccreco.io import inspect_file

    report = inspect_file(args.file, _args.schema(args), expected_sampling_ns=args.sampling_ns)
    if args.json != "-":
        print(report.to_text())
    _args.write_json(args, report.to_dict())
    return 0 if report.ok else 1
