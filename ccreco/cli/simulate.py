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
        "Parameters: a preset, then --config FILE.toml, then --set key=value (later wins). "
        "With --randomize: a domain-randomized training sample (blocks of waveforms, each with its own "
        "configuration drawn from ranges: species and momenta, cell or tube, angle, density, ionization "
        "and pulse models, gain, noise; docs/SIMULATION.md); --preset is then the blocks' base, and "
        "--config/--set take RandomizeConfig fields (ranges as low,high).",
        examples=["ccreco simulate --preset tb2023-untuned -n 5000 -o run.root --plots   # plots in run-plots/",
                  "ccreco simulate --preset tb2023-tuned -n 1000 --seed 7 --set noise_mv=1.5 -o noisy.root",
                  "ccreco simulate --randomize -n 8000 --seed 9 --set density_scale=0.5,2.0 -o train_wide.root"
                  "   # the default step 2's training sample"],
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
    p.add_argument("--randomize", action="store_true",
                   help="write a domain-randomized sample (ccreco.sim.randomize); --config/--set then take "
                   "RandomizeConfig fields, and each configuration block is written as one chunk "
                   "(--chunk-size is not used)")
    p.add_argument("--ionization", action="append", default=[], metavar="NAME=FIELD:VALUE,...",
                   help="with --randomize: a named ionization model, SimConfig overrides (repeatable; replaces the "
                   "default table + HEED-like pair), e.g. --ionization tuned=cluster_size_model:heed,cluster_p1:0.9")
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
    from ccreco.errors import ConfigError
    from ccreco.sim import build_sim_config, simulate_to_file

    config: Any
    if args.randomize:  # a domain-randomized sample: one configuration per block, written a block a chunk
        from ccreco.sim.randomize import build_randomize_config, write_randomized

        config = build_randomize_config(args.preset, args.config, parse_set(args.set_), args.ionization)
        what = f"randomized waveforms (base {config.base}, blocks of {config.block}, seed {args.seed})"
        described: dict[str, Any] = {"randomize": config.to_dict()}

        def write(output: str) -> int:
            return write_randomized(output, config, args.n_events, args.seed)
    else:
        if args.ionization:
            raise ConfigError("--ionization needs --randomize (a plain simulation takes SimConfig fields with --set)")
        config = build_sim_config(args.preset, args.config, parse_set(args.set_))
        what = f"waveforms ({config.name}, seed {args.seed})"
        described = {"preset": args.preset, "config": config.name}

        def write(output: str) -> int:
            return simulate_to_file(output, config, args.n_events, args.seed,
                                    chunk_size=args.chunk_size or STEP_SIZE, progress=True)
    if args.dump_config:
        config.to_toml(args.dump_config)
    output = _args.required_output(args)
    n = write(output)
    print(f"wrote {n} {what} to {output}", file=sys.stderr)
    plots = _args.plot_dir_beside(args, output)
    if plots is not None:
        from ccreco.sim.plots import plot_file

        for path in plot_file(output, plots):
            print(f"plot: {path}", file=sys.stderr)
    _args.write_json(args, {"output": str(output), "waveforms": n, **described, "seed": args.seed,
                            "plots": None if plots is None else str(plots)})
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
