"""Hyperparameter optimization (Optuna) for the ccreco models; work in progress.

Only the search-space layer (:mod:`ccreco.hpo.space`) exists so far.
"""

from __future__ import annotations

from ccreco.hpo.space import Param, SearchSpace, load_space

__all__ = ["Param", "SearchSpace", "load_space"]
