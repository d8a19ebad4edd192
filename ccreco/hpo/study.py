"""Run an Optuna study whose trials train on dask workers (or in this process).

The study lives in an Optuna storage (``sqlite:///study.db`` in the CLI; any SQLAlchemy URL
works). This process asks Optuna for parameters, hands each trial to a worker and records the
result; the workers only train. Hence:

- **resume**: a killed study is resumed by running it again with the same storage and name.
  Finished trials (complete or failed) are kept and count towards ``n_trials``; trials the
  killed process left RUNNING are marked FAIL (user attribute ``error = "interrupted"``, not
  counted) and their parameters are enqueued again, so they run first. The sampler is reseeded
  with ``seed + number of trials already in the study``, so a resumed random or TPE study does
  not replay the parameters of its first trials.
- **failures**: an exception in a trial (bad hyperparameter combination, a worker dying) marks
  the trial FAIL with the error and traceback in its ``error`` attribute; the study goes on and
  the failed trial counts towards ``n_trials``. A non-finite objective also fails the trial.
- **models**: each trial returns its exported ONNX bytes; they are written (atomically) to
  ``models_dir/trial_NNNN.onnx`` before the trial is marked complete.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ccreco._extras import require
from ccreco.errors import ConfigError
from ccreco.hpo.space import SearchSpace

#: Objective name -> optimization direction.
DIRECTIONS: dict[str, str] = {
    "auc": "maximize",
    "f1": "maximize",
    "precision": "maximize",
    "recall": "maximize",
    "efficiency_purity": "maximize",
    "natural_f1": "maximize",
    "natural_efficiency_purity": "maximize",
    "throughput_per_s": "maximize",
    "waveforms_per_s": "maximize",
    "mae": "minimize",
    "rms": "minimize",
    "abs_bias": "minimize",
    "rms_over_sqrt_n": "minimize",
    "resolution": "minimize",
    "slope_deviation": "minimize",
    "calibrated_rms": "minimize",
    "calibrated_rms_over_sqrt_n": "minimize",
    "calibrated_resolution": "minimize",
    "val_loss": "minimize",
    "n_params": "minimize",
    "wall_s": "minimize",
    "cpu_s": "minimize",
    "peak_rss_mb": "minimize",
}
#: Default objective per step.
DEFAULT_OBJECTIVE: dict[str, str] = {"peaks": "auc", "clusters": "rms_over_sqrt_n", "perpeak": "rms_over_sqrt_n"}


def make_sampler(name: str, space: SearchSpace, seed: int) -> Any:
    """The seeded Optuna sampler called ``name``.

    Parameters
    ----------
    name : {"grid", "random", "tpe"}
        Sampler.
    space : SearchSpace
        The space (its grid for ``grid``).
    seed : int
        Sampler seed.

    Returns
    -------
    optuna.samplers.BaseSampler
        The sampler.
    """
    require("optuna", "ccreco hpo")
    import optuna

    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(space.grid(), seed=seed)
    raise ConfigError(f"sampler must be grid, random or tpe; got {name!r}")


def grid_size(space: SearchSpace) -> int:
    """Number of points of the space's grid.

    Parameters
    ----------
    space : SearchSpace
        The space.

    Returns
    -------
    int
        Product of the grid lengths of the sampled parameters.
    """
    n = 1
    for values in space.grid().values():
        n *= len(values)
    return n


def recover_interrupted(study: Any) -> int:
    """Mark RUNNING trials (left by a killed process) FAIL and enqueue their parameters again.

    Parameters
    ----------
    study : optuna.Study
        The loaded study (call before starting new trials: no other process may be running it).

    Returns
    -------
    int
        Number of trials recovered.
    """
    from optuna.trial import TrialState

    n = 0
    # Optuna has no public call to finish a trial that another (dead) process started, so the
    # storage is written directly, as optuna's own heartbeat-based fail_stale_trials does.
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_user_attr(t._trial_id, "error", "interrupted")
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        study.enqueue_trial(dict(t.params), skip_if_exists=False)
        n += 1
    return n


def n_finished(study: Any) -> int:
    """Finished trials that count towards ``n_trials`` (complete or failed, not interrupted).

    Parameters
    ----------
    study : optuna.Study
        The study.

    Returns
    -------
    int
        The count.
    """
    from optuna.trial import TrialState

    return sum(
        1
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL))
        if t.user_attrs.get("error") != "interrupted"
    )


def best_summary(study: Any) -> str:
    """One-line description of the best trial (or the Pareto front size) so far.

    Parameters
    ----------
    study : optuna.Study
        The study.

    Returns
    -------
    str
        E.g. ``"best #3 auc=0.951"`` or ``"pareto 4 trials"``; ``"-"`` before any success.
    """
    from optuna.trial import TrialState

    objectives = study.user_attrs.get("objectives", ["value"])
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return "-"
    if len(objectives) == 1:
        t = study.best_trial
        return f"best #{t.number} {objectives[0]}={t.value:.4g}"
    return f"pareto {len(study.best_trials)} trials"


class _Progress:
    """Finished/running trials and the best so far: a tqdm bar on a terminal, else log lines."""

    def __init__(self, total: int, done: int) -> None:
        from ccreco._progress import progress

        self.bar = progress(total=total, desc="hpo trials", unit="trial", initial=done)
        self.total = total
        self.running = 0
        self.best = "-"

    def set_running(self, n: int) -> None:
        self.running = n
        self.bar.set_postfix_str(f"running {n}, {self.best}")

    def update(self, study: Any, trial: Any, state: str, done: int) -> None:
        best = self.best = best_summary(study)
        self.bar.update(1)
        self.bar.set_postfix_str(f"running {self.running}, {best}")
        from ccreco._progress import is_quiet

        if self.bar.disable and not is_quiet():
            print(f"hpo: trial {trial.number} {state} ({done}/{self.total} finished, {self.running} running; {best})",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        self.bar.close()


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _format_error(exc: BaseException, tb: Any = None) -> str:
    lines = traceback.format_exception(type(exc), exc, tb if tb is not None else exc.__traceback__)
    return f"{type(exc).__name__}: {exc}\n" + "".join(lines[-4:])


class TrialLedger:
    """The bookkeeping of a study's trials: ask for the next one, record each that finishes.

    Recording a finished trial: a returned result gets ``abs_bias`` (from ``bias``) and
    ``slope_deviation`` = ``|slope - 1|`` (from ``slope``, the linearity fit) if it lacks them,
    must hold every objective as a finite number (else the trial fails with the reason),
    is stored as the trial's user attributes, and its ONNX bytes (``_onnx``) are written as
    ``trial_NNNN.onnx`` into ``models`` when the trial succeeds; an error (the trial function
    raised) is stored as the ``error`` attribute. Then the study is told COMPLETE (with the
    objective values) or FAIL, the finished count goes up and the progress bar and
    ``on_update`` hear of it.

    Parameters
    ----------
    study : optuna.Study
        The study (its directions match ``objectives``).
    space : SearchSpace
        Suggests each new trial's parameters.
    objectives : list of str
        Result keys whose values are told to the study, in the study's direction order.
    models : Path, optional
        Directory for the successful trials' ONNX models.
    bar : _Progress, optional
        Progress display.
    on_update : callable, optional
        Called with the study after each finished trial.
    done : int
        Trials already finished (a resumed study).
    """

    def __init__(self, study: Any, space: SearchSpace, objectives: Sequence[str], *, models: Path | None = None,
                 bar: _Progress | None = None, on_update: Callable[[Any], None] | None = None, done: int = 0) -> None:
        self.study = study
        self.space = space
        self.objectives = list(objectives)
        self.models = models
        self.bar = bar
        self.on_update = on_update
        self.done = done

    def ask(self) -> tuple[Any, dict[str, Any]]:
        """A new trial and its suggested parameters."""
        trial = self.study.ask()
        return trial, self.space.suggest(trial)

    def tell(self, trial: Any, result: Mapping[str, Any] | None, error: str | None) -> None:
        """Record a finished trial: ``result`` when it returned, else ``error`` (its traceback)."""
        values = None
        if error is None:
            values, error = self._record(trial, dict(result or {}))
        if error is not None:
            trial.set_user_attr("error", error)
        self._tell_study(trial, None if error is not None else values)
        self.done += 1
        if self.bar is not None:
            self.bar.update(self.study, trial, "FAIL" if error else "COMPLETE", self.done)
        if self.on_update is not None:
            self.on_update(self.study)

    def objective_values(self, result: Mapping[str, Any]) -> tuple[list[float] | None, str | None]:
        """The objectives' values of a result, or why the trial fails (missing / non-finite)."""
        missing = [o for o in self.objectives if o not in result]
        if missing:
            return None, f"trial result lacks objective(s) {missing}"
        values = [float(result[o]) for o in self.objectives]
        if not all(math.isfinite(v) for v in values):
            return values, f"non-finite objective {dict(zip(self.objectives, values, strict=True))}"
        return values, None

    def _record(self, trial: Any, result: dict[str, Any]) -> tuple[list[float] | None, str | None]:
        onnx_bytes = result.pop("_onnx", None)
        if "bias" in result and "abs_bias" not in result:
            result["abs_bias"] = abs(float(result["bias"]))
        if "slope" in result and "slope_deviation" not in result:
            result["slope_deviation"] = abs(float(result["slope"]) - 1.0)
        values, error = self.objective_values(result)
        for k, v in result.items():
            trial.set_user_attr(k, v)
        if error is None and self.models is not None and onnx_bytes is not None:
            name = f"trial_{trial.number:04d}.onnx"
            _write_atomic(self.models / name, onnx_bytes)
            trial.set_user_attr("model_file", name)
        return values, error

    def _tell_study(self, trial: Any, values: list[float] | None) -> None:
        from optuna.trial import TrialState

        try:
            if values is None:
                self.study.tell(trial, state=TrialState.FAIL)
            else:
                self.study.tell(trial, values)
        except RuntimeError as exc:
            # GridSampler.after_trial calls study.stop() on the last grid point, which raises
            # outside study.optimize; the trial's state is stored all the same (in a finally).
            if "Study.stop" not in str(exc):
                raise


