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
    parser = subparsers.add_parser(
        "inspect",
        help="describe a ROOT waveform file and check it",
        description="Print tree, entries, branches, waveform length, sampling, whether MC truth is "
        "present, and every validation problem found. Exit status 1 when there are problems.",
    )
    parser.add_argument("file", help="ROOT file")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--schema", default="native", help="schema preset (native, cepc, cepc-old)")
    group.add_argument("--mapping", metavar="FILE.toml", help="TOML branch mapping (docs/SCHEMA.md)")
    parser.add_argument("--sampling-ns", type=float, default=None, help="required sampling period")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
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
    import json

    from ccreco.io import inspect_file, load_mapping

    schema = load_mapping(args.mapping) if args.mapping else args.schema
    report = inspect_file(args.file, schema, expected_sampling_ns=args.sampling_ns)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.to_text())
    return 0 if report.ok else 1
