"""``ccreco hpo peaks|clusters|perpeak``: hyperparameter optimization with Optuna on dask workers."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``hpo`` subcommand group (``peaks``, ``clusters`` and ``perpeak``).

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
        subparsers, "hpo",
        help="hyperparameter optimization of the LSTM, the CNN or the per-peak model (Optuna, dask workers, "
        "resumable)",
        description="Scan the hyperparameters of the step-1 LSTM (peaks), the step-2 CNN (clusters) or the "
        "step-2 per-peak model (perpeak) with Optuna. Each trial trains on a dask worker and records "
        "validation metrics, parameter count, "
        "ONNX Runtime throughput, CPU time, mean CPUs used, peak memory and wall time. The study is "
        "stored in a database: rerun the same command to resume it. See docs/HPO.md.",
        examples=["ccreco hpo peaks run.root --space peaks --trials 8 -o hpo/",
                  "ccreco hpo clusters run.root --space my_space.toml --objective rms_over_sqrt_n -o hpo-cnn/",
                  "ccreco hpo perpeak run.root --space perpeak --objective abs_bias slope_deviation -o hpo-pp/"],
    )
    sub = p.add_subparsers(dest="hpo_command", metavar="STEP", required=True)
    for kind, help_ in (("peaks", "step 1: candidate-window classifier (LSTM/GRU)"),
                        ("clusters", "step 2: cluster-count CNN on step-1 peak times"),
                        ("perpeak", "step 2: per-peak model (clusters opened by each step-1 candidate)")):
        q = _args.add_command(
            sub, kind, help=help_,
            description=f"{help_}. Writes OUTDIR/results.csv, results.md, study.json, plots/, "
            "models/trial_NNNN.onnx and best.onnx (the best trial, or --pick).",
            examples=[f"ccreco hpo {kind} run.root --space {kind} --trials 8 -o hpo-{kind}/",
                      f"ccreco hpo {kind} run.root --space {kind} --trials 16 -o hpo-{kind}/   # resumes: 8 more"])
        _args.add_inputs(q, "simulated ROOT ntuples with MC truth (the sample is prepared once into "
                         "OUTDIR/sample.npz)")
        q.add_argument("--space", required=True, metavar="SPACE",
                       help=f"search space: a SPACE.toml (format: docs/HPO.md) or a shipped example: "
                       f"{', '.join(shipped_spaces())}")
        _args.add_schema(q)
        _args.add_max_waveforms(q)
        if kind in ("clusters", "perpeak"):
            gives = "the candidates and their scores" if kind == "perpeak" else "the peak times"
            q.add_argument("--peak-model", metavar="M.onnx", default=None,
                           help=f"step-1 model giving {gives}, a file or a shipped model's name "
                           "(default: the shipped LSTM)")
        q.add_argument("--trials", type=int, default=10, help="finished trials wanted in total")
        q.add_argument("--sampler", choices=("grid", "random", "tpe"), default="tpe", help="Optuna sampler")
        q.add_argument("--objective", nargs="+", metavar="NAME", default=None,
                       help="one objective, or two for a Pareto front (default: auc for peaks, "
                       "rms_over_sqrt_n for clusters and perpeak), e.g. --objective auc throughput_per_s")
        q.add_argument("--storage", default=None, help="Optuna storage URL (default: sqlite:///OUTDIR/study.db)")
        q.add_argument("--study-name", default=f"ccreco-hpo-{kind}", help="study name")
        q.add_argument("--executor", choices=("iterative", "dask"), default="dask",
                       help="train on dask workers or in this process")
        q.add_argument("--workers", type=int, default=2, help="local dask workers = concurrent trials")
        q.add_argument("--scheduler", metavar="ADDR", default=None, help="use an existing dask scheduler")
        q.add_argument("--pick", type=int, default=None, metavar="N",
                       help="export trial N (e.g. a Pareto point) instead of the best")
        _args.add_seed(q, "sampler and training seed")
        _args.add_output(q, metavar="OUTDIR", help="output folder", old=("--outdir",))
        _args.add_plots(q, default_on=True, where="OUTDIR/plots/")
        _args.add_json(q, "the run summary (always printed on stdout)")
        q.set_defaults(func=run, hpo_kind=kind)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``ccreco hpo peaks|clusters|perpeak``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        0 when at least one trial completed and the chosen model was exported, 1 otherwise.
    """
    from ccreco.cli import _args
    from ccreco.errors import ConfigError
    from ccreco.hpo.space import load_space
    from ccreco.hpo.trial import check_space

    kind = args.hpo_kind
    args.output = _args.required_output(args)
    args.data = _args.input_files(args)
    args.schema = _args.schema(args)
    args.space = str(resolve_space(args.space))
    if args.trials < 1:
        raise ConfigError(f"--trials must be >= 1; got {args.trials}")
    if args.objective is not None and len(args.objective) > 2:
        raise ConfigError(f"--objective takes one or two names; got {args.objective}")
    space = load_space(args.space)
    check_space(kind, space)  # before the (slow) sample preparation
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    with _study_lock(out):
        return _run_locked(args, kind, space, out)


