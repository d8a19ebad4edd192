"""``ccreco tune``: fit simulator parameters to data on truth-free waveform statistics."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``tune`` subcommand.

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
        "tune",
        help="tune simulator parameters to data (noise, gain, pulse shape, density, time offset)",
        description="Fit SimConfig parameters so that simulation matches the data on truth-free "
        "summary statistics (baseline RMS, peak-amplitude quantiles, charge, pulse shape, candidate "
        "and peak counts, first-peak time), with a fixed simulation seed and iminuit. Writes the "
        "tuned config as TOML (for `ccreco simulate --config`) plus .json/.md beside it.",
    )
    p.add_argument("data", nargs="+", help="data ROOT file(s) or glob patterns")
    p.add_argument("--schema", default="native", help="ccreco.io schema of the data (preset or mapping .toml)")
    p.add_argument("--preset", default="tb2023-untuned", help="simulator preset to start from")
    p.add_argument("--config", metavar="FILE.toml", help="SimConfig fields to start from (after --preset)")
    p.add_argument("--set", dest="set_", action="append", metavar="KEY=VALUE", help="override a start field")
    p.add_argument("-o", "--output", required=True, metavar="TUNED.toml", help="tuned simulator config")
    p.add_argument("--params", default=None,
                   help="comma-separated SimConfig float fields to tune (default: noise_mv,single_electron_mv,"
                   "pulse_rise_ns,pulse_fall_ns,density_scale,trigger_offset_ns); cluster sizes: cluster_p1,"
                   "cluster_tail_exponent[,cluster_low_exponent] (a 'table' start switches to its closest HEED-like member); ion-tail "
                   "pulse: pulse_ion_tau_ns,pulse_ion_t0_ns,pulse_shaper_tau_ns,pulse_ac_coupling_ns")
    p.add_argument("--range", dest="ranges", action="append", metavar="NAME=LO:HI",
                   help="absolute search range of a parameter (repeatable)")
    p.add_argument("--n-data", type=int, default=5000, help="data waveforms used (default 5000)")
    p.add_argument("--n-sim", type=int, default=1000, help="simulated waveforms per evaluation (default 1000)")
    p.add_argument("--seed", type=int, default=1, help="fixed simulation seed (default 1)")
    p.add_argument("--method", choices=("surrogate", "direct"), default="surrogate")
    p.add_argument("--iterations", type=int, default=3, help="surrogate iterations (default 3)")
    p.add_argument("--plots", metavar="DIR", help="write before/after comparison plots into DIR")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``ccreco tune``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        Exit status (0 on success).
    """
    from ccreco.analysis.features import features_from_chunks
    from ccreco.analysis.tune import DEFAULT_PARAMETERS, TUNE_FEATURES, plot_tuning, tune, write_result
    from ccreco.cli import parse_set
    from ccreco.errors import ConfigError
    from ccreco.io import iterate
    from ccreco.sim import SimConfig

    config = SimConfig.from_preset(args.preset)
    if args.config:
        config = SimConfig.from_toml(args.config, base=config)
    overrides = parse_set(args.set_)
    if overrides:
        config = config.with_strings(overrides)
    ranges: dict[str, tuple[float, float]] = {}
    for item in args.ranges or ():
        name, _, rng = item.partition("=")
        lo, sep, hi = rng.partition(":")
        try:
            ranges[name.strip()] = (float(lo), float(hi))
        except ValueError:
            raise ConfigError(f"--range expects NAME=LO:HI, got {item!r}") from None
        if not sep:
            raise ConfigError(f"--range expects NAME=LO:HI, got {item!r}")
    params = [s.strip() for s in args.params.split(",")] if args.params else list(DEFAULT_PARAMETERS)
    data = features_from_chunks(iterate(args.data, schema=args.schema), TUNE_FEATURES, max_waveforms=args.n_data)
    n_samples = data.peak_offsets.size - 1
    print(f"data: {n_samples} waveforms, sampling {data.sampling_ns} ns", file=sys.stderr)
    if data.sampling_ns != config.sampling_ns:
        config = config.replace(sampling_ns=data.sampling_ns)
    result = tune(data, config, params, ranges=ranges, n_sim=args.n_sim, seed=args.seed, method=args.method,
                  iterations=args.iterations, log=lambda s: print(s, file=sys.stderr))
    paths = write_result(result, args.output)
    print(result.table())
    for kind, path in paths.items():
        print(f"{kind}: {path}", file=sys.stderr)
    for w in result.warnings:
        print(f"WARNING: {w}", file=sys.stderr)
    if args.plots:
        for path in plot_tuning(result, data, args.plots, seed=args.seed):
            print(f"plot: {path}", file=sys.stderr)
    return 0
