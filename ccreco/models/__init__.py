"""Step-1 (LSTM peak finder) and step-2 (CNN clusterization) models.

Importing this package imports neither torch nor onnxruntime. Names resolve lazily:

- configs and presets (:mod:`ccreco.models.config`), the step-2 encoding
  (:mod:`ccreco.models.encoding`): numpy only;
- inference (:mod:`ccreco.models.inference`) and the coffea-style ONNX Runtime wrapper
  (:mod:`ccreco.models.onnx_wrapper`, import ``onnx_wrapper`` from there): onnxruntime only;
- the run-level correction's statistics and fit (:mod:`ccreco.models.runlevel`): numpy only;
- training and export (:mod:`ccreco.models.train_peaks`, :mod:`ccreco.models.train_clusters`,
  :mod:`ccreco.models.train_runlevel`, :mod:`ccreco.models.export`): torch, imported when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "PeakModelConfig": "ccreco.models.config",
    "ClusterModelConfig": "ccreco.models.config",
    "Encoding": "ccreco.models.config",
    "TrainConfig": "ccreco.models.config",
    "PEAK_PRESETS": "ccreco.models.config",
    "CLUSTER_PRESETS": "ccreco.models.config",
    "PEAK_TRAIN": "ccreco.models.config",
    "CLUSTER_TRAIN": "ccreco.models.config",
    "encode_peak_times": "ccreco.models.encoding",
    "PeakModel": "ccreco.models.inference",
    "ClusterModel": "ccreco.models.inference",
    "RunLevelModel": "ccreco.models.inference",
    "load_model": "ccreco.models.inference",
    "read_metadata": "ccreco.models.inference",
    "train_peak_model": "ccreco.models.train_peaks",
    "train_cluster_model": "ccreco.models.train_clusters",
    "train_run_level": "ccreco.models.train_runlevel",
    "export_onnx": "ccreco.models.export",
    "shipped_model": "ccreco.models.shipped",
}

__all__ = sorted(_LAZY)
#: Modules that import torch (the ``train`` extra).
_NEEDS_TORCH = frozenset({"ccreco.models.train_peaks", "ccreco.models.train_clusters", "ccreco.models.train_runlevel",
                          "ccreco.models.export"})


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ccreco.models' has no attribute {name!r}")
    if module in _NEEDS_TORCH:
        from ccreco._extras import require

        require("torch", f"ccreco.models.{name}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
