"""``ccreco evaluate``: metrics of a registered peak finder / cluster counter on files with truth."""

from __future__ import annotations

import argparse
import json
from typing import Any


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", default="deriv",
                   help="registered method (default deriv; the models layer adds lstm, cnn)")
    p.add_argument("--data", nargs="+", required=True, metavar="FILE", help="ROOT files or globs with MC truth")
    p.add_argument("--json", metavar="OUT.json", help="write the metrics as JSON")
    p.add_argument("--schema", default="native", help="file schema: native (default), cepc, cepc-old or a .toml")
    p.add_argument("--set", dest="set_", action="append", metavar="KEY=VALUE",
                   help="method option (repeatable), e.g. --set N1=9 --set c=0.23 --set preset=analysts")
    p.add_argument("--max-waveforms", type=int, default=None, help="stop after this many waveforms")
    p.add_argument("--step-size", type=int, default=None, help="entries per chunk")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``evaluate`` subcommand group (``peaks``, ``clusters``).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The top-level subparsers.

    Returns
    -------
    argparse.ArgumentParser
        The group's parser.
    """
    p = subparsers.add_parser(
        "evaluate", help="metrics of a peak finder or cluster counter on files with MC truth",
        description="Evaluate a registered method against MC truth (definitions: docs/ALGORITHMS.md).",
    )
    sub = p.add_subparsers(dest="what", metavar="WHAT")
    peaks = sub.add_parser("peaks", help="window-level and electron-level peak-finding metrics",
                           description="Window level (precision, recall, F1, efficiency*purity, AUC) "
                           "over candidate windows and electron level (efficiency, fakes/waveform).")
    _common(peaks)
    peaks.add_argument("--threshold", type=float, default=0.5, help="working point on window scores")
    peaks.add_argument("--tolerance", type=int, default=None, help="matching tolerance in samples")
    peaks.add_argument("--cand-threshold", default=None,
                       help="candidate amplitude cut k (x RMS), or 'none' (default: the method's own candidates, "
                       "i.e. a model's stored selection, else CandidateConfig)")
    peaks.set_defaults(func=run)
    clusters = sub.add_parser("clusters", help="cluster-count bias / RMS against the true n_clusters",
                              description="Bias, RMS, RMS/sqrt(N) and resolution of N_reco - N_true.")
    _common(clusters)
    clusters.set_defaults(func=run)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``ccreco evaluate peaks|clusters``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        Exit status (0 on success).
    """
    from ccreco.analysis.evaluate import evaluate_clusters, evaluate_peaks, get_method
    from ccreco.analysis.metrics import jsonable
    from ccreco.cli import parse_set
    from ccreco.constants import STEP_SIZE
    from ccreco.errors import ConfigError
    options = parse_set(args.set_)
    get_method(args.method)
    step = STEP_SIZE if args.step_size is None else args.step_size
    if args.what == "peaks":
        kw: dict[str, Any] = {}
        if args.tolerance is not None:
            kw["tolerance"] = args.tolerance
        if args.cand_threshold is not None:
            try:
                kw["threshold"] = None if args.cand_threshold.lower() == "none" else float(args.cand_threshold)
            except ValueError:
                raise ConfigError(f"--cand-threshold must be a number or 'none', got {args.cand_threshold!r}") \
                    from None
        # None / overrides: the method's own candidates (a model's stored selection) with kw on top
        result = evaluate_peaks(args.data, args.method, options=options, candidates=kw or None,
                                threshold=args.threshold, schema=args.schema, step_size=step,
                                max_waveforms=args.max_waveforms)
        keys = ("precision", "recall", "f1", "auc", "efficiency_purity", "electron_efficiency",
                "fakes_per_waveform", "n_waveforms")
    else:
        result = evaluate_clusters(args.data, args.method, options=options, schema=args.schema,
                                   step_size=step, max_waveforms=args.max_waveforms)
        keys = ("bias", "rms", "rms_over_sqrt_n", "mean_true", "mean_reco", "n_waveforms")
    result = jsonable(result)
    for key in keys:
        value = result.get(key)
        print(f"{key:22s} {value:.4f}" if isinstance(value, float) else f"{key:22s} {value}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
            fh.write("\n")
    return 0


def outputs(args: argparse.Namespace) -> tuple[list[Any], list[str | None]]:
    """What ``ccreco evaluate`` writes (``--json``) and reads; checked and locked by the CLI.

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

    return ([Output(args.json, "file")] if args.json else []), list(args.data)
