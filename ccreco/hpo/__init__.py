"""Hyperparameter optimization (Optuna) of the ccreco models, with resource accounting.

- :mod:`ccreco.hpo.space`: search spaces read from SPACE.toml;
- :mod:`ccreco.hpo.data`: the training sample, prepared once per study (``.npz``);
- :mod:`ccreco.hpo.trial`: one trial (train, ONNX export, ORT throughput, CPU/memory/wall);
- :mod:`ccreco.hpo.study`: the resumable Optuna study, in-process or on dask workers;
- :mod:`ccreco.hpo.report`: results table, plots and export of the best (or a picked) model.

The command line is ``ccreco hpo peaks|clusters|perpeak`` (:mod:`ccreco.cli.hpo`); see docs/HPO.md.
"""

from __future__ import annotations

from ccreco.hpo.space import Param, SearchSpace, load_space

__all__ = ["Param", "SearchSpace", "load_space"]
