"""Fit the run-level correction on simulated runs and export it as an ONNX model (torch for the export).

``ccreco train runlevel`` calls :func:`train_run_level`: the statistics of blocks of a
domain-randomized sample (:func:`ccreco.models.runlevel.run_level_sample`), a ridge fit of
``log(level)`` (:func:`ccreco.models.runlevel.fit_run_level`), optionally checked on held-out
blocks, exported through :func:`ccreco.models.export.export_onnx` with the chain it belongs to
(step-1 and step-2 files and sha256) and the range of every statistic in its metadata.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from ccreco._outputs import file_sha256
from ccreco.models.runlevel import CONFIDENT, GAP_EDGES, MIN_WAVEFORMS, STATISTICS, fit_run_level, run_level_sample

log = logging.getLogger(__name__)


def _spread(sample: Any, fit: Any) -> dict[str, float]:
    """Block-to-block RMS of log(level) before and after the correction, and the mean after."""
    log_level = np.log(sample.level)
    resid = log_level - np.log(fit.level(sample.statistics))
    return {"blocks": int(len(log_level)), "log_level_rms": float(np.std(log_level)),
            "log_level_rms_corrected": float(np.std(resid)), "log_level_mean_corrected": float(np.mean(resid))}


def train_run_level(
    files: Any,
    out: str | os.PathLike[str],
    *,
    peak_model: str | os.PathLike[str] | None = None,
    cluster_model: str | os.PathLike[str] | None = None,
    validate: Any = None,
    block: int = 128,
    ridge: float = 10.0,
    schema: str = "native",
    max_waveforms: int | None = None,
) -> dict[str, Any]:
    """Fit and export a run-level correction for one step-1 + per-peak step-2 chain.

    Parameters
    ----------
    files : path or iterable of paths
        Randomized simulated samples whose blocks of ``block`` waveforms each share one
        configuration (``ccreco simulate --randomize --set block=...``).
    out : path-like
        Destination ``.onnx`` (written atomically).
    peak_model, cluster_model : path-like or str, optional
        The chain: files or shipped names (defaults: the shipped step 1 and per-peak step 2).
    validate : path or iterable of paths, optional
        Held-out randomized samples (same block size) for the metrics.
    block : int
        Waveforms per simulated run (at least :data:`~ccreco.models.runlevel.MIN_WAVEFORMS`).
    ridge : float
        Ridge strength.
    schema : str
        Ntuple schema.
    max_waveforms : int, optional
        Read at most this many training waveforms.

    Returns
    -------
    dict
        ``path`` (the written file), ``metrics`` (the spread of log(level) before and after the
        correction on the training and validation blocks), ``coef`` (per statistic), ``blocks`` and
        ``levels`` (sample name -> each block's true and predicted level, for
        :func:`ccreco.models.plots.plot_run_level`).
    """
    from ccreco.models.export import export_onnx
    from ccreco.models.inference import PeakClusterModel, PeakModel
    from ccreco.models.model import build_run_level_model
    from ccreco.models.shipped import DEFAULT_PEAK_MODEL, DEFAULT_PERPEAK_MODEL, model_file

    peak_path = model_file(peak_model, DEFAULT_PEAK_MODEL)
    cluster_path = model_file(cluster_model, DEFAULT_PERPEAK_MODEL)
    step1 = PeakModel(peak_path)
    step2 = PeakClusterModel(cluster_path, batch_size=4096)
    sample = run_level_sample(files, step1, step2, block=block, schema=schema, max_waveforms=max_waveforms)
    if len(sample.level) < 5 * len(STATISTICS):
        log.warning("%d simulated runs for %d statistics: the fit follows the runs it saw (the shipped correction "
                    "used 500); simulate more blocks (ccreco simulate --randomize --set block=%d)",
                    len(sample.level), len(STATISTICS), block)
    fit = fit_run_level(sample, ridge=ridge)
    metrics: dict[str, Any] = {"train": _spread(sample, fit)}
    levels = {"train": (sample.level, fit.level(sample.statistics))}
    if validate:
        held = run_level_sample(validate, step1, step2, block=block, schema=schema)
        metrics["validation"] = _spread(held, fit)
        levels["validation"] = (held.level, fit.level(held.statistics))
    module, info = build_run_level_model(fit)
    info_sample = dict(sample.info)
    candidates = info_sample.pop("candidates")  # the selection the statistics were computed with
    info_sample["files"] = [os.path.basename(str(f)) for f in info_sample.get("files", [])]
    metadata = {
        "sampling_ns": float(sample.sampling_ns),
        "model_config": {"statistics": list(STATISTICS), "gap_edges_ns": list(GAP_EDGES), "confident": CONFIDENT,
                         "form": "level = exp(((statistics - mean) / scale) . coef + intercept)"},
        "train_config": {"block": int(block), "ridge": float(ridge)},
        "train_sample": info_sample,
        "metrics": metrics,
        "statistics": list(STATISTICS),
        "ranges": {name: [float(lo), float(hi)] for name, lo, hi in zip(STATISTICS, fit.low, fit.high, strict=True)},
        "coefficients": {name: float(c) for name, c in zip(STATISTICS, fit.coef, strict=True)},
        "peak_model": {"file": peak_path.name, "sha256": file_sha256(peak_path), "candidates": candidates},
        "cluster_model": {"file": cluster_path.name, "sha256": file_sha256(cluster_path)},
        "min_waveforms": MIN_WAVEFORMS,
        "target": "level = counted / true clusters of a run (the count is divided by it)",
    }
    path = export_onnx(module, info, out, metadata)
    return {"path": Path(path), "metrics": metrics, "coef": metadata["coefficients"],
            "blocks": int(len(sample.level)), "levels": levels}


__all__ = ["train_run_level"]
