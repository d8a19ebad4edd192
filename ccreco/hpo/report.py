"""Outputs of a study: results table (CSV + markdown), plots, and the exported best model.

Every file is written atomically (a temporary file in the same folder, then ``os.replace``), so
an interrupted report never leaves a half-written table, plot or model behind.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ccreco._extras import require
from ccreco._outputs import confine
from ccreco.errors import ConfigError
from ccreco.plotting import styled

#: Metric columns of the markdown table per step (after the parameters and objectives).
TABLE_METRICS: dict[str, tuple[str, ...]] = {
    "peaks": ("auc", "f1", "precision", "recall", "efficiency_purity"),
    "clusters": ("mae", "bias", "rms", "rms_over_sqrt_n"),
    "perpeak": ("mae", "bias", "rms_over_sqrt_n", "slope", "calibrated_rms_over_sqrt_n"),
}
#: Speed and resource columns of the markdown table.
TABLE_RESOURCES: tuple[str, ...] = (
    "n_params", "throughput_per_s", "epochs_run", "cpu_s", "cpus_used", "peak_rss_mb", "wall_s",
)
#: Short column headers for the markdown table.
HEADERS: dict[str, str] = {
    "number": "trial",
    "efficiency_purity": "eff*pur",
    "rms_over_sqrt_n": "RMS/sqrtN",
    "calibrated_rms_over_sqrt_n": "cal. RMS/sqrtN",
    "slope_deviation": "\\|slope-1\\|",
    "waveforms_per_s": "ONNX wf/s",
    "waveform_channels": "wf channels",
    "throughput_per_s": "ONNX /s",
    "epochs_run": "epochs",
    "cpus_used": "CPUs",
    "peak_rss_mb": "peak RSS MB",
    "learning_rate": "lr",
    "batch_size": "batch",
}


def _replace_write(path: Path, write: Any, binary: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb" if binary else "w", newline=None if binary else "") as fh:
            write(fh)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically.

    Parameters
    ----------
    path : path-like
        Destination.
    text : str
        Content.

    Returns
    -------
    pathlib.Path
        The file.
    """
    return _replace_write(Path(path), lambda fh: fh.write(text))


def _param_names(study: Any) -> list[str]:
    names: list[str] = []
    for t in study.get_trials(deepcopy=False):
        for k in t.params:
            if k not in names:
                names.append(k)
    return names


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        if abs(v) >= 100:
            return f"{v:.0f}"
        if v != 0 and abs(v) < 1e-3:
            return f"{v:.2e}"
        return f"{v:.3g}"
    return str(v)


def table_columns(study: Any, kind: str) -> list[str]:
    """Columns of the markdown table: trial, state, sampled parameters, objectives, metrics,
    size, speed and resources.

    Parameters
    ----------
    study : optuna.Study
        The study.
    kind : {"peaks", "clusters", "perpeak"}
        The step.

    Returns
    -------
    list of str
        Column keys (rows of :func:`ccreco.hpo.study.trials_table`).
    """
    objectives = list(study.user_attrs.get("objectives", []))
    cols = ["number", "state", *_param_names(study)]
    for m in objectives + list(TABLE_METRICS[kind]) + list(TABLE_RESOURCES):
        if m not in cols:
            cols.append(m)
    return cols


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A markdown table of ``rows`` (failed trials show the first line of their error).

    Parameters
    ----------
    rows : sequence of mapping
        Trial rows.
    columns : sequence of str
        Keys to show.

    Returns
    -------
    str
        The table, one line per trial.
    """
    lines = ["| " + " | ".join(HEADERS.get(c, c) for c in columns) + " | error |",
             "|" + "---|" * (len(columns) + 1)]
    for r in rows:
        err = str(r.get("error", "")).splitlines()[0][:70] if r.get("error") else ""
        lines.append("| " + " | ".join(_fmt(r.get(c)) for c in columns) + f" | {err.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def write_results(study: Any, outdir: str | os.PathLike[str], kind: str) -> list[Path]:
    """Write ``results.csv`` (every field), ``results.md`` and ``study.json`` into ``outdir``.

    Parameters
    ----------
    study : optuna.Study
        The study.
    outdir : path-like
        Output folder.
    kind : {"peaks", "clusters", "perpeak"}
        The step (table columns).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from ccreco.hpo.study import trials_table

    out = Path(outdir)
    rows = trials_table(study)
    keys: list[str] = []
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    paths = [write_text(out / "results.csv", buf.getvalue())]
    cols = table_columns(study, kind)
    named = zip(study.user_attrs.get("objectives", []), study.directions, strict=False)
    head = (f"# HPO study `{study.study_name}` ({kind})\n\nobjectives: "
            f"{', '.join(f'{o} ({d.name.lower()})' for o, d in named)}"
            f"; {len(rows)} trials\n\n")
    paths.append(write_text(out / "results.md", head + markdown_table(rows, cols)))
    summary = {
        "study": study.study_name,
        "kind": kind,
        "objectives": study.user_attrs.get("objectives"),
        "n_trials": len(rows),
        "states": {s: sum(1 for r in rows if r["state"] == s) for s in sorted({r["state"] for r in rows})},
        "best": [t.number for t in pareto_trials(study)],
        "sampler": study.user_attrs.get("sampler"),
        "seed": study.user_attrs.get("seed"),
        "space": study.user_attrs.get("space"),
    }
    paths.append(write_text(out / "study.json", json.dumps(summary, indent=1, sort_keys=True) + "\n"))
    return paths


