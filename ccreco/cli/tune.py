"""``ccreco tune``: fit simulator parameters to data on truth-free waveform statistics."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
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
    from ccreco.cli import _args

    p = _args.add_command(
        subparsers, "tune",
        help="tune simulator parameters to data (noise, gain, pulse shape, density, time offset)",
        description="Fit SimConfig parameters so that simulation matches the data on truth-free "
        "summary statistics (baseline RMS, peak-amplitude quantiles, charge, pulse shape, candidate "
        "and peak counts, first-peak time), with a fixed simulation seed and iminuit. Writes the "
        "tuned config as TOML (for `ccreco simulate --config`) plus .json/.md beside it.",
        examples=["ccreco tune data.root --preset tb2023-untuned -o tuned.toml --plots",
                  "ccreco tune 'tb/*.root' --mapping examples/mapping_drs4.toml --params noise_mv,density_scale "
                  "-o tuned.toml"],
    )
    _args.add_inputs(p, "data ROOT file(s) or glob patterns")
    _args.add_schema(p)
    _args.add_preset(p, _args.SIM_PRESETS, "tb2023-untuned", "simulator preset to start from")
    p.add_argument("--config", metavar="FILE.toml", help="SimConfig fields to start from (after --preset)")
    _args.add_set(p, "override a start field (repeatable)")
    _args.add_output(p, metavar="TUNED.toml", help="tuned simulator config (.json/.md written beside it)")
    p.add_argument("--params", default=None,
                   help="comma-separated SimConfig float fields to tune (default for the tb2023 presets: noise_mv,"
                   "single_electron_mv,pulse_rise_ns,pulse_fall_ns,density_scale,trigger_offset_ns; for heed-tube: "
                   "noise_mv,single_electron_mv,density_scale,trigger_offset_ns,pulse_shaper_tau_ns,cluster_p1,"
                   "cluster_tail_exponent); cluster sizes: cluster_p1,"
                   "cluster_tail_exponent[,cluster_low_exponent] (a 'table' start switches to its closest "
                   "HEED-like member); ion-tail "
                   "pulse: pulse_ion_tau_ns,pulse_ion_t0_ns,pulse_shaper_tau_ns,pulse_ac_coupling_ns")
    p.add_argument("--range", dest="ranges", action="append", metavar="NAME=LO:HI",
                   help="absolute search range of a parameter (repeatable)")
    p.add_argument("--n-data", "--max-waveforms", dest="n_data", type=int, default=5000, metavar="N",
                   help="data waveforms used")
    p.add_argument("--n-sim", type=int, default=1000, metavar="N", help="simulated waveforms per evaluation")
    _args.add_seed(p, "fixed simulation seed")
    _args.add_chunk_size(p, None, "entries per chunk read from the data (default: ccreco's block size)")
    p.add_argument("--method", choices=("surrogate", "direct"), default="surrogate",
                   help="fit a quadratic surrogate of the statistics, or minimize on direct simulations")
    p.add_argument("--iterations", type=int, default=3, help="surrogate iterations")
    _args.add_plots(p, default_on=False, where="TUNED-plots/ beside the output")
    _args.add_json(p, "the tuning result (the .json beside the output)")
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
    from ccreco.analysis.tune import TUNE_FEATURES, default_parameters, plot_tuning, tune, write_result
    from ccreco.cli import parse_set
    from ccreco.errors import ConfigError
    from ccreco.io import iterate
    from ccreco.sim import build_sim_config

    config = build_sim_config(args.preset, args.config, parse_set(args.set_))
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
    params = [s.strip() for s in args.params.split(",")] if args.params else default_parameters(config)
    from ccreco.cli import _args
    from ccreco.constants import STEP_SIZE

    output = _args.required_output(args)
    data = features_from_chunks(iterate(_args.input_files(args), schema=_args.schema(args),
                                        step_size=args.chunk_size or STEP_SIZE),
                                TUNE_FEATURES, max_waveforms=args.n_data)
    n_samples = data.peak_offsets.size - 1
    print(f"data: {n_samples} waveforms, sampling {data.sampling_ns} ns", file=sys.stderr)
    if int(data.peak_offsets[-1]) == 0:
        raise ConfigError(f"no peak in any of the {n_samples} data waveforms (flat or all-zero data?); nothing to "
                          "tune against. Check the data with `ccreco inspect`")
    if data.sampling_ns != config.sampling_ns:
        config = config.replace(sampling_ns=data.sampling_ns)
    result = tune(data, config, params, ranges=ranges, n_sim=args.n_sim, seed=args.seed, method=args.method,
                  iterations=args.iterations, log=lambda s: print(s, file=sys.stderr))
    if not result.chi2_after <= result.chi2_before:  # NaN too: a "tuned" config worse than the start
        raise ConfigError(f"tuning did not improve the agreement (chi2 {result.chi2_before:.1f} at the start, "
                          f"{result.chi2_after:.1f} after); nothing written. The data may not be what the simulator "
                          f"describes (sampling {data.sampling_ns:g} ns, preset {args.preset!r}): check them with "
                          "`ccreco inspect` and `ccreco compare`")
    paths = write_result(result, output)
    print(result.table())
    for kind, path in paths.items():
        print(f"{kind}: {path}", file=sys.stderr)
    for w in result.warnings:
        print(f"WARNING: {w}", file=sys.stderr)
    plots = _args.plot_dir_beside(args, output)
    if plots is not None:
        for path in plot_tuning(result, data, plots, seed=args.seed):
            print(f"plot: {path}", file=sys.stderr)
    if args.json is not None and "json" in paths:
        import json

        _args.write_json(args, json.loads(Path(paths["json"]).read_text()))
    return 0


def outputs(args: argparse.Namespace) -> tuple[list[Any], list[str | None]]:
    """What ``ccreco tune`` writes and reads; checked, cleaned and locked by the CLI.

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
    return outs, [*_args.input_files(args), args.config]
