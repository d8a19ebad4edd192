"""``ccreco evaluate``: metrics of a registered peak finder / cluster counter on files with truth."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def _common(p: argparse.ArgumentParser) -> None:
    from ccreco.cli import _args
    from ccreco.constants import STEP_SIZE

    _args.add_inputs(p, "ROOT files or globs with MC truth")
    p.add_argument("--method", default="deriv",
                   help="registered method (deriv; the models layer adds lstm, cnn)")
    _args.add_json(p, "the metrics")
    _args.add_schema(p)
    _args.add_set(p, "method option (repeatable), e.g. --set N1=9 --set c=0.23 --set preset=analysts "
                  "--set model=my.onnx")
    p.add_argument("--threshold", type=float, default=None,
                   help="working point on the step-1 window scores (lstm peaks; the peak model of "
                   "lstm/cnn clusters); default: the model's stored threshold (same as --set threshold=)")
    _args.add_max_waveforms(p)
    _args.add_chunk_size(p, STEP_SIZE, "entries per chunk", step_alias=True)


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
    from ccreco.cli import _args

    p = _args.add_command(
        subparsers, "evaluate", help="metrics of a peak finder or cluster counter on files with MC truth",
        description="Evaluate a registered method against MC truth (definitions: docs/ALGORITHMS.md).",
        examples=["ccreco evaluate peaks run.root --method lstm --json lstm.json",
                  "ccreco evaluate clusters run.root --method cnn"],
    )
    sub = p.add_subparsers(dest="what", metavar="WHAT")
    peaks = _args.add_command(
        sub, "peaks", help="window-level and electron-level peak-finding metrics",
        description="Window level (precision, recall, F1, efficiency*purity, AUC) over candidate windows "
        "and electron level (efficiency, fakes/waveform).",
        examples=["ccreco evaluate peaks run.root --method deriv --set N1=9 --json deriv.json",
                  "ccreco evaluate peaks run.root --method lstm --threshold 0.9",
                  "ccreco evaluate peaks garfield.root --mapping garfield.toml --method lstm"])
    _common(peaks)
    peaks.add_argument("--tolerance", type=int, default=None, help="matching tolerance in samples")
    peaks.add_argument("--cand-threshold", default=None,
                       help="candidate amplitude cut k (x RMS), or 'none' (default: the method's own candidates, "
                       "i.e. a model's stored selection, else CandidateConfig)")
    peaks.set_defaults(func=run)
    clusters = _args.add_command(
        sub, "clusters", help="cluster-count bias / RMS against the true n_clusters",
        description="Bias, RMS, RMS/sqrt(N) and resolution of N_reco - N_true.",
        examples=["ccreco evaluate clusters run.root --method cnn --json cnn.json",
                  "ccreco evaluate clusters run.root --method deriv --set c=0.25"])
    _common(clusters)
    clusters.set_defaults(func=run)

    def usage(args: argparse.Namespace) -> int:  # ``ccreco evaluate`` without peaks|clusters
        p.print_help()
        return 2

    p.set_defaults(func=usage)
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
    from ccreco.cli import _args, parse_set
    from ccreco.errors import ConfigError
    options = parse_set(args.set_)
    get_method(args.method)
    files = _args.input_files(args)
    schema = _args.schema(args)
    step = args.chunk_size
    if args.threshold is not None:
        if not 0.0 <= args.threshold <= 1.0:
            raise ConfigError(f"--threshold must be in [0, 1], got {args.threshold}")
        options.setdefault("threshold", str(args.threshold))
    try:
        result = _evaluate(args, files, options, schema, step, evaluate_peaks, evaluate_clusters)
    except ConfigError as exc:
        if args.threshold is not None and "threshold" in str(exc):
            raise ConfigError(f"--threshold applies to methods with window scores (lstm, cnn); method "
                              f"{args.method!r} has none ({exc.message})") from None
        raise
    keys: tuple[str, ...]
    if args.what == "peaks":
        keys = ("precision", "recall", "f1", "auc", "efficiency_purity", "electron_efficiency",
                "fakes_per_waveform", "n_waveforms")
    else:
        # linearity first (issue 16): a counter that shrinks toward its training mean has a small
        # RMS but a slope below 1; the calibrated RMS is what a PID analysis gets
        keys = ("bias", "slope", "slope_err", "calibrated_rms_over_sqrt_n", "rms", "rms_over_sqrt_n",
                "mean_true", "mean_reco", "level", "n_waveforms")
    result = jsonable(result)
    if args.json != "-":
        for key in keys:
            value = result.get(key)
            print(f"{key:22s} {value:.4f}" if isinstance(value, float) else f"{key:22s} {value}")
    _args.write_json(args, result)
    return 0


def _evaluate(args: argparse.Namespace, files: list[str], options: dict[str, str], schema: Any, step: int,
              evaluate_peaks: Callable[..., dict[str, Any]],
              evaluate_clusters: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Call the library's evaluate_peaks / evaluate_clusters with the parsed options."""
    from ccreco.config import convert_value

    if args.what == "peaks":
        kw: dict[str, Any] = {}
        if args.tolerance is not None:
            kw["tolerance"] = args.tolerance
        if args.cand_threshold is not None:
            kw["threshold"] = convert_value(args.cand_threshold, float | None, name="--cand-threshold")
        # None / overrides: the method's own candidates (a model's stored selection) with kw on top;
        # the working point of methods with scores travels as their "threshold" option (--threshold)
        return evaluate_peaks(files, args.method, options=options, candidates=kw or None,
                              schema=schema, step_size=step, max_waveforms=args.max_waveforms)
    return evaluate_clusters(files, args.method, options=options, schema=schema,
                             step_size=step, max_waveforms=args.max_waveforms)


def outputs(args: argparse.Namespace) -> tuple[list[Any], list[str | None]]:
    """What ``ccreco evaluate`` reads (its ``--json`` output is added by the CLI); checked and locked.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    (list of ccreco._outputs.Output, list of str)
        Outputs and inputs.
    """
    from ccreco.cli import _args

    if getattr(args.func, "__name__", "") == "usage":  # ``ccreco evaluate`` alone: help, no files
        return [], []
    return [], list(_args.input_files(args))
