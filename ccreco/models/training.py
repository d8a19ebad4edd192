"""The training loop shared by both steps, and the result it returns (torch imported here).

:func:`fit` trains any module of :mod:`ccreco.models.model` on in-memory numpy arrays:
seeded minibatch shuffling, ``torch.set_num_threads`` set explicitly (and restored), early
stopping on the validation loss with patience, the best weights kept in memory (or saved with
``torch.save`` and read back with ``torch.load(..., weights_only=True)``), a progress bar, and
one history row per epoch with the loss and the step's metrics for training and validation.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import torch

from ccreco._progress import progress
from ccreco.errors import ModelError
from ccreco.models.config import TrainConfig
from ccreco.models.model import ModelInfo

_log = logging.getLogger(__name__)

#: Batch size used to evaluate (no gradients) during training.
EVAL_BATCH: int = 4096

MetricsFn = Callable[[np.ndarray, np.ndarray], dict[str, float]]


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    history : list of dict
        One row per epoch: ``epoch``, ``loss``, ``val_loss``, ``train_<metric>``,
        ``val_<metric>``, ``seconds``.
    best_epoch : int
        Epoch (1-based) whose weights were kept (lowest validation loss).
    stopped_early : bool
        Whether patience ran out before ``epochs``.
    seconds : float
        Wall time of the loop.
    """

    history: list[dict[str, float]]
    best_epoch: int
    stopped_early: bool
    seconds: float


def _optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.learning_rate)
    if cfg.optimizer == "rmsprop":
        # Keras' RMSprop defaults (rho 0.9, eps 1e-7) rather than torch's (alpha 0.99, eps 1e-8).
        return torch.optim.RMSprop(params, lr=cfg.learning_rate, alpha=0.9, eps=1e-7)
    return torch.optim.SGD(params, lr=cfg.learning_rate, momentum=0.9)


def predict(model: torch.nn.Module, inputs: Sequence[np.ndarray], batch: int = EVAL_BATCH) -> np.ndarray:
    """Evaluate ``model`` (``forward``, eval mode, no gradients) on numpy inputs in batches.

    Parameters
    ----------
    model : torch.nn.Module
        A ccreco model.
    inputs : sequence of numpy.ndarray
        One array per model input, same first dimension.
    batch : int
        Batch size.

    Returns
    -------
    numpy.ndarray
        float32 outputs, shape ``(n,)``.
    """
    model.eval()
    n = inputs[0].shape[0]
    out = np.empty(n, dtype=np.float32)
    with torch.no_grad():
        for s in range(0, n, batch):
            xb = [torch.from_numpy(np.ascontiguousarray(a[s : s + batch])) for a in inputs]
            out[s : s + batch] = model(*xb).reshape(-1).numpy()
    return out