def pareto_trials(study: Any) -> list[Any]:
    """The best trial (one objective) or the Pareto-optimal trials (two), by trial number.

    Parameters
    ----------
    study : optuna.Study
        The study.

    Returns
    -------
    list of optuna.trial.FrozenTrial
        Empty when no trial completed.
    """
    from optuna.trial import TrialState

    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return []
    if len(study.directions) == 1:
        return [study.best_trial]
    return sorted(study.best_trials, key=lambda t: t.number)


def choose_trial(study: Any, pick: int | None = None) -> Any:
    """The trial whose model is exported: ``pick``, else the best (first objective on a front).

    Parameters
    ----------
    study : optuna.Study
        The study.
    pick : int, optional
        A trial number (any complete trial, e.g. a chosen Pareto point).

    Returns
    -------
    optuna.trial.FrozenTrial
        The trial.

    Raises
    ------
    ConfigError
        No complete trial, or ``pick`` is not a complete trial of the study.
    """
    from optuna.trial import TrialState

    complete = {t.number: t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}
    if not complete:
        raise ConfigError(f"study {study.study_name!r} has no complete trial to export")
    if pick is not None:
        if pick not in complete:
            raise ConfigError(f"--pick {pick}: not a complete trial; complete trials: {sorted(complete)}")
        return complete[pick]
    front = pareto_trials(study)
    if len(front) == 1:
        return front[0]
    sign = 1.0 if study.directions[0].name == "MAXIMIZE" else -1.0
    return max(front, key=lambda t: sign * t.values[0])


def export_trial_model(
    study: Any, models_dir: str | os.PathLike[str], dest: str | os.PathLike[str], pick: int | None = None
) -> tuple[Path, Any]:
    """Copy the chosen trial's ONNX model (exported by :func:`ccreco.models.export.export_onnx`
    during the trial, with its full metadata) to ``dest`` atomically and check that it loads.

    Parameters
    ----------
    study : optuna.Study
        The study.
    models_dir : path-like
        Folder of the per-trial models (``trial_NNNN.onnx``).
    dest : path-like
        Destination ``.onnx``.
    pick : int, optional
        Trial number to export instead of the best.

    Returns
    -------
    (pathlib.Path, optuna.trial.FrozenTrial)
        The written file and the trial.

    Raises
    ------
    ConfigError
        No model stored for the chosen trial.
    """
    from ccreco.models.inference import load_model

    trial = choose_trial(study, pick)
    name = trial.user_attrs.get("model_file")
    # the name comes from the study database: it must stay inside the models directory
    src = confine(str(name), models_dir, what="model_file of the study database") if name else None
    if src is None or not src.is_file():
        raise ConfigError(f"no stored model for trial {trial.number} (expected {src or 'a model_file attribute'})")
    data = src.read_bytes()
    path = _replace_write(Path(dest), lambda fh: fh.write(data), binary=True)
    load_model(path)  # validates kind, metadata and shapes
    return path, trial


def _setup_plots() -> Any:
    require("mplhep", "plots")
    import matplotlib

    if not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt  # the style: plot_study runs under ccreco.plotting.styled


