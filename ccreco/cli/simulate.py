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
    from ccreco.cli import _args
    from ccreco.constants import STEP_SIZE

    p = _args.add_command(
        subparsers, "simulate",
        help="generate drift-tube waveforms with MC truth (fast, Garfield++-calibrated)",
        description="Generate waveforms with MC truth into a ROOT file (tree 'sim'). "
        "Parameters: a preset, then --config FILE.toml, then --set key=value (later wins).",
        examples=["ccreco simulate --preset tb2023-untuned -n 5000 -o run.root --plots   # plots in run-plots/",
                  "ccreco simulate --preset tb2023-tuned -n 1000 --seed 7 --set noise_mv=1.5 -o noisy.root"],
    )
    _args.add_preset(p, _args.SIM_PRESETS, "tb2023-untuned", "simulator preset")
    p.add_argument("-n", "--n-events", type=int, required=True, metavar="N", help="number of waveforms (required)")
    _args.add_seed(p)
    _args.add_set(p, "override a SimConfig field (repeatable), e.g. --set noise_mv=1.5")
    p.add_argument("--config", metavar="FILE.toml", help="SimConfig fields from a TOML file")
    _args.add_output(p, metavar="FILE.root", help="output ROOT file")
    _args.add_plots(p, default_on=False, where="OUTPUT-plots/ beside the output file")
    _args.add_chunk_size(p, STEP_SIZE, "waveforms per written chunk (one basket per branch)")
    p.add_argument("--dump-config", metavar="FILE.toml", help="write the final configuration as TOML")
    _args.add_json(p, "a summary (file, waveforms, preset, seed)")
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
    from ccreco.cli import _args, parse_set
    from ccreco.constants import STEP_SIZE
    from ccreco.sim import build_sim_config, simulate_to_file

    config = build_sim_config(args.preset, args.config, parse_set(args.set_))
    if args.dump_config:
        config.to_toml(args.dump_config)
    output = _args.required_output(args)
    n = simulate_to_file(
        output, config, args.n_events, args.seed,
        chunk_size=args.chunk_size or STEP_SIZE, progress=True,
    )
    print(f"wrote {n} waveforms ({config.name}, seed {args.seed}) to {output}", file=sys.stderr)
    plots = _args.plot_dir_beside(args, output)
    if plots is not None:
        from ccreco.sim.plots import plot_file

        for path in plot_file(output, plots):
            print(f"plot: {path}", file=sys.stderr)
    _args.write_json(args, {"output": str(output), "waveforms": n, "preset": args.preset, "config": config.name,
                            "seed": args.seed, "plots": None if plots is None else str(plots)})
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
    from ccreco.cli import _args

    output = _args.required_output(args)
    outs = [Output(output, "file")]
    plots = _args.plot_dir_beside(args, output)
    if plots is not None:
        outs.append(Output(str(plots), "dir"))
    if args.dump_config:
        outs.append(Output(args.dump_config, "file"))
    return outs, [args.config]
