"""Hyperparameter optimization (Optuna) for the ccreco models; work in progress.

:mod:`ccreco.hpo.space` (SPACE.toml), :mod:`ccreco.hpo.trial` (one step-1 trial with resource
accounting), :mod:`ccreco.hpo.study` (Optuna study on dask workers or in-process, resumable).
Step 2 (clusters), the CLI, plots and best-model export are not written yet.
"""

from __future__ import annotations

from ccreco.hpo.space import Param, SearchSpace, load_space

__all__ = ["Param", "SearchSpace", "load_space"]