def _save(fig: Any, path: Path) -> Path:
    def write(fh: Any) -> None:
        fig.savefig(fh, format="png", dpi=80, bbox_inches="tight")

    _replace_write(path, write, binary=True)
    return path


@styled
def plot_study(study: Any, outdir: str | os.PathLike[str]) -> list[Path]:
    """Draw the study: each objective vs each sampled hyperparameter, the optimization history,
    and the Pareto front (two objectives).

    Parameters
    ----------
    study : optuna.Study
        The study (complete trials are drawn; failed ones are listed in the tables).
    outdir : path-like
        Folder for the PNG files (``<objective>_vs_<param>.png``, ``history.png``,
        ``pareto.png``).

    Returns
    -------
    list of pathlib.Path
        The files written (none before a trial completes).
    """
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not trials:
        return []
    plt = _setup_plots()
    out = Path(outdir)
    objectives = list(study.user_attrs.get("objectives", [f"value{i}" for i in range(len(study.directions))]))
    best_numbers = {t.number for t in pareto_trials(study)}
    paths: list[Path] = []
    for i, obj in enumerate(objectives):
        y = [t.values[i] for t in trials]
        for name in _param_names(study):
            xs = [t.params.get(name) for t in trials]
            fig, ax = plt.subplots(figsize=(7, 5))
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xs if v is not None)
            if numeric:
                x = [float(v) if v is not None else math.nan for v in xs]
                if all(v > 0 for v in x if math.isfinite(v)) and max(x) / max(min(x), 1e-300) > 20:
                    from matplotlib.ticker import NullFormatter

                    ax.set_xscale("log")
                    ax.xaxis.set_minor_formatter(NullFormatter())  # no overlapping minor labels
            else:
                cats = sorted({str(v) for v in xs})
                x = [cats.index(str(v)) for v in xs]
                ax.set_xticks(range(len(cats)), cats)
            colors = ["C3" if t.number in best_numbers else "C0" for t in trials]
            ax.scatter(x, y, c=colors)
            for xi, yi, t in zip(x, y, trials, strict=True):
                ax.annotate(str(t.number), (xi, yi), fontsize=9, xytext=(3, 3), textcoords="offset points")
            ax.set_xlabel(name)
            ax.set_ylabel(obj)
            paths.append(_save(fig, out / f"{obj}_vs_{name}.png"))
            plt.close(fig)
    fig, axes = plt.subplots(len(objectives), 1, figsize=(7, 4.5 * len(objectives)), squeeze=False)
    for i, (obj, direction) in enumerate(zip(objectives, study.directions, strict=True)):
        ax = axes[i][0]
        n = [t.number for t in trials]
        y = [t.values[i] for t in trials]
        ax.plot(n, y, "o", label="trial")
        better = max if direction.name == "MAXIMIZE" else min
        run, best = [], None
        for v in y:
            best = v if best is None else better(best, v)
            run.append(best)
        ax.step(n, run, where="post", color="C3", label="best so far")
        ax.set_xlabel("trial")
        ax.set_ylabel(obj)
        ax.legend(fontsize=10)
    paths.append(_save(fig, out / "history.png"))
    plt.close(fig)
    if len(objectives) == 2:
        fig, ax = plt.subplots(figsize=(7, 5))
        front = sorted((t for t in trials if t.number in best_numbers), key=lambda t: t.values[0])
        ax.scatter([t.values[0] for t in trials], [t.values[1] for t in trials], c="C0", label="trials")
        ax.plot([t.values[0] for t in front], [t.values[1] for t in front], "o-", color="C3", label="Pareto front")
        for t in trials:
            ax.annotate(str(t.number), (t.values[0], t.values[1]), fontsize=9, xytext=(3, 3),
                        textcoords="offset points")
        ax.set_xlabel(objectives[0])
        ax.set_ylabel(objectives[1])
        ax.legend(fontsize=10)
        paths.append(_save(fig, out / "pareto.png"))
        plt.close(fig)
    return paths


__all__ = [
    "HEADERS",
    "TABLE_METRICS",
    "TABLE_RESOURCES",
    "choose_trial",
    "export_trial_model",
    "markdown_table",
    "pareto_trials",
    "plot_study",
    "table_columns",
    "write_results",
    "write_text",
]