class BinaryFocalLoss(torch.nn.Module):
    """Binary focal loss on logits (Lin et al. 2017), mean over the batch.

    ``FL = -alpha_t (1 - p_t)**gamma log(p_t)`` with ``p_t = p`` for signal and ``1 - p`` for
    noise; ``alpha_t = alpha`` for signal and ``1 - alpha`` for noise, or 1 when ``alpha`` is
    ``None``. With ``gamma = 0`` and ``alpha = None`` it equals
    :class:`torch.nn.BCEWithLogitsLoss`.

    Parameters
    ----------
    gamma : float
        Focusing exponent (>= 0): down-weights well-classified windows.
    alpha : float or None
        Signal-class weight in ``(0, 1)``, or ``None``.
    """

    def __init__(self, gamma: float = 2.0, alpha: float | None = None) -> None:
        super().__init__()
        self.gamma = float(gamma)
        self.alpha = alpha

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean focal loss of ``logits`` against 0/1 ``target`` (same shape)."""
        bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
        loss = bce
        if self.gamma:
            p_t = torch.exp(-bce)  # probability given to the true class, computed stably
            loss = loss * (1.0 - p_t) ** self.gamma
        if self.alpha is not None:
            loss = loss * (self.alpha * target + (1.0 - self.alpha) * (1.0 - target))
        return loss.mean()


def loss_function(loss: str, cfg: TrainConfig) -> torch.nn.Module:
    """The torch loss module named ``loss``, with its parameters from ``cfg``.

    Parameters
    ----------
    loss : {"bce", "focal", "mse", "mae", "huber"}
        Resolved loss name (:meth:`TrainConfig.resolved_loss`).
    cfg : TrainConfig
        ``focal_gamma``, ``focal_alpha``, ``huber_delta``.

    Returns
    -------
    torch.nn.Module
        ``loss_fn(output, target) -> scalar`` (classification losses take logits).

    Raises
    ------
    ModelError
        Unknown loss name.
    """
    if loss == "bce":
        return torch.nn.BCEWithLogitsLoss()
    if loss == "focal":
        return BinaryFocalLoss(cfg.focal_gamma, cfg.focal_alpha)
    if loss == "mse":
        return torch.nn.MSELoss()
    if loss == "mae":
        return torch.nn.L1Loss()
    if loss == "huber":
        return torch.nn.HuberLoss(delta=cfg.huber_delta)
    if loss == "poisson":  # on log(lambda): the per-peak cluster model
        return torch.nn.PoissonNLLLoss(log_input=True, full=False)
    raise ModelError(f"unknown loss {loss!r} (bce, focal, mse, mae, huber or poisson)")


def save_checkpoint(model: torch.nn.Module, path: str | os.PathLike[str]) -> None:
    """Save ``model.state_dict()`` with ``torch.save`` (tensors only).

    Parameters
    ----------
    model : torch.nn.Module
        The model.
    path : path-like
        Destination file.
    """
    torch.save({k: v.detach().cpu().clone() for k, v in model.state_dict().items()}, str(path))


def load_checkpoint(model: torch.nn.Module, path: str | os.PathLike[str]) -> None:
    """Load a state dict written by :func:`save_checkpoint` (``weights_only=True``).

    Parameters
    ----------
    model : torch.nn.Module
        The model to fill (same configuration as the saved one).
    path : path-like
        The checkpoint.

    Raises
    ------
    ModelError
        Unreadable file or a state dict that does not fit the model.
    """
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:  # pickle/zip errors, missing or unexpected keys, shape mismatches
        raise ModelError(f"cannot load checkpoint: {exc}", file=str(path)) from exc


class _Fittable(Protocol):
    """The training-space methods of ccreco's networks (:mod:`ccreco.models.model`).

    ``torch.nn.Module.__getattr__`` types every unknown attribute as ``Tensor | Module``; this
    says what :func:`fit` calls on the module.
    """

    def fit_forward(self, *inputs: torch.Tensor) -> torch.Tensor: ...

    def fit_target(self, y: torch.Tensor) -> torch.Tensor: ...

    def from_fit_output(self, out: torch.Tensor) -> torch.Tensor: ...


def fit(
    model: torch.nn.Module,
    train: tuple[Sequence[np.ndarray], np.ndarray],
    val: tuple[Sequence[np.ndarray], np.ndarray],
    cfg: TrainConfig,
    *,
    loss: str,
    metrics: MetricsFn,
    checkpoint: str | os.PathLike[str] | None = None,
    desc: str = "train",
) -> FitResult:
    """Train ``model`` in place and leave it holding the best (lowest validation loss) weights.

    Parameters
    ----------
    model : torch.nn.Module
        A module with ``fit_forward``, ``fit_target`` and ``from_fit_output``.
    train, val : (inputs, target)
        Training and validation inputs (a sequence of arrays, one per model input) and targets.
    cfg : TrainConfig
        Optimizer, batch size, epochs, patience, seed and threads.
    loss : {"bce", "focal", "mse", "mae", "huber"}
        Classification losses on logits, or regression losses on the standardised target
        (see :func:`loss_function`; parameters from ``cfg``).
    metrics : callable
        ``metrics(y_true, y_pred) -> dict`` evaluated each epoch on the training predictions
        gathered during the epoch (dropout active, as Keras reports) and on validation.
    checkpoint : path-like, optional
        Save the best weights there (``torch.save``) instead of keeping them in memory.
    desc : str
        Progress-bar label.

    Returns
    -------
    FitResult
        History and best epoch.
    """
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    try:
        x_train = [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for a in train[0]]
        y_train = torch.from_numpy(np.asarray(train[1], dtype=np.float32))
        x_val = [np.ascontiguousarray(a, dtype=np.float32) for a in val[0]]
        y_val = np.asarray(val[1], dtype=np.float32)
        n = y_train.shape[0]
        if n == 0 or y_val.shape[0] == 0:
            raise ModelError(f"empty training ({n}) or validation ({y_val.shape[0]}) sample")
        opt = _optimizer(model, cfg)
        loss_fn = loss_function(loss, cfg)
        history: list[dict[str, float]] = []
        best_loss, best_epoch, best_state = math.inf, 0, None
        t_start = time.perf_counter()
        stopped = False
        net = cast(_Fittable, model)  # a PeakClassifier, ClusterCNN or PeakClusterNet
        with progress(total=cfg.epochs, desc=desc, unit="epoch") as bar:
            for epoch in range(1, cfg.epochs + 1):
                t0 = time.perf_counter()
                model.train()
                perm = torch.randperm(n, generator=gen)
                pred_train = torch.empty(n)
                total = 0.0
                for s in range(0, n, cfg.batch_size):
                    idx = perm[s : s + cfg.batch_size]
                    out = net.fit_forward(*(x[idx] for x in x_train))
                    batch_loss = loss_fn(out, net.fit_target(y_train[idx]))
                    opt.zero_grad(set_to_none=True)
                    batch_loss.backward()
                    opt.step()
                    total += float(batch_loss.detach()) * idx.numel()
                    pred_train[idx] = net.from_fit_output(out.detach()).reshape(-1)
                val_loss, p_val = _evaluate(model, x_val, y_val, loss_fn)
                row: dict[str, float] = {"epoch": epoch, "loss": total / n, "val_loss": val_loss}
                row.update({f"train_{k}": v for k, v in metrics(y_train.numpy(), pred_train.numpy()).items()})
                row.update({f"val_{k}": v for k, v in metrics(y_val, p_val).items()})
                row["seconds"] = time.perf_counter() - t0
                history.append(row)
                if val_loss < best_loss:
                    best_loss, best_epoch = val_loss, epoch
                    if checkpoint is not None:
                        save_checkpoint(model, checkpoint)
                    else:
                        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                bar.set_postfix(loss=f"{row['loss']:.4f}", val_loss=f"{val_loss:.4f}", best=best_epoch)
                _log.info(
                    "%s epoch %d/%d: loss %.4f val_loss %.4f (best epoch %d) %.1f s",
                    desc, epoch, cfg.epochs, row["loss"], val_loss, best_epoch, row["seconds"],
                )
                bar.update(1)
                if cfg.patience and epoch - best_epoch >= cfg.patience:
                    stopped = epoch < cfg.epochs
                    break
        if checkpoint is not None:
            load_checkpoint(model, checkpoint)
        elif best_state is not None:
            model.load_state_dict(best_state)
        model.eval()
        return FitResult(history, best_epoch, stopped, time.perf_counter() - t_start)
    finally:
        torch.set_num_threads(previous_threads)


def _evaluate(
    model: torch.nn.Module, inputs: Sequence[np.ndarray], y: np.ndarray, loss_fn: torch.nn.Module
) -> tuple[float, np.ndarray]:
    """Validation loss (in training space, eval mode) and ``forward``-space predictions."""
    model.eval()
    n = y.shape[0]
    pred = np.empty(n, dtype=np.float32)
    total = 0.0
    net = cast(_Fittable, model)
    with torch.no_grad():
        for s in range(0, n, EVAL_BATCH):
            xb = [torch.from_numpy(a[s : s + EVAL_BATCH]) for a in inputs]
            out = net.fit_forward(*xb)
            total += float(loss_fn(out, net.fit_target(torch.from_numpy(y[s : s + EVAL_BATCH])))) * out.shape[0]
            pred[s : s + EVAL_BATCH] = net.from_fit_output(out).reshape(-1).numpy()
    return total / n, pred


@dataclass
class TrainResult:
    """A trained model with everything needed to export it and to report on it.

    Attributes
    ----------
    model : torch.nn.Module
        The trained module (best epoch, eval mode).
    info : ModelInfo
        Its inputs and outputs.
    model_config, train_config : dataclass instances
        The configurations used.
    fit : FitResult
        History, best epoch, timing.
    metrics : dict
        Validation metrics at the best epoch (what goes into the ONNX metadata).
    y_val, p_val : numpy.ndarray
        Validation targets and predictions of the kept model (for ROC / N_pred vs N_true).
    sample : dict
        Description of the training sample (files, counts, seeds, balancing).
    metadata : dict
        Kind-specific metadata for :func:`ccreco.models.export.export_onnx`.
    """

    model: torch.nn.Module
    info: ModelInfo
    model_config: Any
    train_config: TrainConfig
    fit: FitResult
    metrics: dict[str, float]
    y_val: np.ndarray
    p_val: np.ndarray
    sample: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def history(self) -> list[dict[str, float]]:
        """Per-epoch history (see :class:`FitResult`)."""
        return self.fit.history

    def full_metadata(self) -> dict[str, Any]:
        """All metadata to embed in the ONNX file (configs, sample, metrics, kind-specific)."""
        meta = dict(self.metadata)
        meta.update(
            model_config=dataclasses.asdict(self.model_config),
            train_config=dataclasses.asdict(self.train_config),
            train_sample=_jsonable(self.sample),
            metrics=_jsonable(dict(self.metrics, best_epoch=self.fit.best_epoch, epochs_run=len(self.history))),
        )
        return meta

    def export(self, path: str | os.PathLike[str]) -> Path:
        """Export through :func:`ccreco.models.export.export_onnx` with the full metadata.

        Parameters
        ----------
        path : path-like
            Destination ``.onnx`` file.

        Returns
        -------
        pathlib.Path
            The written file.
        """
        from ccreco.models.export import export_onnx

        return export_onnx(self.model, self.info, path, self.full_metadata())

    def save_history(self, directory: str | os.PathLike[str], stem: str = "history") -> tuple[Path, Path]:
        """Write the history as ``<stem>.csv`` and ``<stem>.json`` (with metrics and sample).

        Parameters
        ----------
        directory : path-like
            Output directory (created).
        stem : str
            File name stem.

        Returns
        -------
        (pathlib.Path, pathlib.Path)
            The CSV and JSON files.
        """
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        return write_history(self.history, out / f"{stem}.csv", out / f"{stem}.json", extra={
            "kind": self.info.kind,
            "best_epoch": self.fit.best_epoch,
            "metrics": self.metrics,
            "sample": self.sample,
            "model_config": dataclasses.asdict(self.model_config),
            "train_config": dataclasses.asdict(self.train_config),
        })


def write_history(
    history: Sequence[Mapping[str, float]],
    csv_path: str | os.PathLike[str],
    json_path: str | os.PathLike[str],
    extra: Mapping[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write per-epoch history rows to CSV and JSON.

    Parameters
    ----------
    history : sequence of mapping
        Rows with the same keys.
    csv_path, json_path : path-like
        Destinations.
    extra : mapping, optional
        Additional JSON fields (configs, metrics, sample).

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The two files.
    """
    keys = list(history[0]) if history else []
    with open(csv_path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(history)
    with open(json_path, "w") as fh:
        json.dump(_jsonable({"history": list(history), **dict(extra or {})}), fh, indent=1, sort_keys=True)
    return Path(csv_path), Path(json_path)


def _jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays and tuples for JSON (NaN kept as None)."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def split_indices(n: int, validation_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle ``range(n)`` and split it into training and validation indices.

    Parameters
    ----------
    n : int
        Number of examples.
    validation_fraction : float
        Fraction held out for validation (at least one example each side when ``n >= 2``).
    rng : numpy.random.Generator
        Seeded generator.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Training and validation indices.
    """
    perm = rng.permutation(n)
    n_val = min(max(int(round(n * validation_fraction)), 1), max(n - 1, 0))
    return perm[n_val:], perm[:n_val]


__all__ = [
    "BinaryFocalLoss",
    "EVAL_BATCH",
    "FitResult",
    "TrainResult",
    "fit",
    "load_checkpoint",
    "loss_function",
    "predict",
    "save_checkpoint",
    "split_indices",
    "write_history",
]
