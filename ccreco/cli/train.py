"""``ccreco train peaks|clusters|perpeak|runlevel``: train a model of the chain and export it to ONNX."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``train`` subcommand group (``peaks``, ``clusters``, ``perpeak`` and ``runlevel``).

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
        subparsers, "train",
        help="train the step-1 peak finder (LSTM) or a step-2 cluster counter (per-peak model or CNN)",
        description="Train a model on simulated ntuples with MC truth and export it to one ONNX file "
        "with its configuration, training sample and validation metrics in the metadata.",
        examples=["ccreco train peaks run.root --preset compact -o my_lstm.onnx",
                  "ccreco train perpeak train_wide.root -o my_perpeak.onnx",
                  "ccreco train clusters run.root --peak-model my_lstm.onnx -o my_cnn.onnx"],
    )
    sub = p.add_subparsers(dest="train_command", metavar="STEP", required=True)

    def common(q: argparse.ArgumentParser) -> None:
        _args.add_inputs(q, "ROOT files with MC truth (globs allowed)")
        _args.add_schema(q)
        _args.add_set(q, "override a model or training field (repeatable), e.g. --set epochs=20")
        _args.add_seed(q, "training seed (weight initialization, shuffling, validation split); "
                       "--set seed= wins")
        _args.add_max_waveforms(q)
        _args.add_output(q, metavar="MODEL.onnx", help="output .onnx file (history .csv/.json beside it)")
        _args.add_plots(q, default_on=False, where="MODEL-plots/ beside the model")
        _args.add_json(q, "the best epoch and validation metrics (always printed on stdout)")
        q.add_argument("--checkpoint", metavar="FILE.pt", help="keep the best weights in this file (torch.save)")

    peaks = _args.add_command(
        sub, "peaks", help="step 1: candidate-window classifier (LSTM/GRU)",
        description="Train the step-1 classifier on candidate windows labelled from the truth "
        "electron_peak_ns. Training keys: optimizer, learning_rate, batch_size, epochs, patience, "
        "validation_fraction, balance, noise_per_signal, threshold, max_samples, seed, threads; "
        "model keys: cell, hidden, layers, dense, activation, activation_last, dropout, "
        "window_left, window_right.",
        examples=["ccreco train peaks run.root --preset compact --set epochs=20 -o my_lstm.onnx --plots",
                  "ccreco train peaks run.root --candidates rule=max -o lstm_max.onnx"])
    _args.add_preset(peaks, _args.PEAK_MODEL_PRESETS, "compact", "model preset")
    peaks.add_argument("--candidates", action="append", metavar="KEY=VALUE",
                       help="candidate selection the model is trained on and stores (repeatable): rule=d2|max|top, "
                       "min_distance=N (rule top), threshold=K|none, roi_threshold=K|none, roi_margin=N, smooth=H, "
                       "normalize=true|false, tolerance=N, baseline_start_ns, baseline_stop_ns, "
                       "preselect_weights=W1,...,W10,B|none, preselect_threshold=T (first-stage pre-selection) "
                       "(default: CandidateConfig, rule d2, k 2.5, no region of interest)")
    common(peaks)
    peaks.set_defaults(func=run_peaks)

    clusters = _args.add_command(
        sub, "clusters", help="step 2: cluster-count CNN on step-1 peaks",
        description="Train the step-2 CNN on the peak times that a step-1 model finds in "
        "simulated waveforms, with the truth n_clusters as target. Model keys: conv "
        "(e.g. 32x4,16x4), pool, dense, activation, dropout, encoding (binary|counts), bins, "
        "window_ns, extra (e.g. track_length_cm).",
        examples=["ccreco train clusters run.root --peak-model my_lstm.onnx -o my_cnn.onnx",
                  "ccreco train clusters 'sim_*.root' --peak-model my_lstm.onnx --set extra=track_length_cm "
                  "-o cnn.onnx --plots plots/cnn"])
    clusters.add_argument("--peak-model", required=True, metavar="M.onnx",
                          help="step-1 ONNX model, a file or a shipped model's name (required)")
    _args.add_preset(clusters, _args.CLUSTER_MODEL_PRESETS, "ihep", "model preset")
    common(clusters)
    clusters.set_defaults(func=run_clusters)

    perpeak = _args.add_command(
        sub, "perpeak", help="step 2: per-peak model (clusters opened by each step-1 candidate; the default)",
        description="Train the per-peak step-2 model (the default step 2 of ccreco reco) on the step-1 "
        "candidates and scores of a step-1 model, with per-candidate targets from the truth clusters; "
        "N_clusters is the sum over a waveform's candidates. Train on a sample that spans what real runs "
        "vary (ccreco simulate --randomize; docs/MODELS.md, 'Linear per-peak counting'). Model keys: "
        "context, dense, activation, dropout, waveform_channels (comma separated, empty for none); "
        "training keys as for the other steps (epochs, learning_rate, batch_size, patience, seed, threads, "
        "max_samples, validation_fraction, loss).",
        examples=["ccreco simulate --randomize -n 8000 --seed 9 --set density_scale=0.5,2.0 -o train_wide.root",
                  "ccreco train perpeak train_wide.root -o my_perpeak.onnx   # the recipe of perpeak_random_wide",
                  "ccreco reco run.root -o out/ --cluster-model my_perpeak.onnx"])
    perpeak.add_argument("--peak-model", default=None, metavar="M.onnx",
                         help="step-1 model whose candidates and scores the model learns from, a file or a shipped "
                         "name (default: the shipped step-1 model; use the one you will reconstruct with)")
    common(perpeak)
    perpeak.set_defaults(func=run_perpeak)

    runlevel = _args.add_command(
        sub, "runlevel", help="run-level correction of the per-peak count (a level per file from its statistics)",
        description="Fit the run-level correction of a step-1 + per-peak step-2 chain: run statistics of "
        "blocks of simulated waveforms that share one configuration (ccreco simulate --randomize --set "
        "block=N) and a ridge regression of the log of each block's level (counted over true clusters) on "
        "them (docs/MODELS.md, 'A run-level correction'). The model records the chain (sha256) and the range "
        "of every statistic; ccreco reco --set run_level=MODEL.onnx uses it. Deterministic (no seed).",
        examples=["ccreco simulate --randomize -n 32000 --seed 21 --set density_scale=0.5,2.0 --set block=128 "
                  "-o runs_a.root",
                  "ccreco train runlevel runs_a.root runs_b.root --validate runs_val.root -o my_run_level.onnx",
                  "ccreco reco run.root -o out/ --set run_level=my_run_level.onnx"])
    _args.add_inputs(runlevel, "randomized simulated ROOT files in blocks of --block waveforms (globs allowed)")
    _args.add_schema(runlevel)
    runlevel.add_argument("--peak-model", default=None, metavar="M.onnx",
                          help="step-1 model of the chain, a file or a shipped name (default: the shipped one)")
    runlevel.add_argument("--cluster-model", default=None, metavar="M.onnx",
                          help="per-peak step-2 model of the chain, a file or a shipped name (default: the shipped)")
    runlevel.add_argument("--validate", action="append", default=[], metavar="FILE",
                          help="held-out randomized file in blocks of the same size, for the metrics (repeatable)")
    runlevel.add_argument("--block", type=int, default=128,
                          help="waveforms per simulated run (the sample's --set block=)")
    runlevel.add_argument("--ridge", type=float, default=10.0, help="ridge strength on the standardised statistics")
    _args.add_max_waveforms(runlevel)
    _args.add_output(runlevel, metavar="MODEL.onnx", help="output .onnx file")
    _args.add_plots(runlevel, default_on=False, where="MODEL-plots/ beside the model")
    _args.add_json(runlevel, "the spread of the level before and after the correction")
    runlevel.set_defaults(func=run_runlevel, checkpoint=None)
    return p


def _log_epochs() -> None:
    """Send the per-epoch lines of ccreco.models.training to stderr (progress bars need a TTY)."""
    import logging

    log = logging.getLogger("ccreco.models.training")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


def _finish(result: Any, args: argparse.Namespace) -> int:
    import math

    from ccreco.errors import ConfigError

    # AUC or loss NaN: one class only in the validation sample, or a diverged fit (wrong polarity, no
    # pulses). A NaN precision alone only means nothing passed the threshold, which a short run may show.
    bad = sorted(k for k, v in result.metrics.items() if ("auc" in k or "loss" in k or k in ("mae", "rmse"))
                 and isinstance(v, float) and not math.isfinite(v))
    if bad:
        raise ConfigError(f"training gave non-finite validation metrics {bad}; no model written. Check the data "
                          "with `ccreco inspect` (polarity, flat waveforms) and the truth labels")
    from ccreco.cli import _args

    out = Path(args.output)
    result.export(out)
    csv_path, json_path = result.save_history(out.parent, f"{out.stem}.history")
    print(f"wrote {out} (history: {csv_path.name}, {json_path.name})", file=sys.stderr)
    plots = _args.plot_dir_beside(args, out)
    if plots is not None:
        from ccreco.models.plots import plot_training

        for path in plot_training(result, plots):
            print(f"plot: {path}", file=sys.stderr)
    summary = {"best_epoch": result.fit.best_epoch, **result.metrics}
    print(json.dumps(summary, sort_keys=True))
    if args.json != "-":
        _args.write_json(args, {"model": str(out), **summary})
    return 0


def _train_options(args: argparse.Namespace) -> dict[str, str]:
    """``--set`` options with ``--seed`` filled in (``--set seed=`` wins); checks inputs and output."""
    from ccreco.cli import _args, parse_set

    args.output = _args.required_output(args)
    args.data = _args.input_files(args)
    options = parse_set(args.set_)
    options.setdefault("seed", str(args.seed))
    return options


def run_peaks(args: argparse.Namespace) -> int:
    """Run ``ccreco train peaks``.

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
    from ccreco.errors import ConfigError
    from ccreco.models.config import PEAK_PRESETS, PEAK_TRAIN, with_overrides
    from ccreco.models.dataset import peak_sample
    from ccreco.models.train_peaks import train_peak_model

    _log_epochs()
    if args.preset not in PEAK_PRESETS:
        raise ConfigError(f"--preset must be one of {', '.join(PEAK_PRESETS)}; got {args.preset!r}")
    model_cfg, train_cfg = with_overrides((PEAK_PRESETS[args.preset], PEAK_TRAIN), _train_options(args))
    sample = peak_sample(args.data, model_cfg, schema=_args.schema(args), max_waveforms=args.max_waveforms,
                         candidates=candidate_options(parse_set(args.candidates)))
    sample.info["preset"] = args.preset
    result = train_peak_model(
        sample.windows, sample.labels, model_cfg, train_cfg,
        sampling_ns=sample.sampling_ns, sample=sample.info, candidates=sample.info["candidates"],
        checkpoint=args.checkpoint,
    )
    return _finish(result, args)