def run_study(
    space: SearchSpace,
    data: str | os.PathLike[str],
    *,
    storage: str,
    kind: str = "peaks",
    study_name: str = "ccreco-hpo",
    n_trials: int = 10,
    sampler: str = "tpe",
    seed: int = 0,
    objectives: Sequence[str] | None = None,
    executor: str = "iterative",
    workers: int = 2,
    scheduler: str | None = None,
    models_dir: str | os.PathLike[str] | None = None,
    trial_fn: Callable[..., Mapping[str, Any]] | None = None,
    on_update: Callable[[Any], None] | None = None,
    show_progress: bool = True,
) -> Any:
    """Run (or resume) a study until ``n_trials`` trials are finished.

    Parameters
    ----------
    space : SearchSpace
        The search space.
    data : path-like
        ``.npz`` with the prepared sample (:mod:`ccreco.hpo.data`). The iterative executor
        passes the path; the dask executor loads it once and scatters the arrays to every worker.
    storage : str
        Optuna storage URL (``sqlite:///study.db``).
    kind : {"peaks", "clusters", "perpeak"}
        The step (picks the default trial function and objective).
    study_name : str
        Study name in the storage.
    n_trials : int
        Finished (complete or failed) trials wanted in total, resumed ones included; capped at
        the grid size for ``sampler="grid"``.
    sampler : {"grid", "random", "tpe"}
        Optuna sampler, seeded with ``seed`` + trials already in the study.
    seed : int
        Sampler and training seed.
    objectives : sequence of str, optional
        One or two names from :data:`DIRECTIONS` (two give a Pareto front); default
        :data:`DEFAULT_OBJECTIVE` of ``kind``. A resumed study must keep its objectives.
    executor : {"iterative", "dask"}
        Train in this process, or on dask workers (an embedded ``LocalCluster`` of
        ``workers`` single-threaded processes, or the cluster behind ``scheduler``).
    workers : int
        Local dask workers (and concurrent trials).
    scheduler : str, optional
        Address of an existing dask scheduler (concurrent trials = its workers).
    models_dir : path-like, optional
        Keep each complete trial's ONNX model there as ``trial_NNNN.onnx``.
    trial_fn : callable, optional
        ``trial_fn(params, data, seed=..., hpo_info=...) -> dict`` (picklable for dask); default
        :data:`ccreco.hpo.trial.TRIAL_FUNCTIONS` of ``kind``.
    on_update : callable, optional
        Called with the study after each finished trial.
    show_progress : bool
        Progress bar on a terminal (see :mod:`ccreco._progress`), else one line per trial on
        stderr; ``False`` for neither.

    Returns
    -------
    optuna.Study
        The study.

    Raises
    ------
    ConfigError
        Unknown sampler, executor, objective, kind or hyperparameter name (with the default
        trial functions), or objectives that differ from those of the stored study.
    """
    require("optuna", "ccreco hpo")
    import optuna

    from ccreco.hpo.trial import TRIAL_FUNCTIONS, check_space

    if kind not in TRIAL_FUNCTIONS:
        raise ConfigError(f"kind must be one of {', '.join(TRIAL_FUNCTIONS)}; got {kind!r}")
    objectives = list(objectives or [DEFAULT_OBJECTIVE[kind]])
    for name in objectives:
        if name not in DIRECTIONS:
            raise ConfigError(f"unknown objective {name!r}; choose from {', '.join(sorted(DIRECTIONS))}")
    if not 1 <= len(objectives) <= 2 or len(set(objectives)) != len(objectives):
        raise ConfigError(f"give one or two different objectives; got {objectives}")
    if executor not in ("iterative", "dask"):
        raise ConfigError(f"executor must be iterative or dask; got {executor!r}")
    if n_trials < 1:
        raise ConfigError(f"n_trials must be >= 1; got {n_trials}")
    if sampler == "grid":
        n_trials = min(n_trials, grid_size(space))
    if trial_fn is None:
        check_space(kind, space)
    fn = trial_fn or TRIAL_FUNCTIONS[kind]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    directions: list[Any] = [DIRECTIONS[o] for o in objectives]  # "minimize" / "maximize"
    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        sampler=make_sampler(sampler, space, seed),
        directions=directions,
        load_if_exists=True,
    )
    stored = study.user_attrs.get("objectives")
    if stored is not None and list(stored) != objectives:
        raise ConfigError(
            f"study {study_name!r} optimizes {stored}, not {objectives}; resume it with the same objectives")
    stored_kind = study.user_attrs.get("kind")
    if stored_kind is not None and stored_kind != kind:
        raise ConfigError(f"study {study_name!r} is a {stored_kind} study, not {kind}")
    study.set_user_attr("objectives", objectives)
    study.set_user_attr("kind", kind)
    study.set_user_attr("sampler", sampler)
    study.set_user_attr("seed", int(seed))
    # the whole space, fixed values included (Optuna's trials hold only the sampled ones)
    study.set_user_attr("space", {p.name: dataclasses.asdict(p) for p in space.params})
    recover_interrupted(study)
    study.sampler = make_sampler(sampler, space, seed + len(study.trials))
    models = Path(models_dir) if models_dir is not None else None

    done = n_finished(study)
    remaining = max(n_trials - done, 0)
    bar = _Progress(n_trials, done) if show_progress else None
    if bar is not None:
        bar.best = best_summary(study)  # a resumed study already has one

    ledger = TrialLedger(study, space, objectives, models=models, bar=bar, on_update=on_update, done=done)

    try:
        if executor == "iterative":
            data_arg: Any = str(data)
            for _ in range(remaining):
                trial, params = ledger.ask()
                if bar is not None:
                    bar.set_running(1)
                try:
                    info = {"study": study_name, "trial": trial.number}
                    result, error = fn(params, data_arg, seed=seed, hpo_info=info), None
                except Exception as exc:  # noqa: BLE001 - a failing trial must not stop the study
                    result, error = None, _format_error(exc)
                if bar is not None:
                    bar.running = 0
                ledger.tell(trial, result, error)
            return study
        _run_dask(ledger.ask, ledger.tell, fn, data, seed, study_name, remaining, workers, scheduler, bar)
    finally:
        if bar is not None:
            bar.close()
    return study


