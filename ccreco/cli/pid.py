"""``ccreco pid``: dN/dx and dE/dx particle identification on simulated tracks."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``pid`` subcommand.

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
        subparsers, "pid",
        help="dN/dx (truth, DERIV, ML) vs dE/dx resolution and pi/K, K/p separation on simulated tracks",
        description="Simulate tracks (N consecutive cells of one species and momentum), count clusters "
        "per cell with each estimator, and report the dN/dx and truncated-mean dE/dx resolutions and "
        "separation powers vs momentum (pid.md, pid.json, plots).",
        examples=["ccreco pid -o pid/ --species pi,K --momenta 5,10 --tracks 20 --methods truth,deriv,dedx",
                  "ccreco pid -o pid-tuned/ --config tuned.toml --seed 2"],
    )
    _args.add_output(p, metavar="OUTDIR", help="output directory", old=("--outdir",))
    p.add_argument("--species", default="pi,K,p,mu", help="comma-separated species")
    p.add_argument("--momenta", default="2,5,10,20", help="comma-separated momenta in GeV/c")
    p.add_argument("--tracks", type=int, default=50, help="tracks per species and momentum")
    p.add_argument("--cells", type=int, default=100, help="cells per track")
    p.add_argument("--cell-size", type=float, default=0.8, help="cell size in cm")
    p.add_argument("--methods", default="truth,deriv,dedx,lstm,cnn,perpeak",
                   help="estimators: truth, deriv, dedx and registered cluster methods (lstm, cnn, perpeak); "
                   "ML methods whose models are missing are skipped with a warning")
    p.add_argument("--option", action="append", metavar="METHOD:KEY=VALUE",
                   help="option of a method, e.g. deriv:N1=8 or cnn:threads=2 (repeatable)")
    p.add_argument("--truncation", type=float, default=0.7, help="kept fraction for dE/dx")
    _args.add_preset(p, _args.SIM_PRESETS, "pid", "simulator preset")
    _args.add_set(p, "override a SimConfig field (repeatable)")
    p.add_argument("--config", metavar="FILE.toml", help="SimConfig fields (e.g. a tuned config)")
    _args.add_seed(p, "simulation seed")
    _args.add_plots(p, default_on=True, where="OUTDIR")
    _args.add_json(p, "pid.json's content")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``ccreco pid``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        Exit status (0 on success).
    """
    import dataclasses

    from ccreco.analysis.pid import PidConfig, methods_available, plot_pid, run_pid, write_pid
    from ccreco.cli import _args, parse_set
    from ccreco.errors import ConfigError
    from ccreco.sim import SimConfig, build_sim_config

    SimConfig.from_preset(args.preset)  # a bad preset is one line, before the models are opened
    overrides: dict[str, Any] = {}
    if args.config:
        base = SimConfig.from_preset(args.preset)
        tuned = build_sim_config(args.preset, args.config)
        skip = {"name", "species", "momenta_gev", "cell_size_cm", "impact_min_cm", "impact_max_cm"}
        overrides = {f.name: getattr(tuned, f.name) for f in dataclasses.fields(tuned)
                     if f.name not in skip and getattr(tuned, f.name) != getattr(base, f.name)}
    if args.set_:
        types = build_sim_config(args.preset, None, parse_set(args.set_))
        overrides.update({k: getattr(types, k) for k in parse_set(args.set_)})
    options: dict[str, dict[str, str]] = {}
    for item in args.option or ():
        method, sep, kv = item.partition(":")
        key, sep2, value = kv.partition("=")
        if not sep or not sep2:
            raise ConfigError(f"--option expects METHOD:KEY=VALUE, got {item!r}")
        options.setdefault(method, {})[key] = value
    wanted = [m.strip() for m in args.methods.split(",") if m.strip()]
    methods = methods_available(wanted)
    for m in wanted:
        if m not in methods:
            print(f"warning: method {m!r} is not available here (no model?); skipped", file=sys.stderr)
    try:
        momenta = tuple(float(x) for x in args.momenta.split(","))
    except ValueError:
        raise ConfigError(f"--momenta expects numbers, got {args.momenta!r}") from None
    cfg = PidConfig(
        species=tuple(s.strip() for s in args.species.split(",")), momenta_gev=momenta, n_tracks=args.tracks,
        n_cells=args.cells, cell_size_cm=args.cell_size, preset=args.preset, methods=tuple(methods),
        method_options=options, truncation=args.truncation, seed=args.seed, sim_overrides=overrides,
    )
    outdir = _args.required_output(args)
    result = run_pid(cfg, log=lambda s: print(s, file=sys.stderr))
    paths = write_pid(result, outdir)
    print(result.table())
    plots = _args.plot_dir(args, outdir)
    for path in [*paths.values(), *(plot_pid(result, plots) if plots is not None else [])]:
        print(f"wrote {path}", file=sys.stderr)
    summary = next((p for p in paths.values() if str(p).endswith(".json")), None)
    if args.json is not None and summary is not None:
        import json
        from pathlib import Path

        _args.write_json(args, json.loads(Path(summary).read_text()))
    return 0


def outputs(args: argparse.Namespace) -> tuple[list[Any], list[str | None]]:
    """What ``ccreco pid`` writes (OUTDIR) and reads (``--config``); checked and locked by the CLI.

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

    return [Output(_args.required_output(args), "dir")], [args.config]