def candidate_options(values: dict[str, str]) -> dict[str, Any] | None:
    """Typed :class:`~ccreco.kernels.CandidateConfig` fields from ``--candidates KEY=VALUE`` strings.

    Parameters
    ----------
    values : dict of str to str
        Field name -> text (``none`` for no amplitude cut; ``true``/``false`` for ``normalize``).

    Returns
    -------
    dict or None
        Validated fields (``None`` when empty); the window extent always comes from the model.

    Raises
    ------
    ConfigError
        Unknown field (closest names listed), a window field, or an unparsable value.
    """
    import dataclasses

    from ccreco.errors import ConfigError, closest_first
    from ccreco.kernels import CandidateConfig
    from ccreco.models.config import with_overrides

    if not values:
        return None
    fields = sorted({f.name for f in dataclasses.fields(CandidateConfig)} - {"window_left", "window_right"})
    for key in values:
        if key not in fields:
            raise ConfigError(f"--candidates: unknown field {key!r} (window_left/right are model fields: --set); "
                              f"closest: {closest_first(key, fields)[:3]}")
    cfg = with_overrides((CandidateConfig(),), values)[0]  # converts by field type and validates
    return {key: getattr(cfg, key) for key in values}


def run_clusters(args: argparse.Namespace) -> int:
    """Run ``ccreco train clusters``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        Exit status (0 on success).
    """
    from ccreco.cli import _args
    from ccreco.errors import ConfigError
    from ccreco.models.config import CLUSTER_PRESETS, CLUSTER_TRAIN, with_overrides
    from ccreco.models.dataset import cluster_sample
    from ccreco.models.inference import PeakModel
    from ccreco.models.shipped import model_file
    from ccreco.models.train_clusters import train_cluster_model

    _log_epochs()
    if args.preset not in CLUSTER_PRESETS:
        raise ConfigError(f"--preset must be one of {', '.join(CLUSTER_PRESETS)}; got {args.preset!r}")
    model_cfg, train_cfg = with_overrides((CLUSTER_PRESETS[args.preset], CLUSTER_TRAIN), _train_options(args))
    peak_model = PeakModel(model_file(args.peak_model), intra_op_num_threads=train_cfg.threads)
    sample = cluster_sample(args.data, peak_model, model_cfg, schema=_args.schema(args),
                            max_waveforms=args.max_waveforms)
    sample.info["preset"] = args.preset
    result = train_cluster_model(
        sample.peak_times, sample.n_true, model_cfg, train_cfg,
        extra=sample.extra, sampling_ns=sample.sampling_ns, sample=sample.info, checkpoint=args.checkpoint,
    )
    return _finish(result, args)