def _run_dask(ask: Callable[[], tuple[Any, dict[str, Any]]], tell: Callable[..., None],
              fn: Callable[..., Any], data: str | os.PathLike[str], seed: int, study_name: str,
              remaining: int, workers: int, scheduler: str | None, bar: _Progress | None) -> None:
    """Keep one trial per worker in flight until ``remaining`` trials are finished."""
    if remaining <= 0:
        return
    require("distributed", "parallel HPO trials")
    from distributed import Client, LocalCluster, as_completed

    from ccreco.hpo.trial import load_sample

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        # Failed trials are recorded in the study; the workers' own error logs would repeat them.
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.CRITICAL)
        client = Client(cluster)
    try:
        n_slots = max(1, len(client.scheduler_info()["workers"]))
        # Ship the prepared sample once to every worker (workers need not share our filesystem).
        [shipped] = client.scatter([load_sample(data)], broadcast=True)
        pending: dict[Any, Any] = {}
        ac = as_completed()
        submitted = 0

        def submit() -> None:
            nonlocal submitted
            trial, params = ask()
            fut = client.submit(fn, params, shipped, seed=seed, hpo_info={"study": study_name, "trial": trial.number},
                                pure=False, key=f"hpo-{study_name}-trial-{trial.number}")
            pending[fut] = trial
            ac.add(fut)
            submitted += 1
            if bar is not None:
                bar.set_running(len(pending))

        while submitted < min(n_slots, remaining):
            submit()
        for fut in ac:
            trial = pending.pop(fut)
            if fut.status == "error":
                result, error = None, _format_error(fut.exception(), fut.traceback())
            else:
                try:
                    result, error = fut.result(), None
                except Exception as exc:  # noqa: BLE001 - cancelled / lost futures
                    result, error = None, _format_error(exc)
            if bar is not None:
                bar.running = len(pending)
            tell(trial, result, error)
            if submitted < remaining:
                submit()
    finally:
        client.close()
        if cluster is not None:
            try:
                cluster.close()
            except Exception as exc:  # noqa: BLE001 - the trials are stored; a slow worker shutdown is no failure
                logging.getLogger(__name__).warning("closing the local dask cluster: %s", _format_error(exc))


def trials_table(study: Any) -> list[dict[str, Any]]:
    """One row per trial: number, state, parameters and user attributes (results, resources).

    Parameters
    ----------
    study : optuna.Study
        The study.

    Returns
    -------
    list of dict
        The rows, by trial number.
    """
    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"number": t.number, "state": t.state.name}
        row.update(t.params)
        row.update(t.user_attrs)
        if t.datetime_start is not None and t.datetime_complete is not None:
            row["duration_s"] = (t.datetime_complete - t.datetime_start).total_seconds()
        rows.append(row)
    return rows


__all__ = [
    "DEFAULT_OBJECTIVE",
    "DIRECTIONS",
    "best_summary",
    "grid_size",
    "make_sampler",
    "n_finished",
    "recover_interrupted",
    "run_study",
    "trials_table",
]
