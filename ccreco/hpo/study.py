"""Run an Optuna study whose trials train on dask workers (or in this process).

Storage is any Optuna storage URL (``sqlite:///study.db`` by default in the CLI), so a killed
study resumes: finished trials are kept; trials a killed process left RUNNING are marked FAIL
(user_attr ``error`` = ``"interrupted"``) and their parameters are enqueued again.
Failed trials (an exception in training) are recorded with user_attr ``error`` and the study
goes on; they count towards ``n_trials``.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ccreco.errors import ConfigError
from ccreco.hpo.space import SearchSpace

#: Objective name -> optimization direction.
DIRECTIONS: dict[str, str] = {
    "auc": "maximize",
    "f1": "maximize",
    "efficiency_purity": "maximize",
    "natural_f1": "maximize",
    "throughput_per_s": "maximize",
    "loss": "minimize",
    "n_params": "minimize",
}


def _sampler(name: str, space: SearchSpace, seed: int) -> Any:
    import optuna

    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(space.grid(), seed=seed)
    raise ConfigError(f"sampler must be grid, random or tpe; got {name!r}")


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
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_user_attr(t._trial_id, "error", "interrupted")
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        study.enqueue_trial(dict(t.params), skip_if_exists=False)
        n += 1
    return n


def _n_done(study: Any) -> int:
    from optuna.trial import TrialState

    return sum(
        1
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL))
        if t.user_attrs.get("error") != "interrupted"
    )


def run_study(
    space: SearchSpace,
    data: str | Path,
    *,
    storage: str,
    study_name: str = "ccreco-hpo",
    n_trials: int = 10,
    sampler: str = "tpe",
    seed: int = 0,
    objectives: Sequence[str] = ("auc",),
    executor: str = "iterative",
    workers: int = 2,
    scheduler: str | None = None,
    trial_fn: Callable[..., dict[str, Any]] | None = None,
    on_update: Callable[[Any], None] | None = None,
) -> Any:
    """Run (or resume) a study until ``n_trials`` trials are finished.

    Parameters
    ----------
    space : SearchSpace
        The search space.
    data : path-like
        ``.npz`` with the prepared training arrays (loaded by each trial, no pickle).
    storage : str
        Optuna storage URL (``sqlite:///study.db``).
    study_name : str
        Study name in the storage.
    n_trials : int
        Finished (complete or failed) trials wanted in total, resumed ones included.
    sampler : {"grid", "random", "tpe"}
        Optuna sampler (seeded).
    seed : int
        Sampler and training seed.
    objectives : sequence of str
        One or two names from :data:`DIRECTIONS` (two give a Pareto front).
    executor : {"iterative", "dask"}
        Train in this process, or on dask workers (an embedded ``LocalCluster`` of
        ``workers`` single-threaded processes, or ``scheduler``).
    workers : int
        Local dask workers (and concurrent trials).
    scheduler : str, optional
        Address of an existing dask scheduler.
    trial_fn : callable, optional
        ``trial_fn(params, data, seed=...) -> dict``; default
        :func:`ccreco.hpo.trial.run_peak_trial`.
    on_update : callable, optional
        Called with the study after each finished trial (progress display).

    Returns
    -------
    optuna.Study
        The study.
    """
    import optuna
    from optuna.trial import TrialState

    from ccreco.hpo.trial import run_peak_trial

    for name in objectives:
        if name not in DIRECTIONS:
            raise ConfigError(f"unknown objective {name!r}; choose from {sorted(DIRECTIONS)}")
    if not 1 <= len(objectives) <= 2:
        raise ConfigError("give one or two objectives")
    fn = trial_fn or run_peak_trial
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        sampler=_sampler(sampler, space, seed),
        directions=[DIRECTIONS[o] for o in objectives],
        load_if_exists=True,
    )
    study.set_user_attr("objectives", list(objectives))
    recover_interrupted(study)

    def tell(trial: Any, result: dict[str, Any] | None, error: str | None) -> None:
        try:
            if error is not None:
                trial.set_user_attr("error", error)
                study.tell(trial, state=TrialState.FAIL)
            else:
                for k, v in result.items():
                    trial.set_user_attr(k, v)
                study.tell(trial, [float(result[o]) for o in objectives])
        except RuntimeError as exc:  # GridSampler calls study.stop() (outside optimize) when exhausted
            if "stop" not in str(exc):
                raise
        if on_update is not None:
            on_update(study)

    data = str(data)
    remaining = n_trials - _n_done(study)
    if executor == "iterative":
        for _ in range(max(remaining, 0)):
            trial = study.ask()
            params = space.suggest(trial)
            try:
                result, error = fn(params, data, seed=seed), None
            except Exception as exc:  # noqa: BLE001 - a failing trial must not stop the study
                result, error = None, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
            tell(trial, result, error)
        return study
    if executor != "dask":
        raise ConfigError(f"executor must be iterative or dask; got {executor!r}")
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        n_slots = max(1, len(client.scheduler_info()["workers"])) if scheduler else workers
        pending: dict[Any, Any] = {}
        ac = as_completed()
        submitted = 0

        def submit() -> None:
            nonlocal submitted
            trial = study.ask()
            params = space.suggest(trial)
            fut = client.submit(fn, params, data, seed=seed, pure=False, key=f"hpo-trial-{trial.number}-{study_name}")
            pending[fut] = trial
            ac.add(fut)
            submitted += 1

        while submitted < min(n_slots, remaining):
            submit()
        for fut in ac:
            trial = pending.pop(fut)
            try:
                result, error = fut.result(), None
            except Exception as exc:  # noqa: BLE001
                result, error = None, f"{type(exc).__name__}: {exc}"
            tell(trial, result, error)
            if submitted < remaining:
                submit()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return study


def trials_table(study: Any) -> list[dict[str, Any]]:
    """One row per trial: number, state, parameters, objective values and user attrs.

    Parameters
    ----------
    study : optuna.Study
        The study.

    Returns
    -------
    list of dict
        The rows.
    """
    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"number": t.number, "state": t.state.name}
        row.update(t.params)
        row.update(t.user_attrs)
        rows.append(row)
    return rows