def run_perpeak(args: argparse.Namespace) -> int:
    """Run ``ccreco train perpeak``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        Exit status (0 on success).
    """
    from ccreco.cli import _args
    from ccreco.models.config import PeakClusterConfig, with_overrides
    from ccreco.models.dataset import peak_cluster_sample
    from ccreco.models.inference import PeakModel
    from ccreco.models.shipped import DEFAULT_PEAK_MODEL, model_file
    from ccreco.models.train_clusters import PEAK_CLUSTER_TRAIN, train_peak_cluster_model

    _log_epochs()
    model_cfg, train_cfg = with_overrides((PeakClusterConfig(), PEAK_CLUSTER_TRAIN), _train_options(args))
    peak_model = PeakModel(model_file(args.peak_model, DEFAULT_PEAK_MODEL), intra_op_num_threads=train_cfg.threads)
    sample = peak_cluster_sample(args.data, peak_model, model_cfg.context, schema=_args.schema(args),
                                 max_waveforms=args.max_waveforms, channels=model_cfg.channels)
    result = train_peak_cluster_model(sample, model_cfg, train_cfg, checkpoint=args.checkpoint)
    return _finish(result, args)


def run_runlevel(args: argparse.Namespace) -> int:
    """Run ``ccreco train runlevel``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        Exit status (0 on success).
    """
    from ccreco.cli import _args
    from ccreco.models.train_runlevel import train_run_level

    output = _args.required_output(args)
    result = train_run_level(_args.input_files(args), output, peak_model=args.peak_model,
                             cluster_model=args.cluster_model, validate=args.validate or None, block=args.block,
                             ridge=args.ridge, schema=_args.schema(args), max_waveforms=args.max_waveforms)
    print(f"wrote {result['path']} ({result['blocks']} training blocks of {args.block})", file=sys.stderr)
    plots = _args.plot_dir_beside(args, output)
    if plots is not None:
        from ccreco.models.plots import plot_run_level

        for path in plot_run_level(result["levels"], plots):
            print(f"plot: {path}", file=sys.stderr)
    summary = {"blocks": result["blocks"], **result["metrics"]}
    print(json.dumps(summary, sort_keys=True))
    if args.json != "-":
        _args.write_json(args, {"model": str(result["path"]), **summary})
    return 0


def outputs(args: argparse.Namespace) -> tuple[list[Any], list[str | None]]:
    """What ``ccreco train`` writes and reads (checked and locked by the CLI before training).

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
    if args.checkpoint:
        outs.append(Output(args.checkpoint, "file"))
    plots = _args.plot_dir_beside(args, output)
    if plots is not None:
        outs.append(Output(str(plots), "dir"))
    from ccreco.models.shipped import model_file

    models = [str(model_file(m)) for m in (getattr(args, "peak_model", None), getattr(args, "cluster_model", None))
              if m]  # a shipped model's name is read from the package
    return outs, [*_args.input_files(args), *getattr(args, "validate", []), *models]