@contextlib.contextmanager
def _study_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``OUTDIR/.hpo.lock`` (released by the kernel if killed)."""
    from ccreco.errors import ConfigError

    with open(out / ".hpo.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"another ccreco hpo is running on {out} (one process per study)") from None
        from ccreco._outputs import clean_stale

        for folder in (out, out / "models", out / "plots"):  # temporaries of a killed earlier run
            clean_stale(folder)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run_locked(args: argparse.Namespace, kind: str, space: Any, out: Path) -> int:
    """Prepare the sample, run the study, write the outputs (under the study lock)."""
    from ccreco.errors import ConfigError
    from ccreco.hpo.data import prepare_clusters, prepare_peak_clusters, prepare_peaks
    from ccreco.hpo.report import export_trial_model, plot_study, write_results, write_text
    from ccreco.hpo.study import run_study

    sample = out / "sample.npz"
    print(f"ccreco hpo: preparing the {kind} sample from {len(args.data)} file(s) -> {sample}", file=sys.stderr,
          flush=True)
    if kind == "peaks":
        prepare_peaks(args.data, sample, schema=args.schema, max_waveforms=args.max_waveforms)
    elif kind == "perpeak":
        from ccreco.hpo.trial import perpeak_layout

        context, channels = perpeak_layout(space)  # the largest context, every channel of the space
        prepare_peak_clusters(args.data, sample, context=context, channels=channels, peak_model=args.peak_model,
                              schema=args.schema, max_waveforms=args.max_waveforms)
    else:
        prepare_clusters(args.data, sample, peak_model=args.peak_model, schema=args.schema,
                         max_waveforms=args.max_waveforms, extra=space.extra_inputs())
    storage = args.storage or f"sqlite:///{(out / 'study.db').resolve()}"
    print(f"ccreco hpo: {args.trials} trial(s) in total, {args.sampler} sampler, executor {args.executor}"
          + (f" ({args.workers} workers)" if args.executor == "dask" and not args.scheduler else ""),
          file=sys.stderr, flush=True)
    study = run_study(
        space, sample, storage=storage, kind=kind, study_name=args.study_name,
        n_trials=args.trials, sampler=args.sampler, seed=args.seed, objectives=args.objective,
        executor=args.executor, workers=args.workers, scheduler=args.scheduler, models_dir=out / "models",
    )
    from ccreco.cli import _args

    files = write_results(study, out, kind)
    plots = _args.plot_dir(args, out / "plots")
    if plots is not None:
        files += plot_study(study, plots)
    states = [t.state.name for t in study.trials]
    summary: dict[str, Any] = {
        "study": study.study_name,
        "kind": kind,
        "objectives": study.user_attrs.get("objectives"),
        "trials": len(states),
        "complete": states.count("COMPLETE"),
        "failed": states.count("FAIL"),
    }
    status = 0
    try:
        path, trial = export_trial_model(study, out / "models", out / "best.onnx", pick=args.pick)
    except ConfigError as exc:
        if args.pick is not None:
            raise
        print(f"ccreco hpo: no model exported: {exc}", file=sys.stderr)
        status = 1
    else:
        files.append(path)
        summary.update(exported_trial=trial.number, exported=str(path),
                       values=dict(zip(summary["objectives"], trial.values, strict=True)), params=trial.params)
        study_json = json.loads((out / "study.json").read_text())
        study_json["exported_trial"] = trial.number
        write_text(out / "study.json", json.dumps(study_json, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(files)} files in {out} (table: {out / 'results.md'})", file=sys.stderr)
    print(json.dumps(summary, sort_keys=True))
    if args.json != "-":
        _args.write_json(args, summary)
    return status


def shipped_spaces() -> list[str]:
    """Names of the example search spaces shipped with ccreco (``--space NAME``)."""
    from importlib import resources

    folder = resources.files("ccreco") / "data" / "hpo"
    return sorted(f.name[:-5] for f in folder.iterdir() if f.name.endswith(".toml"))


def resolve_space(space: str) -> Path:
    """A ``--space`` value as a file: an existing path, or a shipped example by name.

    Parameters
    ----------
    space : str
        ``SPACE.toml`` path, or a shipped name (``peaks``, ``clusters``, ``perpeak``; ``examples/hpo_space_peaks.toml``
        also resolves to the shipped copy when the path does not exist here).

    Returns
    -------
    pathlib.Path
        The file to read.

    Raises
    ------
    ConfigError
        Neither a file nor a shipped name (the shipped names are listed).
    """
    from importlib import resources

    from ccreco.errors import ConfigError

    path = Path(space)
    if path.is_file():
        return path
    name = path.name[:-5] if path.name.endswith(".toml") else path.name
    name = name.removeprefix("hpo_space_")
    if name in shipped_spaces():
        return Path(str(resources.files("ccreco") / "data" / "hpo" / f"{name}.toml"))
    raise ConfigError(f"--space {space}: no such file, and not a shipped space "
                      f"(shipped: {', '.join(shipped_spaces())})")
