"""``ccreco simulate``: generate waveforms with MC truth into a ROOT file."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``simulate`` subcommand.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The top-level subparsers.

    Returns
    -------
    argparse.ArgumentParser
        The subcommand's parser.
    """
    p = subparsers.add_parser(
        "simulate",
        help="generate drift-tube waveforms with MC truth (fast, Garfield++-calibrated)",
        description="Generate waveforms with MC truth into a ROOT file (tree 'sim'). "
        "Parameters: a preset, then --config FILE.toml, then --set key=value (later wins).",
    )
    p.add_argument("--preset", default="tb2023-untuned",
                   help="tb2023-untuned (default), tb2023-tuned or pid")
    p.add_argument("-n", "--n-events", type=int, required=True, help="number of waveforms")
    p.add_argument("--seed", type=int, required=True, help="random seed")
    p.add_argument("--set", dest="set_", action="append", metavar="KEY=VALUE",
                   help="override a SimConfig field (repeatable), e.g. --set noise_mv=1.5")
    p.add_argument("--config", metavar="FILE.toml", help="SimConfig fields from a TOML file")
    p.add_argument("-o", "--output", required=True, help="output ROOT file")
    p.add_argument("--plots", metavar="DIR", help="also draw summary plots into DIR")
    p.add_argument("--chunk-size", type=int, default=None, help="waveforms per written chunk")
    p.add_argument("--dump-config", metavar="FILE.toml", help="write the final configuration as TOML")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``ccreco simulate``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        Exit status (0 on success).
    """
    from ccreco.cli import parse_set
    from ccreco.constants import STEP_SIZE
    from ccreco.sim import build_sim_config, simulate_to_file

    config = build_sim_config(args.preset, args.config, parse_set(args.set_))
    if args.dump_config:
        config.to_toml(args.dump_config)
    n = simulate_to_file(
        args.output, config, args.n_events, args.seed,
        chunk_size=args.chunk_size or STEP_SIZE, progress=True,
    )
    print(f"wrote {n} waveforms ({config.name}, seed {args.seed}) to {args.output}", file=sys.stderr)
    if args.plots:
        from ccreco.sim.plots import plot_file

        for path in plot_file(args.output, args.plots):
            print(f"plot: {path}", file=sys.stderr)
    return 0


def outputs(args: argparse.Namespace) -> tuple[list[Any], list[str | None]]:
    """What ``ccreco simulate`` writes and reads; checked, cleaned and locked by the CLI.

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

    outs = [Output(args.output, "file")]
    if args.plots:
        outs.append(Output(args.plots, "dir"))
    if args.dump_config:
        outs.append(Output(args.dump_config, "file"))
    return outs, [args.config]
